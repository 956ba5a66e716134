"""The one Lease elector (operator and bots) against the real API server: acquire, renew, lose, release,
clock skew between nodes, waking at expiry, with a clock the test moves (nothing waits out a lease);
then in real time, as the bots run it: one leader, fast handover, no overlap when cut off."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable

import pytest
import yaml
from lightkube import AsyncClient
from lightkube.config.kubeconfig import KubeConfig
from lightkube.models.coordination_v1 import LeaseSpec
from lightkube.resources.coordination_v1 import Lease

from spyops.cluster.testing import KubeCluster
from spyops.common.lease import LeaderElector, LeadershipLostError, LeaseTiming, observe

pytestmark = pytest.mark.cluster

LEASE = "elector"
TIMING = LeaseTiming(duration=15.0, renew_interval=2.0, renew_deadline=10.0)


class Clock:
    """A monotonic clock the test moves by hand, shared by every elector of a test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def wall(offset: dt.timedelta = dt.timedelta(0)) -> Callable[[], dt.datetime]:
    """A node's wall clock, ``offset`` away from the true time."""
    return lambda: dt.datetime.now(dt.UTC) + offset


@pytest.fixture
async def clients(kube_cluster: KubeCluster, namespace: str) -> AsyncIterator[list[AsyncClient]]:
    made = [
        AsyncClient(config=KubeConfig.from_file(kube_cluster.kubeconfig), namespace=namespace)
        for _ in range(3)
    ]
    yield made
    for client in made:
        await client.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def elector(
    client: AsyncClient, namespace: str, identity: str, clock: Clock, skew: dt.timedelta = dt.timedelta(0)
) -> LeaderElector:
    return LeaderElector(
        client,
        namespace=namespace,
        lease_name=LEASE,
        identity=identity,
        timing=TIMING,
        clock=clock,
        wall_clock=wall(skew),
    )


def cut_off_client(kube_cluster: KubeCluster, namespace: str) -> AsyncClient:
    """A client of a node cut off from the API server: its address leads nowhere."""
    config = yaml.safe_load(kube_cluster.kubeconfig.read_text())
    for entry in config["clusters"]:
        entry["cluster"]["server"] = "https://127.0.0.1:9"
    return AsyncClient(config=KubeConfig.from_dict(config), namespace=namespace)


async def read(client: AsyncClient, namespace: str) -> tuple[LeaseSpec, str]:
    lease = await client.get(Lease, LEASE, namespace=namespace)
    assert lease.spec is not None
    assert lease.metadata is not None
    return lease.spec, str(lease.metadata.resourceVersion)


def test_timing_must_leave_the_holder_time_to_stop() -> None:
    assert LeaseTiming.for_duration(30) == LeaseTiming(30, renew_interval=3.0, renew_deadline=24.0)
    assert LeaseTiming.for_duration(5) == LeaseTiming(5, renew_interval=0.5, renew_deadline=4.0)
    assert LeaseTiming.client_go() == TIMING
    with pytest.raises(ValueError, match=r"renew deadline \(10.0\) < duration \(8.0\)"):
        LeaseTiming.client_go(8.0)


def test_an_observation_restarts_only_when_the_record_changes() -> None:
    first = observe(None, "a", "t1", 15.0, now=100.0)
    assert observe(first, "a", "t1", 15.0, now=110.0) is first
    assert first.expires_in(110.0) == 5.0
    assert observe(first, "a", "t2", 15.0, now=110.0).seen_at == 110.0
    assert observe(first, "b", "t1", 15.0, now=111.0).seen_at == 111.0


