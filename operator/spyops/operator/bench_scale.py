"""The benchmark's phases at scale: the floor (children applied directly), N strategies to Ready through
the operator, a restart with everything present (writes counted in the API server's audit log), and a
leader SIGKILLed in the middle of a bulk apply."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spyops.cluster.audit import AuditLog, summarize
from spyops.operator.bench_process import BenchError, OperatorRun, loadavg, rss_bytes
from spyops.operator.builders.strategy import bot_name, detector_name
from spyops.operator.kube import Kube, _resource, kind_ref
from spyops.operator.reconcile import apply_waves

Body = dict[str, Any]
STRATEGY_API = ("spyops.io/v1alpha1", "TradingStrategy")
CHILDREN = Callable[[str, str, str, bool], list[Body]]  # namespace, name, owner uid, service monitor


def strategy(namespace: str, name: str) -> Body:
    return {
        "apiVersion": "spyops.io/v1alpha1",
        "kind": "TradingStrategy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"gatewayRef": {"name": "gw"}, "replicas": 1},
    }


def gateway(namespace: str) -> Body:
    return {
        "apiVersion": "spyops.io/v1alpha1",
        "kind": "IBKRGateway",
        "metadata": {"name": "gw", "namespace": namespace},
        "spec": {"simulator": {}},
    }


def condition_true(body: Body, type_: str) -> bool:
    status = body.get("status") or {}
    return status.get("observedGeneration") == body["metadata"].get("generation") and any(
        c.get("type") == type_ and c.get("status") == "True" for c in status.get("conditions") or []
    )


def strategy_ready(body: Body) -> bool:
    return condition_true(body, "Ready")


def deployment_available(body: Body) -> bool:
    """What the operator waits for before it calls a strategy's workload ready (its rollout test)."""
    spec, status = body.get("spec") or {}, body.get("status") or {}
    wanted = int(spec.get("replicas", 1))
    return (
        int(status.get("observedGeneration", 0)) >= int(body["metadata"].get("generation", 0))
        and int(status.get("updatedReplicas", 0)) == wanted
        and int(status.get("availableReplicas", 0)) == wanted
        and int(status.get("replicas", 0)) == wanted
    )


@dataclass
class FirstSeen:
    """When each expected object was first seen satisfying a predicate on a watch."""

    expected: set[str]
    predicate: Callable[[Body], bool]
    at: dict[str, float] = field(default_factory=dict)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def see(self, body: Body) -> None:
        name = body["metadata"]["name"]
        if name in self.expected and name not in self.at and self.predicate(body):
            self.at[name] = time.monotonic()
            if len(self.at) == len(self.expected):
                self.done.set()

    async def wait(self, limit: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.done.wait(), limit)
        return self.done.is_set()

    def last(self) -> float:
        return max(self.at.values())


async def watch_into(kube: Kube, api_version: str, kind: str, namespace: str, seen: FirstSeen) -> None:
    """Feed ``seen`` from a watch (started without a resourceVersion: existing objects come first)."""
    res = _resource(kind_ref(api_version, kind))
    while True:  # a watch ends after the server's timeout; start it again
        async for event_type, obj in kube._client.watch(res, namespace=namespace):
            if event_type in ("ADDED", "MODIFIED"):
                seen.see(dict(obj))


@contextlib.asynccontextmanager
async def watching(kube: Kube, api_version: str, kind: str, namespace: str, seen: FirstSeen) -> Any:
    task = asyncio.create_task(watch_into(kube, api_version, kind, namespace, seen))
    try:
        yield seen
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def remove_namespace(kube: Kube, namespace: str, limit: float) -> float:
    """Delete ``namespace`` and wait until it is gone and the volumes of its claims are deleted too;
    returns the seconds it took. The phase after starts on the cluster the phase before started on."""
    from lightkube.resources.core_v1 import PersistentVolume

    started = time.monotonic()
    await kube.delete("v1", "Namespace", None, namespace)

    async def gone() -> bool:
        if await kube.get("v1", "Namespace", None, namespace) is not None:
            return False
        async for volume in kube._client.list(PersistentVolume):
            claim = volume.spec.claimRef if volume.spec is not None else None
            if claim is not None and claim.namespace == namespace:
                return False
        return True

    while not await gone():
        if time.monotonic() - started > limit:
            raise BenchError(f"namespace {namespace} and its volumes were not gone within {limit:.0f} s")
        await asyncio.sleep(1.0)
    return round(time.monotonic() - started, 2)


async def bounded(concurrency: int, jobs: list[Callable[[], Awaitable[Any]]]) -> None:
    semaphore = asyncio.Semaphore(concurrency)

    async def run(job: Callable[[], Awaitable[Any]]) -> None:
        async with semaphore:
            await job()

    await asyncio.gather(*(run(j) for j in jobs))


