"""Operator benchmark: apply -> all children latency, 500 strategies to converge, operator memory.

Prints one JSON document. Each operator number sits next to a baseline measured in the same run:
the same children applied directly with server-side apply from the benchmark process (what an
operator with zero overhead would achieve on this machine and API server).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from spyops.operator.api.gateway import IBKRGatewaySpec
from spyops.operator.api.strategy import TradingStrategySpec
from spyops.operator.builders.common import Owner
from spyops.operator.builders.gateway import GatewayInputs, build_gateway_children
from spyops.operator.builders.strategy import StrategyInputs, build_strategy_children
from spyops.operator.kube import Kube
from spyops.operator.reconcile import FIRST_WAVE
from spyops.operator.render import GatewayTarget, gateway_host, render_runtime_config

REPO = Path(__file__).resolve().parents[3]
BENCH_SPEC = TradingStrategySpec.model_validate({"gatewayRef": {"name": "gw"}, "replicas": 1})


def strategy_children(namespace: str, name: str, uid: str, service_monitor: bool) -> list[dict[str, Any]]:
    """What the operator's builders make for one benchmark strategy: the count is theirs, not ours."""
    target = GatewayTarget(gateway_host("gw", namespace), 4002, "paper")
    owner = Owner("TradingStrategy", name, namespace, uid)
    config = render_runtime_config(namespace, name, BENCH_SPEC, target, None)
    return build_strategy_children(StrategyInputs(owner, BENCH_SPEC, config, "img", service_monitor))


def child_kinds(service_monitor: bool) -> tuple[tuple[str, str], ...]:
    """(apiVersion, kind) of every child kind a strategy gets, for the watches that count them."""
    children = strategy_children("ns", "s", "uid", service_monitor)
    return tuple(sorted({(c["apiVersion"], c["kind"]) for c in children}))


def children_per_strategy(service_monitor: bool) -> int:
    return len(strategy_children("ns", "s", "uid", service_monitor))


def objects_per_gateway() -> int:
    """The benchmark's gateway and what the builders make for it."""
    spec = IBKRGatewaySpec.model_validate({"simulator": {}})
    owner = Owner("IBKRGateway", "gw", "ns", "uid")
    return 1 + len(build_gateway_children(GatewayInputs(owner, spec, "img")))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _summary_ms(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": round(_percentile(values, 0.5) * 1000, 1),
        "p99_ms": round(_percentile(values, 0.99) * 1000, 1),
        "mean_ms": round(statistics.fmean(values) * 1000, 1),
    }


def _strategy(namespace: str, name: str, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "spyops.io/v1alpha1",
        "kind": "TradingStrategy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"gatewayRef": {"name": "gw"}, "replicas": replicas},
    }


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


