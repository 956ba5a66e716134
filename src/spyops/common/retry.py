"""One retry/backoff policy for every spyops retry loop, and the Retry-After parser.

Why our own ~100 lines and not ``tenacity``: the loops that retry are long-running reconnect loops
(the signal stream, the outbox sender, the detector's market feed, the bot's gateway connection),
a per-key work queue and one bounded retry (the operator's first lists). Only the last has the
"call this function until it works" shape tenacity wraps; the others need just the next delay.
A pure ``delay(attempt, retry_after, rng)`` is that, with the random source injectable so tests
are deterministic, one code path for sync and async callers, and no new dependency in every image.

The formula, the same everywhere: exponential backoff with *full jitter*,
``uniform(0, min(cap, base * 2**attempt))`` (attempt 0 is the first retry). Full rather than
decorrelated jitter because it is a pure function of the attempt number (decorrelated jitter needs
the previous delay as state), and it spreads a crowd of clients that failed together (every bot
after a detector restart) over the whole window, which is what jitter is for; see the AWS
Architecture Blog's "Exponential Backoff And Jitter" for the comparison of the two.

A server's ``Retry-After`` (RFC 9110, section 10.2.3: delta-seconds or an HTTP-date) raises the
delay to what the server asked for, capped by the policy's ``cap`` so a misconfigured server cannot
park a client for a day; a date in the past means "now". A value that is neither form is ignored
(the policy's own delay is used) and logged once per process.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

_MAX_EXPONENT = 62  # 2**62 * any sane base is far above every cap; keeps the float finite
_DELTA_SECONDS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(cap, base * 2**n))."""

    base: float
    cap: float

    def __post_init__(self) -> None:
        if not (self.base > 0 and self.cap >= self.base):
            raise ValueError(f"backoff needs 0 < base <= cap, got base={self.base} cap={self.cap}")

    def ceiling(self, attempt: int) -> float:
        """The largest delay of retry number ``attempt`` (0 for the first retry)."""
        return min(self.cap, self.base * 2.0 ** min(max(attempt, 0), _MAX_EXPONENT))

    def delay(
        self, attempt: int, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float:
        """Seconds to wait before retry number ``attempt``; a server's Retry-After wins if larger."""
        draw = (rng or _RANDOM).uniform(0.0, self.ceiling(attempt))
        if retry_after is None:
            return draw
        return max(draw, min(max(retry_after, 0.0), self.cap))


_RANDOM = random.Random()  # noqa: S311 - jitter, not security


class InvalidRetryAfterError(ValueError):
    """A Retry-After value that is neither delta-seconds nor an HTTP-date."""


def parse_retry_after(value: str, now: dt.datetime) -> float:
    """Seconds the server asks to wait, from a Retry-After value (never negative).

    ``now`` (timezone-aware) is the reference for the HTTP-date form; a date in the past gives 0.
    Raises :class:`InvalidRetryAfterError` for anything else.
    """
    text = value.strip()
    if _DELTA_SECONDS.fullmatch(text):
        return float(int(text))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError) as exc:
        raise InvalidRetryAfterError(
            f"Retry-After {value[:80]!r} is neither seconds nor an HTTP-date"
        ) from exc
    if when.tzinfo is None:  # "-0000" parses naive; an HTTP-date is always GMT
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


_warned_invalid = False


def retry_after_from(headers: Mapping[str, str], now: dt.datetime | None = None) -> float | None:
    """The Retry-After of a response's headers in seconds, or None if absent or invalid (logged once)."""
    global _warned_invalid
    raw = headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return parse_retry_after(raw, now or dt.datetime.now(dt.UTC))
    except InvalidRetryAfterError as exc:
        if not _warned_invalid:
            _warned_invalid = True
            log.warning(
                "ignoring an invalid Retry-After; using the backoff's own delay", extra={"error": str(exc)}
            )
        return None


async def retry_async(
    call: Callable[[], Awaitable[T]],
    policy: Backoff,
    *,
    retryable: Callable[[BaseException], bool],
    patience: float,
    retry_after: Callable[[BaseException], float | None] = lambda _exc: None,
    on_retry: Callable[[BaseException, float], None] = lambda _exc, _delay: None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
) -> T:
    """Await ``call()`` until it returns; retry what ``retryable`` accepts for ``patience`` seconds.

    The last error is raised once the next wait would end after the deadline.
    """
    deadline = clock() + patience
    attempt = 0
    while True:
        try:
            return await call()
        except Exception as exc:
            if not retryable(exc):
                raise
            delay = policy.delay(attempt, retry_after(exc), rng)
            if clock() + delay > deadline:
                raise
            on_retry(exc, delay)
            await sleep(delay)
            attempt += 1
