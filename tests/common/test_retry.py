"""The shared backoff policy and the Retry-After parser (spyops.common.retry)."""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from spyops.common import retry
from spyops.common.retry import Backoff, InvalidRetryAfterError, parse_retry_after, retry_after_from

NOW = dt.datetime(2026, 12, 6, 16, 0, 0, tzinfo=dt.UTC)


def test_ceiling_doubles_from_base_and_stops_at_cap() -> None:
    policy = Backoff(base=0.25, cap=8.0)
    assert [policy.ceiling(a) for a in range(7)] == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert policy.ceiling(10_000) == 8.0  # no overflow however long it has failed
    assert policy.ceiling(-3) == 0.25


def test_delay_is_full_jitter_within_zero_and_the_ceiling() -> None:
    policy = Backoff(base=0.25, cap=8.0)
    rng = random.Random(7)
    for attempt in range(12):
        draws = [policy.delay(attempt, rng=rng) for _ in range(400)]
        ceiling = policy.ceiling(attempt)
        assert all(0.0 <= d <= ceiling for d in draws)
        # Full jitter spreads over the whole window, not just its upper half.
        assert min(draws) < 0.1 * ceiling
        assert max(draws) > 0.9 * ceiling


def test_delay_is_deterministic_with_a_seeded_rng() -> None:
    policy = Backoff(base=0.5, cap=30.0)
    first = [policy.delay(a, rng=random.Random(3)) for a in range(8)]
    again = [policy.delay(a, rng=random.Random(3)) for a in range(8)]
    assert first == again


def test_retry_after_wins_when_larger_and_is_capped() -> None:
    policy = Backoff(base=0.1, cap=5.0)
    rng = random.Random(1)
    assert policy.delay(0, retry_after=3.0, rng=rng) == 3.0  # the server asked for more than 0..0.1
    assert policy.delay(0, retry_after=3600.0, rng=rng) == 5.0  # but never beyond the cap
    assert policy.delay(0, retry_after=-4.0, rng=rng) <= 0.1  # never negative, never shorter
    assert policy.delay(0, retry_after=0.0, rng=rng) <= 0.1
    own = policy.delay(20, rng=random.Random(2))
    assert policy.delay(20, retry_after=0.5, rng=random.Random(2)) == max(own, 0.5)


@pytest.mark.parametrize(("base", "cap"), [(0.0, 1.0), (-1.0, 1.0), (2.0, 1.0)])
def test_a_policy_that_cannot_back_off_is_refused(base: float, cap: float) -> None:
    with pytest.raises(ValueError, match="0 < base <= cap"):
        Backoff(base=base, cap=cap)


@pytest.mark.parametrize(("value", "seconds"), [("0", 0.0), ("120", 120.0), (" 7 ", 7.0), ("007", 7.0)])
def test_retry_after_delta_seconds(value: str, seconds: float) -> None:
    assert parse_retry_after(value, NOW) == seconds


def test_retry_after_http_date_in_the_future() -> None:
    assert parse_retry_after("Sun, 06 Dec 2026 16:00:42 GMT", NOW) == 42.0
    # The obsolete forms RFC 9110 says a recipient must accept (RFC 850 and asctime).
    assert parse_retry_after("Sunday, 06-Dec-26 16:01:00 GMT", NOW) == 60.0
    assert parse_retry_after("Sun Dec  6 16:00:05 2026", NOW) == 5.0


def test_retry_after_http_date_in_the_past_is_now() -> None:
    assert parse_retry_after("Sun, 06 Dec 2026 15:00:00 GMT", NOW) == 0.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", NOW) == 0.0


@pytest.mark.parametrize("value", ["", "soon", "-5", "1.5", "1e3", "Sun, 99 Foo 2026 16:00:00 GMT", "\x00"])
def test_retry_after_garbage_is_refused(value: str) -> None:
    with pytest.raises(InvalidRetryAfterError, match="neither seconds nor an HTTP-date"):
        parse_retry_after(value, NOW)


def test_headers_without_retry_after_give_none() -> None:
    assert retry_after_from({}, NOW) is None
    assert retry_after_from({"Retry-After": "3"}, NOW) == 3.0


def test_an_invalid_header_falls_back_and_is_logged_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retry, "_warned_invalid", False)
    caplog.set_level(logging.WARNING, logger="spyops.common.retry")
    assert retry_after_from({"Retry-After": "tomorrow"}, NOW) is None
    assert retry_after_from({"Retry-After": "later"}, NOW) is None
    warnings = [r for r in caplog.records if "invalid Retry-After" in r.getMessage()]
    assert len(warnings) == 1
    assert Backoff(base=0.5, cap=2.0).delay(1, retry_after_from({"Retry-After": "x"}, NOW)) <= 1.0


class _FakeClock:
    """Time that moves only when the loop sleeps, so the deadline arithmetic is exact."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def test_retry_async_retries_until_it_works_and_honours_retry_after() -> None:
    clock = _FakeClock()
    outcomes: list[BaseException | str] = [ConnectionError("a"), TimeoutError("b"), "listed"]
    retried: list[float] = []

    async def call() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    result = await retry.retry_async(
        call,
        Backoff(base=0.2, cap=5.0),
        retryable=lambda exc: isinstance(exc, OSError | TimeoutError),
        patience=60.0,
        retry_after=lambda exc: 2.0 if isinstance(exc, TimeoutError) else None,
        on_retry=lambda _exc, delay: retried.append(delay),
        sleep=clock.sleep,
        clock=clock,
        rng=random.Random(5),
    )
    assert result == "listed"
    assert retried == clock.sleeps
    assert len(retried) == 2
    assert 0.0 <= retried[0] <= 0.2
    assert retried[1] == 2.0  # the server's Retry-After, above the 0..0.4 window


async def _retry_timeouts(call: Callable[[], Awaitable[None]], clock: _FakeClock, **options: Any) -> None:
    await retry.retry_async(
        call,
        options.pop("policy", Backoff(base=0.2, cap=5.0)),
        retryable=lambda exc: isinstance(exc, TimeoutError),
        sleep=clock.sleep,
        clock=clock,
        **options,
    )


async def test_retry_async_raises_what_it_must_not_retry_and_what_outlasts_its_patience() -> None:
    clock = _FakeClock()

    async def refused() -> None:
        raise PermissionError("forbidden")

    with pytest.raises(PermissionError):
        await _retry_timeouts(refused, clock, patience=60.0)
    assert clock.sleeps == []

    calls = 0

    async def down() -> None:
        nonlocal calls
        calls += 1
        raise TimeoutError("down")

    with pytest.raises(TimeoutError):
        # Every wait is exactly 1 s: the policy draws in 0..1 s and the server's Retry-After is 1 s.
        await _retry_timeouts(
            down, clock, policy=Backoff(base=1.0, cap=1.0), patience=3.5, retry_after=lambda _exc: 1.0
        )
    assert calls == 4  # tries at 0, 1, 2, 3 s; the next wait would end after 3.5 s
