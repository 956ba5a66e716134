"""The operator with many objects, at a size `make test` affords (the benchmark, `spyops bench operator`,
runs the same at 500): on the way to Ready it stays within a request budget per strategy, a restart
writes nothing, and a leader SIGKILLed in the middle of a bulk apply is replaced within the Lease
duration with nothing lost and nothing duplicated."""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from spyops.cluster.audit import (
    READ_VERBS,
    AuditLog,
    Request,
    audit_log_of,
    audited_kubeconfig,
    service_account_user,
    summarize,
)
from spyops.cluster.testing import KubeCluster
from spyops.common import metrics_text
from spyops.common.lease import LeaseTiming
from spyops.common.polling import wait_for
from spyops.operator.reconcile import PROGRESS_WRITE_INTERVAL
from tests.operator.support import (
    MANAGED,
    RBAC_RELEASE,
    STRATEGY_CHILD_KINDS,
    OperatorProcess,
    assert_children_exactly_as_built,
    get_json,
)

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.embedded_only(
        "counts writes in the embedded API server's audit log, and Ready needs kwok's simulated pods"
    ),
]

STRATEGIES = 20
OPERATOR_CLUSTER_ROLE = (
    f"{RBAC_RELEASE}-spyops"  # the chart's ClusterRole (operator_sa_kubeconfig applies it)
)


def _gateway(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "spyops.io/v1alpha1",
        "kind": "IBKRGateway",
        "metadata": {"name": "gw", "namespace": namespace},
        "spec": {"simulator": {"scenario": "calm"}},
    }


def _strategies(namespace: str, names: list[str]) -> str:
    docs = [
        {
            "apiVersion": "spyops.io/v1alpha1",
            "kind": "TradingStrategy",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"gatewayRef": {"name": "gw"}, "replicas": 1},
        }
        for name in names
    ]
    return "\n---\n".join(json.dumps(d) for d in docs)


def _wait_all_ready(kube: KubeCluster, namespace: str, count: int, timeout: float = 180) -> None:
    def ready() -> bool:
        items = get_json(kube, "tradingstrategies", "-n", namespace)["items"]
        good = [
            i
            for i in items
            if any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in (i.get("status") or {}).get("conditions") or []
            )
        ]
        return len(items) == count and len(good) == count

    wait_for(f"{count} strategies Ready", ready, timeout=timeout, interval=1.0)


def _resource_versions(kube: KubeCluster, namespace: str) -> dict[str, str]:
    kinds = ",".join(("tradingstrategies", "ibkrgateways", *STRATEGY_CHILD_KINDS))
    items = get_json(kube, kinds, "-n", namespace, "-l", MANAGED)["items"]
    items += get_json(kube, "tradingstrategies,ibkrgateways", "-n", namespace)["items"]
    return {f"{i['kind']}/{i['metadata']['name']}": i["metadata"]["resourceVersion"] for i in items}


def _metric(proc: OperatorProcess, name: str, labels: dict[str, str]) -> float:
    return metrics_text.value(proc.get("/metrics").text, name, labels) or 0.0


def _strategy_reconciles(proc: OperatorProcess) -> float:
    """Reconciles of TradingStrategies so far, whatever their result."""
    return sum(
        s.value
        for s in metrics_text.samples(proc.get("/metrics").text)
        if s.name == "controller_runtime_reconcile_total" and s.labels.get("controller") == "tradingstrategy"
    )


@pytest.fixture
def audited_operator_kubeconfig(spyops_crds: KubeCluster, namespace: str, tmp_path: Path) -> Path:
    """The operator's ClusterRole, as a ServiceAccount whose writes the API server audits."""
    return audited_kubeconfig(
        spyops_crds.kubeconfig, f"op-{namespace}"[:63], OPERATOR_CLUSTER_ROLE, tmp_path / "audited.kubeconfig"
    )