def phase_load(before: list[float]) -> dict[str, list[float]]:
    return {"loadavg_before": before, "loadavg_after": loadavg()}


async def floor(
    kube: Kube,
    namespace: str,
    count: int,
    concurrency: int,
    children_of: CHILDREN,
    service_monitor: bool,
    limit: float,
) -> Body:
    """What the operator's work costs the control plane with no operator: for each strategy, create it
    and server-side apply its children in the operator's waves, ``concurrency`` at a time with the
    operator's client; then wait until every Deployment is available (kube-controller-manager,
    kube-scheduler and kwok do the rest, as they do for the operator)."""
    load = loadavg()
    names = [f"floor-{i}" for i in range(count)]
    deployments = {d for n in names for d in (bot_name(n), detector_name(n))}
    seen = FirstSeen(deployments, deployment_available)

    async def one(name: str) -> None:
        owner = await kube.create(strategy(namespace, name))
        children = children_of(namespace, name, owner["metadata"]["uid"], service_monitor)
        for wave in apply_waves(children):
            await asyncio.gather(*(kube.apply(c) for c in wave))

    async with watching(kube, "apps/v1", "Deployment", namespace, seen):
        started = time.monotonic()
        await bounded(concurrency, [functools.partial(one, n) for n in names])
        applied = time.monotonic() - started
        complete = await seen.wait(limit)
    return {
        "strategies": count,
        "concurrency": concurrency,
        "applied_s": round(applied, 2),
        "started_at": started,
        "all_deployments_available_s": round(seen.last() - started, 2) if complete else None,
        "available": len(seen.at),
        "expected": len(deployments),
        **phase_load(load),
    }


async def to_ready(
    kube: Kube,
    namespace: str,
    names: list[str],
    concurrency: int,
    limit: float,
    on_created: Callable[[int], None],
) -> Body:
    """Create the strategies ``concurrency`` at a time; time until every one is Ready (on a watch)."""
    load = loadavg()
    seen = FirstSeen(set(names), strategy_ready)
    created = 0

    async def one(name: str) -> None:
        nonlocal created
        await kube.create(strategy(namespace, name))
        created += 1
        on_created(created)

    async with watching(kube, *STRATEGY_API, namespace, seen):
        started = time.monotonic()
        await bounded(concurrency, [functools.partial(one, n) for n in names])
        create_s = time.monotonic() - started
        complete = await seen.wait(limit)
    return {
        "strategies": len(names),
        "concurrency": concurrency,
        "create_requests_s": round(create_s, 2),
        "all_ready_s": round(seen.last() - started, 2) if complete else None,
        "ready": len(seen.at),
        "started_at": started,
        **phase_load(load),
    }


