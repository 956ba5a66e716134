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
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
from lightkube import AsyncClient

from spyops.cluster.audit import (
    AuditLog,
    audit_log_of,
    audited_kubeconfig,
    per_object,
    service_account_user,
)
from spyops.operator import bench_scale
from spyops.operator.api.gateway import IBKRGatewaySpec
from spyops.operator.api.strategy import TradingStrategySpec
from spyops.operator.bench_process import BenchError, OperatorRun, cpu_seconds, loadavg, rss_bytes
from spyops.operator.builders.common import FIELD_MANAGER, Owner
from spyops.operator.builders.gateway import GatewayInputs, build_gateway_children
from spyops.operator.builders.strategy import StrategyInputs, build_strategy_children
from spyops.operator.kube import Kube, kube_config
from spyops.operator.profile_summary import summarize_collapsed
from spyops.operator.reconcile import apply_waves
from spyops.operator.render import GatewayTarget, gateway_host, render_runtime_config

REPO = Path(__file__).resolve().parents[3]
STRATEGY_KIND = ("spyops.io/v1alpha1", "TradingStrategy")
GATEWAY_KIND = ("spyops.io/v1alpha1", "IBKRGateway")
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
        for wave in apply_waves(children):
            await asyncio.gather(*(kube.apply(c) for c in wave))
        timings.append(time.monotonic() - started)
    return timings


@dataclass(frozen=True)
class BenchConfig:
    namespace: str
    latency_samples: int = 50
    bulk: int = 500
    ready_timeout: float = 600.0
    failover_bulk: int = 500
    lease_duration: float = 15.0
    concurrency: int = 16  # the operator's default --workers, and the creates/applies in flight
    profile: Path | None = None  # py-spy's collapsed stacks of the operator during the bulk phase


def _ratio(value: float | None, floor: float | None) -> float | None:
    return None if value is None or not floor else round(value / floor, 2)


def control_plane_pids(kubeconfig: Path) -> dict[str, int]:
    """The embedded control plane's processes by component (etcd, kube-apiserver, ..., the local-path
    provisioner), from its state file."""
    from spyops.cluster.controlplane import ClusterState

    state = ClusterState.load(kubeconfig.parent)
    return {c.name: c.pid for c in state.components} if state is not None else {}


def cpu_by_component(pids: dict[str, int]) -> dict[str, float]:
    return {name: cpu_seconds([pid]) for name, pid in pids.items()}


def cpu_used_since(pids: dict[str, int], before: dict[str, float]) -> dict[str, Any]:
    """CPU-seconds each control-plane component used since ``before`` (largest first), and their sum."""
    now = cpu_by_component(pids)
    used = {name: round(now[name] - before.get(name, 0.0), 1) for name in now}
    return {
        "control_plane_cpu_s": round(sum(used.values()), 1),
        "control_plane_cpu_s_by_component": dict(sorted(used.items(), key=lambda item: -item[1])),
    }


def _client(kubeconfig: Path) -> Kube:
    # The operator's client and field manager; a longer timeout than lightkube's 10 s, since a request
    # the loaded API server answers late must not end the benchmark (the operator retries instead).
    return Kube(
        AsyncClient(config=kube_config(kubeconfig), field_manager=FIELD_MANAGER, timeout=httpx2.Timeout(120)),
        "bench",
    )


def _requests_per_strategy(audit: AuditLog, user: str, strategies: int) -> dict[str, Any]:
    """What ``user`` asked of the API server since the mark, per strategy (its Lease apart)."""
    requests = audit.requests_since_mark(user)
    return {
        "per_strategy": per_object([r for r in requests if r.resource != "leases"], strategies),
        "lease_requests": sum(1 for r in requests if r.resource == "leases"),
    }