async def test_acquire_then_renew(clients: list[AsyncClient], namespace: str, clock: Clock) -> None:
    a = elector(clients[0], namespace, "a", clock)
    assert not a.is_leader()
    assert await a.try_acquire_or_renew()
    assert a.is_leader()
    spec, version = await read(clients[0], namespace)
    assert (spec.holderIdentity, spec.leaseDurationSeconds, spec.leaseTransitions) == ("a", 15, 0)
    acquired, first_renewal = spec.acquireTime, spec.renewTime

    clock.now += TIMING.renew_interval
    assert await a.try_acquire_or_renew()
    spec, renewed_version = await read(clients[0], namespace)
    assert renewed_version != version
    assert (spec.holderIdentity, spec.acquireTime, spec.leaseTransitions) == ("a", acquired, 0)
    assert spec.renewTime is not None
    assert first_renewal is not None
    assert spec.renewTime > first_renewal

    # Still leading just before the deadline counted from the last renewal's start; not after it.
    clock.now += TIMING.renew_deadline - 0.01
    assert a.is_leader()
    clock.now += 0.02
    assert not a.is_leader()


async def test_a_held_lease_is_taken_only_after_it_went_unrenewed_for_its_duration(
    clients: list[AsyncClient], namespace: str, clock: Clock
) -> None:
    a, b = elector(clients[0], namespace, "a", clock), elector(clients[1], namespace, "b", clock)
    assert await a.try_acquire_or_renew()
    assert not await b.try_acquire_or_renew()
    assert b.holder == "a"
    assert not b.is_leader()

    # a renews every interval: b never sees the record unchanged for the duration.
    for _ in range(10):
        clock.now += TIMING.renew_interval
        assert await a.try_acquire_or_renew()
        assert not await b.try_acquire_or_renew()

    # a stops renewing (crashed). b sees the last record at `seen`; a stops acting before b may act.
    seen = clock.now
    assert not await b.try_acquire_or_renew()
    clock.now = seen + TIMING.renew_deadline
    assert not a.is_leader()
    clock.now = seen + TIMING.duration - 0.1
    assert not await b.try_acquire_or_renew()
    clock.now = seen + TIMING.duration
    assert await b.try_acquire_or_renew()
    assert b.is_leader()
    spec, _ = await read(clients[1], namespace)
    assert (spec.holderIdentity, spec.leaseTransitions) == ("b", 1)


async def test_a_leader_that_sees_another_holder_loses_at_once(
    clients: list[AsyncClient], namespace: str, clock: Clock
) -> None:
    a, b = elector(clients[0], namespace, "a", clock), elector(clients[1], namespace, "b", clock)
    assert await a.try_acquire_or_renew()
    assert not await b.try_acquire_or_renew()
    clock.now += TIMING.duration
    assert await b.try_acquire_or_renew()  # a's record went unrenewed (a was stuck, say)

    assert not await a.try_acquire_or_renew()
    assert not a.is_leader()
    assert a.holder == "b"
    with pytest.raises(LeadershipLostError, match="taken by b"):
        await a.keep()
    # A replica that lost the Lease leaves it to the new holder.
    _, version = await read(clients[0], namespace)
    await a.release()
    spec, after = await read(clients[0], namespace)
    assert (spec.holderIdentity, after) == ("b", version)


async def test_keep_raises_when_no_renewal_succeeds_within_the_deadline(
    clients: list[AsyncClient], kube_cluster: KubeCluster, namespace: str, clock: Clock
) -> None:
    a, b = elector(clients[0], namespace, "a", clock), elector(clients[1], namespace, "b", clock)
    assert await a.try_acquire_or_renew()
    assert not await b.try_acquire_or_renew()
    a.client = cut_off_client(kube_cluster, namespace)  # its renewals failed until the deadline
    clock.now += TIMING.renew_deadline
    try:
        with pytest.raises(LeadershipLostError, match="not renewed within 10s"):
            await asyncio.wait_for(a.keep(), timeout=30)
    finally:
        await a.client.close()
    assert a.errors == 1
    assert not await b.try_acquire_or_renew(), "b waits until the record went unrenewed on its own clock"