async def resource_versions(kube: Kube, namespace: str, kinds: list[tuple[str, str]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for api_version, kind in kinds:
        for item in await kube.list(api_version, kind, namespace, {}):
            found[f"{kind}/{item['metadata']['name']}"] = item["metadata"]["resourceVersion"]
    return found


async def poll(check: Callable[[], bool], limit: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(interval)
    return False


async def restart(
    kube: Kube,
    running: OperatorRun,
    replacement: OperatorRun,
    audit: AuditLog,
    user: str,
    strategies: int,
    kinds: list[tuple[str, str]],
    settle: float = 5.0,
) -> Body:
    """Stop the operator and start another with everything in place; count what it writes."""
    load = loadavg()
    running.stop()
    before = await resource_versions(kube, running.namespace, kinds)
    audit.mark()
    replacement.start()

    def reconciled() -> float:
        return replacement.metric("spyops_operator_reconciled_objects", {"controller": "tradingstrategy"})

    ready = await poll(lambda: (replacement.ready() or {}).get("ready") is True, 120)
    ready_s = time.monotonic() - replacement.started_at
    complete = await poll(lambda: reconciled() >= strategies, 300)
    all_once_s = time.monotonic() - replacement.started_at
    await asyncio.sleep(settle)  # what the reconciles set off (watch events, requeues) happens here
    writes = audit.writes_since_mark(user)
    lease = [w for w in writes if w.resource == "leases"]
    others = [w for w in writes if w.resource != "leases"]
    after = await resource_versions(kube, running.namespace, kinds)
    changed = sorted(k for k, v in before.items() if after.get(k) != v)
    return {
        "strategies": strategies,
        "ready_s": round(ready_s, 2) if ready else None,
        "every_strategy_reconciled_once_s": round(all_once_s, 2) if complete else None,
        "writes": len(others),
        "writes_by_request": summarize(others),
        "lease_writes": len(lease),
        "objects_checked": len(before),
        "objects_changed": len(changed),
        "objects_changed_examples": changed[:5],
        "rss_mib": round(rss_bytes(replacement.pid) / 2**20, 1),
        "settle_s": settle,
        **phase_load(load),
    }


async def end_state(
    kube: Kube, namespace: str, names: list[str], children_of: CHILDREN, service_monitor: bool
) -> Body:
    """Compare what exists with what the builders make for each strategy: missing, extra, duplicated."""
    live_by_kind: dict[str, set[str]] = {}
    wanted_by_kind: dict[str, set[str]] = {}
    uids = {
        s["metadata"]["name"]: s["metadata"]["uid"] for s in await kube.list(*STRATEGY_API, namespace, {})
    }
    for name in names:
        for child in children_of(namespace, name, uids.get(name, ""), service_monitor):
            wanted_by_kind.setdefault(f"{child['apiVersion']}|{child['kind']}", set()).add(
                child["metadata"]["name"]
            )
    labels = {"app.kubernetes.io/managed-by": "spyops-operator"}
    for key in wanted_by_kind:
        api_version, kind = key.split("|")
        items = await kube.list(api_version, kind, namespace, labels)
        live_by_kind[key] = {
            i["metadata"]["name"] for i in items if "spyops.io/strategy" in i["metadata"]["labels"]
        }
    missing = sum(len(wanted_by_kind[k] - live_by_kind.get(k, set())) for k in wanted_by_kind)
    extra = sum(len(live_by_kind.get(k, set()) - wanted_by_kind[k]) for k in wanted_by_kind)
    replica_sets = await kube_list_raw(kube, "apps/v1", "ReplicaSet", namespace)
    per_deployment: dict[str, int] = {}
    for rs in replica_sets:
        for ref in rs["metadata"].get("ownerReferences") or []:
            per_deployment[ref["name"]] = per_deployment.get(ref["name"], 0) + 1
    return {
        "strategies_missing": len([n for n in names if n not in uids]),
        "children_missing": missing,
        "children_extra": extra,
        "deployments_with_more_than_one_replicaset": sum(1 for n in per_deployment.values() if n > 1),
    }


async def kube_list_raw(kube: Kube, api_version: str, kind: str, namespace: str) -> list[Body]:
    from lightkube.generic_resource import create_namespaced_resource

    group, _, version = api_version.rpartition("/")
    res = create_namespaced_resource(group, version, kind, kind.lower() + "s")
    return [dict(i) async for i in kube._client.list(res, namespace=namespace)]


async def failover(
    kube: Kube,
    kubeconfig: Path,
    namespace: str,
    count: int,
    concurrency: int,
    lease_duration: float,
    workdir: Path,
    children_of: CHILDREN,
    service_monitor: bool,
    limit: float,
) -> Body:
    """Two replicas; SIGKILL the leader when half the strategies are created; time the takeover and
    check that the end state is what the builders make: nothing missing, nothing duplicated."""
    lease_args = ("--lease-duration", str(lease_duration))
    leader = OperatorRun(kubeconfig, namespace, "replica-a", workdir, lease_args).start()
    if not await poll(lambda: (leader.ready() or {}).get("leader") is True, 120):
        raise RuntimeError("replica-a did not lead")
    standby = OperatorRun(kubeconfig, namespace, "replica-b", workdir, lease_args).start()
    try:
        if not await poll(lambda: (standby.ready() or {}).get("standby") is True, 120):
            raise RuntimeError("replica-b did not become a standby")
        await kube.create(gateway(namespace))
        gw = FirstSeen({"gw"}, lambda b: condition_true(b, "Ready"))
        async with watching(kube, "spyops.io/v1alpha1", "IBKRGateway", namespace, gw):
            await gw.wait(120)
        killed_at = 0.0
        killed = asyncio.Event()

        def maybe_kill(created: int) -> None:
            nonlocal killed_at
            if created == count // 2:
                leader.kill()
                killed_at = time.monotonic()
                killed.set()

        async def takeover() -> float | None:
            await killed.wait()
            if await poll(lambda: (standby.ready() or {}).get("leader") is True, limit, 0.05):
                return time.monotonic() - killed_at
            return None

        names = [f"fo-{i}" for i in range(count)]
        waiter = asyncio.create_task(takeover())
        result = await to_ready(kube, namespace, names, concurrency, limit, maybe_kill)
        takeover_s = await waiter
        state = await end_state(kube, namespace, names, children_of, service_monitor)
    finally:
        standby.stop()
        leader.stop()
    return {
        **{k: v for k, v in result.items() if k != "started_at"},
        "killed_after_creates": count // 2,
        "takeover_s": None if takeover_s is None else round(takeover_s, 2),
        "lease_duration_s": lease_duration,
        **state,
    }
