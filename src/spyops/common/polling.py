"""Poll until a condition holds: one blocking and one asyncio form, for deploy scripts, the demo and tests.

Both check at least once and once more at the deadline, so a slow first check does not
time out without a second look; the timeout names what was awaited and the last value seen.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def _timed_out(what: str, timeout: float, last: object) -> str:
    seen = "" if last is None or last is False else f"; last value: {last!r:.300}"
    return f"timed out after {timeout:g} s waiting for {what}{seen}"


def wait_for(
    what: str,
    check: Callable[[], T | None],
    timeout: float = 90.0,
    interval: float = 0.25,
    *,
    error: Callable[[str], Exception] = TimeoutError,
) -> T:
    """Call ``check`` every ``interval`` s until it returns something truthy, and return that.

    After ``timeout`` s raise ``error`` (a one-line message; pass the caller's own error type
    where it reaches a user, e.g. a CLI's).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise error(_timed_out(what, timeout, value))
        time.sleep(min(interval, remaining))


async def until(
    check: Callable[[], object],
    within: float = 30.0,
    *,
    what: str = "condition",
    interval: float = 0.02,
    poll: Callable[[], Awaitable[object] | object] | None = None,
) -> float:
    """Await until ``check()`` is truthy (after running ``poll`` each round); returns the seconds it took."""
    started = time.monotonic()
    while True:
        if poll is not None:
            result = poll()
            if asyncio.iscoroutine(result):
                await result
        value = check()
        if value:
            return time.monotonic() - started
        if time.monotonic() - started >= within:
            raise TimeoutError(_timed_out(what, within, value))
        await asyncio.sleep(interval)
