"""Poll-until helpers: the value comes back, a timeout names what and the last value, the caller's error type."""

from __future__ import annotations

import itertools

import pytest

from spyops.common.polling import until, wait_for


class CliError(Exception):
    pass


def test_wait_for_returns_the_first_truthy_value() -> None:
    values = iter([None, 0, "", {"ready": True}])
    assert wait_for("readiness", lambda: next(values), timeout=5, interval=0.001) == {"ready": True}


def test_wait_for_times_out_naming_what_and_the_last_value() -> None:
    counter = itertools.count()
    with pytest.raises(
        TimeoutError, match=r"^timed out after 0.05 s waiting for the pods; last value: \[\]$"
    ):
        wait_for("the pods", lambda: [] if next(counter) >= 0 else None, timeout=0.05, interval=0.01)


def test_wait_for_raises_the_callers_error_and_checks_once_more_at_the_deadline() -> None:
    calls: list[int] = []

    def slow_first() -> None:
        calls.append(1)

    with pytest.raises(CliError, match=r"waiting for the node$"):
        wait_for("the node", slow_first, timeout=0.05, interval=10, error=CliError)
    assert len(calls) == 2  # at the start, and at the deadline rather than after a whole interval


async def test_until_returns_the_time_it_took_and_runs_poll_each_round() -> None:
    seen: list[int] = []

    async def poll() -> None:
        seen.append(len(seen))

    took = await until(lambda: len(seen) >= 3, 5, poll=poll, interval=0.001)
    assert seen == [0, 1, 2]
    assert 0 <= took < 5


async def test_until_times_out_naming_what() -> None:
    with pytest.raises(TimeoutError, match=r"after 0\.01 s waiting for the fill$"):
        await until(lambda: False, 0.01, what="the fill", interval=0.001)
