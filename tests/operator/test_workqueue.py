"""The work queue: bursts collapse, one reconcile per key at a time, changes during a reconcile
are not lost, failures retry with backoff."""

from __future__ import annotations

import asyncio
import logging
import time

import httpx2
import pytest
from lightkube import ApiError

from spyops.common.retry import Backoff
from spyops.operator.workqueue import Key, WorkQueue

A = Key("TradingStrategy", "ns", "a")
B = Key("TradingStrategy", "ns", "b")


async def test_burst_collapses_into_one_reconcile() -> None:
    seen: list[Key] = []

    async def reconcile(key: Key) -> float | None:
        seen.append(key)
        return None

    queue = WorkQueue("t-burst", reconcile, workers=2)
    for _ in range(10):
        queue.add(A)
    queue.add(B)
    queue.start()
    await asyncio.wait_for(queue.wait_idle(), 5)
    await queue.stop()
    assert sorted(seen) == [A, B]


async def test_change_during_reconcile_runs_again_never_concurrently() -> None:
    running = 0
    peak = 0
    calls = 0
    release = asyncio.Event()

    async def reconcile(key: Key) -> float | None:
        nonlocal running, peak, calls
        calls += 1
        running += 1
        peak = max(peak, running)
        if calls == 1:
            await release.wait()
        running -= 1
        return None

    queue = WorkQueue("t-dirty", reconcile, workers=4)
    queue.start()
    queue.add(A)
    await asyncio.sleep(0.05)
    queue.add(A)  # arrives while the first reconcile runs
    queue.add(A)
    release.set()
    await asyncio.sleep(0.1)
    await asyncio.wait_for(queue.wait_idle(), 5)
    await queue.stop()
    assert calls == 2
    assert peak == 1


async def test_failures_retry_until_success() -> None:
    attempts = 0

    async def reconcile(key: Key) -> float | None:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise RuntimeError("API server said no")
        return None

    queue = WorkQueue("t-retry", reconcile, workers=1)
    queue.start()
    queue.add(A)
    for _ in range(100):
        await asyncio.sleep(0.05)
        if attempts >= 3:
            break
    await queue.stop()
    assert attempts == 3


def _too_many_requests(retry_after: str) -> ApiError:
    """What lightkube raises for the API server's 429 (the Status body and header it sends)."""
    request = httpx2.Request("GET", "https://127.0.0.1:6443/apis/spyops.io/v1alpha1/tradingstrategies")
    response = httpx2.Response(
        429,
        headers={"Retry-After": retry_after},
        json={
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "reason": "TooManyRequests",
            "code": 429,
        },
        request=request,
    )
    return ApiError(request=request, response=response)


async def _fail_then_succeed(
    queue_name: str, error: Exception, failures: int, backoff: Backoff
) -> list[float]:
    """Reconcile A, failing ``failures`` times with ``error``; the times of the calls."""
    calls: list[float] = []

    async def reconcile(key: Key) -> float | None:
        calls.append(time.monotonic())
        if len(calls) <= failures:
            raise error
        return None

    queue = WorkQueue(queue_name, reconcile, workers=1, backoff=backoff)
    queue.start()
    queue.add(A)
    for _ in range(200):
        await asyncio.sleep(0.05)
        if len(calls) > failures:
            break
    await queue.stop()
    return calls


async def test_an_api_servers_retry_after_stretches_the_retry() -> None:
    calls = await _fail_then_succeed("t-429", _too_many_requests("1"), 1, Backoff(base=0.01, cap=60.0))
    assert len(calls) == 2
    assert calls[1] - calls[0] >= 0.95, "the 429's Retry-After: 1, not the 0..0.01 s backoff"


async def test_failure_retries_wait_within_the_policy_window(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="spyops.operator.workqueue")
    policy = Backoff(base=0.01, cap=0.08)
    calls = await _fail_then_succeed("t-window", RuntimeError("API server said no"), 6, policy)
    assert len(calls) == 7
    waits = [r.__dict__["retry_in"] for r in caplog.records if r.getMessage() == "reconcile failed, retrying"]
    assert len(waits) == 6
    assert all(0.0 <= w <= policy.ceiling(n) + 0.0005 for n, w in enumerate(waits)), waits


async def test_requeue_after() -> None:
    calls = 0

    async def reconcile(key: Key) -> float | None:
        nonlocal calls
        calls += 1
        return 0.05 if calls == 1 else None

    queue = WorkQueue("t-after", reconcile, workers=1)
    queue.start()
    queue.add(A)
    await asyncio.sleep(0.4)
    await queue.stop()
    assert calls == 2


def test_error_and_result_series_exist_at_zero_before_anything_happens() -> None:
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from spyops.operator import metrics

    async def never(key: Key) -> float | None:
        raise AssertionError("not called")

    WorkQueue("fresh-controller", never, workers=1)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(generate_latest(metrics.REGISTRY).decode())
        for s in family.samples
        if s.labels.get("controller") == "fresh-controller"
    }
    assert samples[("controller_runtime_reconcile_errors_total", (("controller", "fresh-controller"),))] == 0
    for result in ("success", "error", "requeue", "requeue_after"):
        key = ("controller_runtime_reconcile_total", (("controller", "fresh-controller"), ("result", result)))
        assert samples[key] == 0


async def test_keys_from_events_go_before_keys_from_timers() -> None:
    seen: list[Key] = []
    c = Key("TradingStrategy", "ns", "c")

    async def reconcile(key: Key) -> float | None:
        seen.append(key)
        return None

    queue = WorkQueue("t-priority", reconcile, workers=1)
    queue.add_after(A, 0.0)  # a recheck falls due first ...
    queue.add_after(B, 0.0)
    await asyncio.sleep(0.05)
    queue.add(c)  # ... then a watch event
    queue.add(B)  # an event for a key a timer queued: it moves up, and runs once
    assert queue.depth == 3
    queue.start()
    await asyncio.wait_for(queue.wait_idle(), 5)
    await queue.stop()
    assert seen == [c, B, A]
