"""A token bucket that keeps subscription changes under IB's 50 messages per second.

ib_async throttles everything it sends at 45 per second; this bucket is ours, for the
bursts the detector itself makes (a resubscription of a whole chain after error 1101,
a re-centred window), so that those never take the whole budget from other requests.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

DEFAULT_RATE = 40.0


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` at once; ``clock`` is monotonic seconds."""

    def __init__(
        self,
        rate: float = DEFAULT_RATE,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else rate
        if self.burst < 1:
            raise ValueError("burst must be at least 1")
        self._clock = clock
        self._tokens = self.burst
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def try_take(self) -> float:
        """Take a token if one is there (returns 0.0), else the seconds until one will be."""
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate

    async def take(self) -> None:
        """Wait for a token and take it."""
        while True:
            wait = self.try_take()
            if wait == 0.0:
                return
            await asyncio.sleep(wait)