class ChildCounter:
    """Counts ADDED watch events of the children of each strategy (by the spyops.io/strategy label)."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.counts: dict[str, int] = {}
        self.done_at: dict[str, float] = {}
        self.waiters: dict[str, asyncio.Event] = {}

    def event(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1
        if self.counts[name] == self.expected:
            self.done_at[name] = time.monotonic()
            self.waiters.setdefault(name, asyncio.Event()).set()

    async def wait(self, name: str, limit: float) -> None:
        await asyncio.wait_for(self.waiters.setdefault(name, asyncio.Event()).wait(), limit)


async def _watch_children(
    kube: Kube, namespace: str, counter: ChildCounter, kinds: tuple[tuple[str, str], ...]
) -> None:
    from lightkube.generic_resource import GenericNamespacedResource  # noqa: F401 - keeps lightkube loaded

    from spyops.operator.kube import _resource, kind_ref

    async def one(api_version: str, kind: str) -> None:
        res = _resource(kind_ref(api_version, kind))
        async for event_type, obj in kube._client.watch(
            res, namespace=namespace, labels={"app.kubernetes.io/managed-by": "spyops-operator"}
        ):
            if event_type == "ADDED":
                labels = (obj.get("metadata") or {}).get("labels") or {}
                strategy = labels.get("spyops.io/strategy")
                if strategy:
                    counter.event(strategy)

    await asyncio.gather(*(one(v, k) for v, k in kinds))


async def _direct_baseline(kube: Kube, namespace: str, samples: int, service_monitor: bool) -> list[float]:
    """Time to SSA-apply one strategy's children directly (no operator), in the operator's waves: the floor."""
    timings = []
    for index in range(samples):
        name = f"direct-{index}"
        owner_body = await kube.create(
            _strategy(namespace, name, 1) | {"spec": {**BENCH_SPEC.to_wire(), "suspend": True}}
        )
        children = strategy_children(namespace, name, owner_body["metadata"]["uid"], service_monitor)
        for child in children:
            child["metadata"]["labels"]["app.kubernetes.io/managed-by"] = "spyops-bench"
        started = time.monotonic()
        first = [c for c in children if c["kind"] in FIRST_WAVE]
        second = [c for c in children if c["kind"] not in FIRST_WAVE]
        await asyncio.gather(*(kube.apply(c) for c in first))
        await asyncio.gather(*(kube.apply(c) for c in second))
        timings.append(time.monotonic() - started)
    return timings


async def _count_converged(kube: Kube, namespace: str, total: int) -> tuple[int, int]:
    ready = observed = 0
    items = await kube.list("spyops.io/v1alpha1", "TradingStrategy", namespace, {})
    for item in items:
        if not item["metadata"]["name"].startswith("bulk-"):
            continue
        status = item.get("status") or {}
        if status.get("observedGeneration") == item["metadata"].get("generation") and status.get(
            "conditions"
        ):
            observed += 1
        if any(
            c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
        ):
            ready += 1
    return observed, ready


async def run_benchmark(
    kubeconfig: Path, namespace: str, latency_samples: int, bulk: int, ready_timeout: float
) -> dict[str, Any]:
    kube = Kube.connect(kubeconfig, "bench")
    # The operator adds a ServiceMonitor when the Prometheus Operator's API is served; so do we.
    service_monitor = await kube.api_available("monitoring.coreos.com/v1", "ServiceMonitor", namespace)
    per_strategy = children_per_strategy(service_monitor)
    counter = ChildCounter(per_strategy)
    workdir = Path(tempfile.mkdtemp(prefix="spyops-bench-"))
    log = workdir / "operator.log"
    env = dict(os.environ, KUBECONFIG=str(kubeconfig))
    with log.open("wb") as sink:
        # Popen returns at once (no blocking wait); the operator runs beside the event loop.
        operator = subprocess.Popen(  # noqa: ASYNC220
            [
                sys.executable,
                "-m",
                "spyops",
                "operator",
                "--namespace",
                namespace,
                "--kubeconfig",
                str(kubeconfig),
                "--metrics-host",
                "127.0.0.1",
                "--metrics-port",
                "0",
                "--identity",
                "bench",
                "--log-level",
                "WARNING",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        )
    watcher = asyncio.create_task(_watch_children(kube, namespace, counter, child_kinds(service_monitor)))
    try:
        await kube.create(
            {
                "apiVersion": "spyops.io/v1alpha1",
                "kind": "IBKRGateway",
                "metadata": {"name": "gw", "namespace": namespace},
                "spec": {"simulator": {}},
            }
        )
        await asyncio.sleep(3.0)  # operator up and watching
        # The baseline runs in a namespace the operator does not watch.
        baseline = await _direct_baseline(
            kube, f"{namespace}-direct", min(20, latency_samples), service_monitor
        )

        latencies = []
        for index in range(latency_samples):
            name = f"lat-{index}"
            started = time.monotonic()
            await kube.create(_strategy(namespace, name, 1))
            await counter.wait(name, limit=60)
            latencies.append(counter.done_at[name] - started)

        rss_before_bulk = _rss_bytes(operator.pid)
        started = time.monotonic()
        semaphore = asyncio.Semaphore(16)

        async def create(index: int) -> None:
            async with semaphore:
                await kube.create(_strategy(namespace, f"bulk-{index}", 1))

        await asyncio.gather(*(create(i) for i in range(bulk)))
        created_s = time.monotonic() - started
        names = [f"bulk-{i}" for i in range(bulk)]
        await asyncio.gather(*(counter.wait(n, limit=600) for n in names))
        children_s = max(counter.done_at[n] for n in names) - started
        observed_s: float | None = None
        ready_s: float | None = None
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            observed, ready = await _count_converged(kube, namespace, bulk)
            now = time.monotonic() - started
            if observed_s is None and observed >= bulk:
                observed_s = now
            if ready >= bulk:
                ready_s = now
                break
            await asyncio.sleep(1.0)
        rss = _rss_bytes(operator.pid)
        managed = (latency_samples + bulk) * (1 + per_strategy) + objects_per_gateway()
        return {
            "benchmark": "operator",
            "machine_cpus": os.cpu_count(),
            "children_per_strategy": per_strategy,
            "apply_to_all_children": {
                "operator": _summary_ms(latencies),
                "baseline_direct_ssa_of_the_same_children": _summary_ms(baseline),
                "target_p99_ms": 1000,
            },
            "converge": {
                "strategies": bulk,
                "create_requests_s": round(created_s, 2),
                "all_children_created_s": round(children_s, 2),
                "all_status_observed_s": None if observed_s is None else round(observed_s, 2),
                "all_ready_s": None if ready_s is None else round(ready_s, 2),
                "ready_timeout_s": ready_timeout,
                "target_s": 60,
            },
            "operator_memory": {
                "rss_mib_before_bulk": round(rss_before_bulk / 2**20, 1),
                "rss_mib_after_bulk": round(rss / 2**20, 1),
                "objects_managed": managed,
                "kib_per_managed_object": round(
                    (rss - rss_before_bulk) / 1024 / max(1, bulk * (1 + per_strategy)), 2
                ),
            },
        }
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await watcher
        operator.terminate()
        try:
            operator.wait(timeout=30)
        except subprocess.TimeoutExpired:
            operator.kill()
        await kube.close()


@contextlib.contextmanager
def bench_cluster(workdir: Path) -> Iterator[Path]:
    from spyops.cluster.testing import session_cluster

    with session_cluster(workdir) as cluster:
        cluster.kubectl("apply", "--server-side", "-f", str(REPO / "crds"))
        cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", str(REPO / "crds"))
        yield cluster.kubeconfig


def main(latency_samples: int = 50, bulk: int = 500, ready_timeout: float = 600.0) -> dict[str, Any]:
    from spyops.cluster.kubectl import run_kubectl

    workdir = Path(tempfile.mkdtemp(prefix="spyops-bench-cluster-"))
    with bench_cluster(workdir) as kubeconfig:
        namespace = f"bench-{int(time.time())}"
        run_kubectl(kubeconfig, "create", "namespace", namespace)
        run_kubectl(kubeconfig, "create", "namespace", f"{namespace}-direct")
        result = asyncio.run(run_benchmark(kubeconfig, namespace, latency_samples, bulk, ready_timeout))
    print(json.dumps(result, indent=2))
    return result