async def test_a_release_hands_over_at_once(clients: list[AsyncClient], namespace: str, clock: Clock) -> None:
    a, b = elector(clients[0], namespace, "a", clock), elector(clients[1], namespace, "b", clock)
    assert await a.try_acquire_or_renew()
    assert not await b.try_acquire_or_renew()
    await a.release()
    assert not a.is_leader()
    spec, _ = await read(clients[0], namespace)
    assert (spec.holderIdentity, spec.leaseDurationSeconds) == (None, 1)
    assert await b.try_acquire_or_renew(), "a released Lease is free without waiting for any expiry"
    spec, _ = await read(clients[0], namespace)
    assert (spec.holderIdentity, spec.leaseDurationSeconds, spec.leaseTransitions) == ("b", 15, 1)


async def test_run_releases_when_cancelled(clients: list[AsyncClient], namespace: str) -> None:
    changes: list[bool] = []
    leading = asyncio.Event()

    def changed(leader: bool) -> None:
        changes.append(leader)
        leading.set()

    a = LeaderElector(
        clients[0], namespace=namespace, lease_name=LEASE, identity="a", timing=TIMING, on_change=changed
    )
    task = asyncio.create_task(a.run())
    await asyncio.wait_for(leading.wait(), timeout=30)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    spec, _ = await read(clients[0], namespace)
    assert spec.holderIdentity is None
    assert changes == [True, False]


async def test_two_candidates_racing_for_a_free_lease_cannot_both_win(
    clients: list[AsyncClient], namespace: str, clock: Clock
) -> None:
    for _ in range(5):
        a, b = elector(clients[0], namespace, "a", clock), elector(clients[1], namespace, "b", clock)
        won = await asyncio.gather(a.try_acquire_or_renew(), b.try_acquire_or_renew())
        assert sorted(won) == [False, True]
        spec, _ = await read(clients[0], namespace)
        assert spec.holderIdentity == ("a" if won[0] else "b")
        await (a if won[0] else b).release()


@pytest.mark.parametrize("skew_hours", [-1, 1], ids=["holder-clock-behind", "holder-clock-ahead"])
async def test_a_holders_clock_skew_changes_nothing(
    clients: list[AsyncClient], namespace: str, clock: Clock, skew_hours: int
) -> None:
    skew = dt.timedelta(hours=skew_hours)
    a = elector(clients[0], namespace, "a", clock, skew=skew)
    b = elector(clients[1], namespace, "b", clock)
    assert await a.try_acquire_or_renew()
    spec, _ = await read(clients[1], namespace)
    assert spec.renewTime is not None
    assert abs((spec.renewTime - dt.datetime.now(dt.UTC)) - skew) < dt.timedelta(minutes=1)

    # A renewTime an hour in the past must not make a live holder look expired...
    for _ in range(10):
        assert not await b.try_acquire_or_renew()
        clock.now += TIMING.renew_interval
        assert await a.try_acquire_or_renew()
    # ...and one an hour in the future must not keep a dead holder's Lease: it expires on b's clock.
    assert not await b.try_acquire_or_renew()
    clock.now += TIMING.duration
    assert await b.try_acquire_or_renew()


async def test_a_candidate_wakes_when_the_observed_lease_expires(
    clients: list[AsyncClient], namespace: str, clock: Clock
) -> None:
    a, b = elector(clients[0], namespace, "a", clock), elector(clients[1], namespace, "b", clock)
    assert b.next_attempt_in() == TIMING.renew_interval  # nothing observed yet
    assert await a.try_acquire_or_renew()
    # A leader wakes to renew, or when its deadline passes if that comes first.
    assert a.next_attempt_in() == TIMING.renew_interval
    clock.now += TIMING.renew_deadline - 0.5
    assert a.next_attempt_in() == pytest.approx(0.51)

    assert not await b.try_acquire_or_renew()
    seen = clock.now
    assert b.next_attempt_in() == TIMING.renew_interval  # the expiry is far off
    clock.now = seen + TIMING.duration - 0.5
    assert b.next_attempt_in() == pytest.approx(0.51)  # not a whole interval past the expiry
    clock.now += b.next_attempt_in()
    assert await b.try_acquire_or_renew()
    clock.now += 30.0
    c = elector(clients[0], namespace, "c", clock)
    assert not await c.try_acquire_or_renew()
    clock.now += TIMING.duration + 1
    assert c.next_attempt_in() == TIMING.renew_interval  # expired already (and the claim may fail)