def _over_status_budget(requests: list[Request]) -> list[str]:
    """Strategies whose status was written more often than: once when first seen, once when Ready, and
    once per PROGRESS_WRITE_INTERVAL of rollout in between (counters and messages wait)."""
    times: dict[str, list[float]] = defaultdict(list)
    for r in requests:
        if r.resource == "tradingstrategies/status" and r.verb == "patch":
            times[r.name].append(r.at)
    over = []
    for name, at in sorted(times.items()):
        span = max(at) - min(at)
        if len(at) > 2 + int(span // PROGRESS_WRITE_INTERVAL):
            over.append(f"{name}: {len(at)} status writes in {span:.1f} s")
    return over


def test_requests_per_strategy_to_ready_and_a_restart_that_writes_nothing(
    spyops_crds: KubeCluster,
    namespace: str,
    operator_sa_kubeconfig: Path,
    audited_operator_kubeconfig: Path,
    tmp_path: Path,
    operator_factory: list[OperatorProcess],
) -> None:
    kube = spyops_crds
    user = service_account_user(f"op-{namespace}"[:63])
    audit = AuditLog(audit_log_of(kube.kubeconfig))
    names = [f"s{i}" for i in range(STRATEGIES)]
    first = OperatorProcess(audited_operator_kubeconfig, namespace, tmp_path, "before-restart").start()
    operator_factory.append(first)
    first.wait_ready()
    kube.kubectl("apply", "-f", "-", input=json.dumps(_gateway(namespace)))
    kube.kubectl("wait", "-n", namespace, "--for=condition=Ready", "--timeout=60s", "ibkrgateway/gw")

    # From nothing to Ready: every request the operator makes for the strategies is one the API server
    # and every watcher pay for, so it must stay within a budget per strategy.
    audit.mark()
    reconciles_before = _strategy_reconciles(first)
    kube.kubectl("apply", "-f", "-", input=_strategies(namespace, names))
    _wait_all_ready(kube, namespace, STRATEGIES)
    time.sleep(1.0)  # the writes of the last reconciles are in the log
    made = [r for r in audit.requests_since_mark(user) if r.resource != "leases"]
    reconciles = (_strategy_reconciles(first) - reconciles_before) / STRATEGIES
    print(
        f"requests for {STRATEGIES} strategies to Ready: {summarize(made)}; {reconciles:.1f} reconciles each"
    )
    # No reads: pods and claims come from the watch-fed cache, a new strategy needs no GET. (The
    # ServiceMonitor API is probed by a LIST at most once a minute.)
    reads = [r for r in made if r.verb in READ_VERBS and r.resource != "servicemonitors"]
    assert not reads, f"the operator read, per request: {summarize(reads)}"
    # Each child applied once: a child's own watch event (it was created, its status moved) changes
    # nothing to apply.
    applies = Counter(
        (r.resource, r.name) for r in made if r.verb == "patch" and not r.resource.endswith("/status")
    )
    assert applies, "no child applied: the audit log did not see the operator"
    twice = {k: n for k, n in applies.items() if n > 1}
    assert not twice, f"children applied more than once: {twice}"
    over = _over_status_budget(made)
    assert not over, f"status written more often than its budget: {over}"
    assert first.stop() == 0

    audit.mark()
    before = _resource_versions(kube, namespace)
    second = OperatorProcess(audited_operator_kubeconfig, namespace, tmp_path, "after-restart").start()
    operator_factory.append(second)
    second.wait_ready()
    wait_for(
        "every strategy reconciled once after the restart",
        lambda: (
            _metric(second, "spyops_operator_reconciled_objects", {"controller": "tradingstrategy"})
            >= STRATEGIES
        ),
        timeout=90,
    )
    time.sleep(3.0)  # anything a reconcile set off (a watch event, a requeue) has happened by now

    writes = [w for w in audit.writes_since_mark(user) if w.resource != "leases"]
    assert not writes, f"the restarted operator wrote: {summarize(writes)} (e.g. {writes[:5]})"
    after = _resource_versions(kube, namespace)
    changed = sorted(k for k in before if after.get(k) != before[k])
    assert not changed, f"objects changed across the restart: {changed[:10]}"
    # The audit log does see this user's writes (so an empty list above is not a blind spot).
    assert any(w.resource == "leases" for w in audit.writes_since_mark(user))


def test_failover_under_load_loses_and_duplicates_nothing(
    spyops_crds: KubeCluster,
    namespace: str,
    operator_sa_kubeconfig: Path,
    tmp_path: Path,
    operator_factory: list[OperatorProcess],
) -> None:
    kube = spyops_crds
    lease = LeaseTiming.client_go(11.0)
    replicas = []
    for identity in ("replica-a", "replica-b"):
        proc = OperatorProcess(
            operator_sa_kubeconfig, namespace, tmp_path, identity, ("--lease-duration", str(lease.duration))
        ).start()
        operator_factory.append(proc)
        proc.wait_ready()
        replicas.append(proc)
    leader, standby = replicas
    assert leader.get("/ready").json()["leader"] is True
    assert standby.get("/ready").json()["standby"] is True

    kube.kubectl("apply", "-f", "-", input=json.dumps(_gateway(namespace)))
    names = [f"s{i}" for i in range(STRATEGIES)]
    kube.kubectl("apply", "-f", "-", input=_strategies(namespace, names[: STRATEGIES // 2]))
    # Mid-apply: the leader has children of some strategies written, none of others.
    wait_for(
        "the leader to be reconciling",
        lambda: _metric(leader, "spyops_operator_reconciled_objects", {"controller": "tradingstrategy"}) >= 1,
        timeout=60,
        interval=0.05,
    )
    leader.kill()
    killed_at = time.monotonic()
    kube.kubectl("apply", "-f", "-", input=_strategies(namespace, names[STRATEGIES // 2 :]))
    wait_for(
        "the standby to lead",
        lambda: standby.get("/ready").json()["leader"] is True,
        timeout=lease.duration + 30,
        interval=0.1,
    )
    takeover = time.monotonic() - killed_at
    print(f"takeover {takeover:.2f}s after SIGKILL (lease {lease.duration:.0f}s)")
    # The standby claims the Lease once it has seen it unrenewed for the full duration; the leader's last
    # renewal was at most one retry period before the kill. A little slack for this loaded machine.
    assert takeover <= lease.duration + lease.renew_interval + 2.0

    _wait_all_ready(kube, namespace, STRATEGIES)
    assert_children_exactly_as_built(kube, namespace)
    deployments = get_json(kube, "deployments", "-n", namespace, "-l", MANAGED)["items"]
    replica_sets = get_json(kube, "replicasets", "-n", namespace)["items"]
    owners = sorted(rs["metadata"]["ownerReferences"][0]["name"] for rs in replica_sets)
    assert owners == sorted(d["metadata"]["name"] for d in deployments), "one ReplicaSet per Deployment"