async def run_benchmark(kubeconfig: Path, config: BenchConfig) -> dict[str, Any]:
    namespace = config.namespace
    kube = _client(kubeconfig)
    # The operator adds a ServiceMonitor when the Prometheus Operator's API is served; so do we.
    service_monitor = await kube.api_available("monitoring.coreos.com/v1", "ServiceMonitor", namespace)
    per_strategy = children_per_strategy(service_monitor)
    counter = ChildCounter(per_strategy)
    workdir = Path(tempfile.mkdtemp(prefix="spyops-bench-"))
    # The operator runs as a ServiceAccount whose writes the API server audits (the restart phase
    # counts them); bound to cluster-admin as the benchmark ran it before, as the cluster's admin.
    account = "bench-operator"
    operator_kubeconfig = audited_kubeconfig(
        kubeconfig, account, "cluster-admin", workdir / "operator.kubeconfig"
    )
    audit_path = audit_log_of(kubeconfig)
    if not audit_path.is_file():
        raise BenchError(
            f"{audit_path} does not exist: the benchmark counts the operator's requests in the API "
            "server's audit log, which the embedded control plane writes (an existing cluster does not)"
        )
    audit = AuditLog(audit_path)
    # The floor's client is audited too (as another account), so its requests are counted the same way.
    floor_account = "bench-floor"
    floor_kube = _client(
        audited_kubeconfig(kubeconfig, floor_account, "cluster-admin", workdir / "floor.kubeconfig")
    )
    operator = OperatorRun(operator_kubeconfig, namespace, "bench", workdir).start()
    replacement = OperatorRun(operator_kubeconfig, namespace, "bench-restarted", workdir)
    watcher = asyncio.create_task(_watch_children(kube, namespace, counter, child_kinds(service_monitor)))
    load_at_start = loadavg()
    control_plane = control_plane_pids(kubeconfig)
    try:
        await kube.create(bench_scale.gateway(namespace))
        gateway_ready = bench_scale.FirstSeen({"gw"}, lambda b: bench_scale.condition_true(b, "Ready"))
        async with bench_scale.watching(kube, "spyops.io/v1alpha1", "IBKRGateway", namespace, gateway_ready):
            if not await gateway_ready.wait(120):
                raise BenchError("the benchmark's IBKRGateway did not become Ready within 120 s")
        # The baseline runs in a namespace the operator does not watch.
        baseline = await _direct_baseline(
            kube, f"{namespace}-direct", min(20, config.latency_samples), service_monitor
        )
        latencies = []
        for index in range(config.latency_samples):
            name = f"lat-{index}"
            started = time.monotonic()
            await kube.create(_strategy(namespace, name, 1))
            await counter.wait(name, limit=60)
            latencies.append(counter.done_at[name] - started)

        # The benchmark watches the floor's children as it watches the operator's (the same load on
        # the API server and on this process in both phases), and times them the same way.
        floor_namespace = f"{namespace}-floor"
        floor_counter = ChildCounter(per_strategy)
        floor_watcher = asyncio.create_task(
            _watch_children(kube, floor_namespace, floor_counter, child_kinds(service_monitor))
        )
        floor_cpu_before = (time.process_time(), cpu_by_component(control_plane))
        audit.mark()
        try:
            floor = await bench_scale.floor(
                floor_kube,
                floor_namespace,
                config.bulk,
                config.concurrency,
                strategy_children,
                service_monitor,
                config.ready_timeout,
            )
        finally:
            floor_watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await floor_watcher
        floor_started = floor.pop("started_at")
        floor_done = list(floor_counter.done_at.values())
        floor["all_children_created_s"] = (
            round(max(floor_done) - floor_started, 2) if len(floor_done) == config.bulk else None
        )
        floor["requests"] = _requests_per_strategy(audit, service_account_user(floor_account), config.bulk)
        floor["bench_process_cpu_s"] = round(time.process_time() - floor_cpu_before[0], 1)
        floor.update(cpu_used_since(control_plane, floor_cpu_before[1]))
        # The floor's objects go before the operator's phase: both phases start on the same cluster (the
        # operator's used to run beside 500 more strategies' objects).
        floor["removed_after_s"] = await bench_scale.remove_namespace(
            kube, floor_namespace, config.ready_timeout
        )

        rss_before_bulk = rss_bytes(operator.pid)
        cpu_before = (cpu_seconds([operator.pid]), cpu_by_component(control_plane), time.process_time())
        audit.mark()
        raw_profile = workdir / "profile.collapsed"
        if config.profile is not None:
            operator.profile(raw_profile)
        names = [f"bulk-{i}" for i in range(config.bulk)]
        bulk = await bench_scale.to_ready(
            kube, namespace, names, config.concurrency, config.ready_timeout, lambda _n: None
        )
        cpu_used = {
            "operator_cpu_s": round(cpu_seconds([operator.pid]) - cpu_before[0], 1),
            **cpu_used_since(control_plane, cpu_before[1]),
            "bench_process_cpu_s": round(time.process_time() - cpu_before[2], 1),
        }
        operator_requests = _requests_per_strategy(audit, service_account_user(account), config.bulk)
        profile: dict[str, Any] | None = None
        if config.profile is not None:
            operator.stop_profile()
            shutil.copyfile(raw_profile, config.profile)
            profile = summarize_collapsed(raw_profile.read_text().splitlines())
            profile["collapsed_stacks"] = str(config.profile)
        started = bulk.pop("started_at")
        children_done = [counter.done_at[n] for n in names if n in counter.done_at]
        rss = rss_bytes(operator.pid)

        restart_kinds = [STRATEGY_KIND, GATEWAY_KIND, *child_kinds(service_monitor)]
        total = config.latency_samples + config.bulk
        restarted = await bench_scale.restart(
            kube, operator, replacement, audit, service_account_user(account), total, restart_kinds
        )
        failover = await bench_scale.failover(
            kube,
            kubeconfig,
            f"{namespace}-failover",
            config.failover_bulk,
            config.concurrency,
            config.lease_duration,
            workdir,
            strategy_children,
            service_monitor,
            config.ready_timeout,
        )
        ready_s = bulk["all_ready_s"]
        return {
            "benchmark": "operator",
            "machine_cpus": os.cpu_count(),
            "loadavg_at_start": load_at_start,
            "loadavg_at_end": loadavg(),
            "children_per_strategy": per_strategy,
            "apply_to_all_children": {
                "operator": _summary_ms(latencies),
                "baseline_direct_ssa_of_the_same_children": _summary_ms(baseline),
                "target_p99_ms": 500,
            },
            "ready_at_scale": {
                "operator": {
                    **bulk,
                    "all_children_created_s": round(max(children_done) - started, 2)
                    if len(children_done) == len(names)
                    else None,
                    **cpu_used,
                    "requests": operator_requests,
                },
                "floor_direct_apply_without_operator": floor,
                "operator_over_floor": _ratio(ready_s, floor["all_deployments_available_s"]),
                "target_s": 60,
                "target_ratio": 1.5,
            },
            "restart": restarted,
            "failover": failover,
            "operator_memory": {
                "rss_mib_before_bulk": round(rss_before_bulk / 2**20, 1),
                "rss_mib_after_bulk": round(rss / 2**20, 1),
                "objects_managed": total * (1 + per_strategy) + objects_per_gateway(),
                "kib_per_managed_object": round(
                    (rss - rss_before_bulk) / 1024 / max(1, config.bulk * (1 + per_strategy)), 2
                ),
            },
            "profile_of_bulk_phase": profile,
        }
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await watcher
        operator.stop()
        replacement.stop()
        await kube.close()
        await floor_kube.close()
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def bench_cluster(workdir: Path) -> Iterator[Path]:
    from spyops.cluster.testing import session_cluster

    with session_cluster(workdir) as cluster:
        cluster.kubectl("apply", "--server-side", "-f", str(REPO / "crds"))
        cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", str(REPO / "crds"))
        yield cluster.kubeconfig


def main(config: BenchConfig) -> dict[str, Any]:
    from spyops.cluster.kubectl import run_kubectl

    workdir = Path(tempfile.mkdtemp(prefix="spyops-bench-cluster-"))
    try:
        with bench_cluster(workdir) as kubeconfig:
            for suffix in ("", "-direct", "-floor", "-failover"):
                run_kubectl(kubeconfig, "create", "namespace", f"{config.namespace}{suffix}")
            result = asyncio.run(run_benchmark(kubeconfig, config))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)  # etcd's data and the logs: hundreds of MB at 500
    print(json.dumps(result, indent=2))
    return result