# In real time, as the bots run it: three replicas, a clean stop, a leader cut off from the API server.


async def _watch_leaders(electors: list[LeaderElector], seconds: float) -> list[set[str]]:
    """Sample who believes it may trade, every 20 ms."""
    samples: list[set[str]] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        samples.append({e.identity for e in electors if e.is_leader()})
        await asyncio.sleep(0.02)
    return samples


async def _until(condition: Callable[[], bool], within: float) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_exactly_one_leader_and_graceful_handover(clients: list[AsyncClient], namespace: str) -> None:
    # A long lease and a short bound: a takeover inside the bound can only come from the release,
    # since the Lease (renewed at most one renew interval before the stop) would expire much later.
    timing = LeaseTiming.for_duration(30)
    handover_bound = timing.renew_interval + 1.0
    assert handover_bound < timing.duration - timing.renew_interval
    electors = [
        LeaderElector(c, namespace=namespace, lease_name=LEASE, identity=f"bot-{i}", timing=timing)
        for i, c in enumerate(clients)
    ]
    tasks = [asyncio.create_task(e.run()) for e in electors]
    try:
        samples = await _watch_leaders(electors, 4.0)
        assert all(len(s) <= 1 for s in samples), "two replicas believed they could trade at once"
        assert len(samples[-1]) == 1, "nobody became leader"
        [first] = samples[-1]
        lease = await clients[0].get(Lease, LEASE, namespace=namespace)
        assert lease.spec is not None
        assert lease.spec.holderIdentity == first

        # Graceful stop: the leader releases the Lease, another one takes over at its next poll.
        index = int(first.split("-")[1])
        stopped_at = time.monotonic()
        tasks[index].cancel()
        await asyncio.gather(tasks[index], return_exceptions=True)
        rest = [e for i, e in enumerate(electors) if i != index]
        while not any(e.is_leader() for e in rest):
            waited = time.monotonic() - stopped_at
            assert waited < handover_bound, (
                f"no takeover {waited:.1f}s after a clean stop: the Lease ({timing.duration:.0f}s) "
                "was not released"
            )
            await asyncio.sleep(0.02)
        samples = await _watch_leaders(rest, 2.0)
        assert all(len(s) == 1 for s in samples)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_leader_cut_off_from_the_api_stops_before_anyone_else_starts(
    clients: list[AsyncClient], kube_cluster: KubeCluster, namespace: str
) -> None:
    timing = LeaseTiming.for_duration(5)
    electors = [
        LeaderElector(c, namespace=namespace, lease_name=LEASE, identity=f"bot-{i}", timing=timing)
        for i, c in enumerate(clients[:2])
    ]
    first_task = asyncio.create_task(electors[0].run())
    try:
        await _until(electors[0].is_leader, timing.duration)
        # Cut the leader off: the process keeps running, but cannot reach the API server.
        cut_off = cut_off_client(kube_cluster, namespace)
        electors[0].client = cut_off
        second_task = asyncio.create_task(electors[1].run())
        try:
            samples = await _watch_leaders(electors, timing.duration + 3.0)
            assert all(len(s) <= 1 for s in samples), "the cut-off leader overlapped with its successor"
            assert samples[-1] == {"bot-1"}
            stopped = next(i for i, s in enumerate(samples) if "bot-0" not in s)
            started = next(i for i, s in enumerate(samples) if "bot-1" in s)
            assert stopped < started
        finally:
            second_task.cancel()
            await asyncio.gather(second_task, return_exceptions=True)
            await cut_off.close()
    finally:
        first_task.cancel()
        await asyncio.gather(first_task, return_exceptions=True)
