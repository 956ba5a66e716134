"""Lease election against the real API server: one leader, fast handover, no overlap when cut off."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import yaml
from lightkube import AsyncClient
from lightkube.config.kubeconfig import KubeConfig
from lightkube.resources.coordination_v1 import Lease

from spyops.cluster.testing import KubeCluster
from spyops.common.lease import LeaderElector, LeaseTiming

pytestmark = pytest.mark.cluster

LEASE = "spy-0dte-bot"


@pytest.fixture
async def clients(kube_cluster: KubeCluster, namespace: str) -> AsyncIterator[list[AsyncClient]]:
    made = [
        AsyncClient(config=KubeConfig.from_file(kube_cluster.kubeconfig), namespace=namespace)
        for _ in range(3)
    ]
    yield made
    for client in made:
        await client.close()


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
    clients: list[AsyncClient], kube_cluster: KubeCluster, namespace: str, tmp_path: Path
) -> None:
    timing = LeaseTiming.for_duration(5)
    electors = [
        LeaderElector(c, namespace=namespace, lease_name=LEASE, identity=f"bot-{i}", timing=timing)
        for i, c in enumerate(clients[:2])
    ]
    first_task = asyncio.create_task(electors[0].run())
    try:
        await _until(electors[0].is_leader, timing.duration)
        # Cut the leader off: the process keeps running, but its API server address now leads nowhere.
        config = yaml.safe_load(kube_cluster.kubeconfig.read_text())
        for entry in config["clusters"]:
            entry["cluster"]["server"] = "https://127.0.0.1:9"
        unreachable = tmp_path / "unreachable.kubeconfig"
        unreachable.write_text(yaml.safe_dump(config))
        cut_off = AsyncClient(config=KubeConfig.from_file(unreachable), namespace=namespace)
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
