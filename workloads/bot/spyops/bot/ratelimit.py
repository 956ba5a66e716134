"""Sliding-window counters for the order-rate and gateway message-budget limits."""

from __future__ import annotations

from collections import deque


class SlidingWindow:
    """Counts events in the last ``window`` seconds of a monotonic clock."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._times: deque[float] = deque()

    def record(self, now: float, n: int = 1) -> None:
        self._times.extend([now] * n)

    def count(self, now: float) -> int:
        cutoff = now - self.window
        while self._times and self._times[0] <= cutoff:
            self._times.popleft()
        return len(self._times)
