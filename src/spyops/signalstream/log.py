"""A bounded, sequence-numbered log of published signals that subscribers can wait on."""

from __future__ import annotations

import asyncio
import secrets
from collections import deque

from spyops.schemas import Signal


class SignalLog:
    def __init__(self, capacity: int = 10_000, epoch: str | None = None) -> None:
        self.epoch = epoch or secrets.token_hex(8)
        # (seq, signal JSON, W3C traceparent of the span that published it or "")
        self._entries: deque[tuple[int, str, str]] = deque(maxlen=capacity)
        self._next_seq = 1
        self._changed = asyncio.Condition()

    @property
    def last_seq(self) -> int:
        return self._next_seq - 1

    async def append(self, signal: Signal, traceparent: str | None = None) -> int:
        """Publish ``signal`` (with the trace context it belongs to, if any); returns its sequence number."""
        seq = self._next_seq
        self._next_seq += 1
        self._entries.append((seq, signal.model_dump_json(), traceparent or ""))
        async with self._changed:
            self._changed.notify_all()
        return seq

    def after(self, seq: int) -> list[tuple[int, str, str]]:
        """Entries with a sequence number above ``seq`` still held (oldest first)."""
        if not self._entries or seq >= self._entries[-1][0]:
            return []
        first = self._entries[0][0]
        start = max(0, seq + 1 - first)
        return list(self._entries)[start:]

    async def wait_beyond(self, seq: int, within: float) -> bool:
        """Wait up to ``within`` seconds for something newer than ``seq``; False if nothing came."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: self.last_seq > seq), within)
            except TimeoutError:
                return False
        return True
