"""End to end on the real node, as a user deploys it: the chart installs the operator as a pod (its own
ServiceAccount and RBAC), the examples give a gateway simulator, a detector and three bots as real
containers, and they trade; logs are JSON; readiness gates Ready; failures show on the CR status."""

from __future__ import annotations

import json
import time

import pytest

from spyops.cluster.kubectl import run_kubectl
from spyops.cluster.node.deploy import (
    GATEWAY,
    OPERATOR_NAMESPACE,
    STRATEGY,
    apply_examples,
    condition,
    get_json,
    helm_install,
    orders_at_gateway,
    pod_start_seconds,
    wait_for,
)
from spyops.cluster.testing import RealNodeKube
from spyops.operator.main import DEFAULT_WORKLOAD_IMAGE
from spyops.toolchain.helm import ensure_helm

pytestmark = [pytest.mark.realnode, pytest.mark.timeout(1200)]


@pytest.fixture(scope="module")
def installed(real_node: RealNodeKube) -> RealNodeKube:
    helm_install(real_node.kubeconfig, ensure_helm())
    return real_node


def test_chart_runs_the_operator_as_a_pod_with_its_own_identity(installed: RealNodeKube) -> None:
    pods = get_json(installed.kubeconfig, "pods", "-n", OPERATOR_NAMESPACE)["items"]
    assert len(pods) == 1
    pod = pods[0]
    assert pod["spec"]["serviceAccountName"] == "spyops"
    assert pod["spec"]["containers"][0]["image"] == DEFAULT_WORKLOAD_IMAGE
    assert condition(pod, "Ready").get("status") == "True"
    # Its RBAC is the chart's ClusterRole, not cluster-admin.
    can = run_kubectl(
        installed.kubeconfig, "auth", "can-i", "delete", "deployments", "--as",
        f"system:serviceaccount:{OPERATOR_NAMESPACE}:spyops", check=False,
    )  # fmt: skip
    assert can.stdout.strip() == "no"


def _json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_examples_trade_in_real_containers(installed: RealNodeKube) -> None:
    kube = installed.kubeconfig
    namespace = "trading"
    run_kubectl(kube, "create", "namespace", namespace)
    applied = apply_examples(kube, namespace)
    run_kubectl(
        kube, "wait", "-n", namespace, "--for=condition=Ready", f"ibkrgateway/{GATEWAY}",
        f"tradingstrategy/{STRATEGY}", "--timeout=300s", timeout=330,
    )  # fmt: skip
    strategy = get_json(kube, "tradingstrategy", STRATEGY, "-n", namespace)
    assert strategy["status"]["readyBots"] == "3/3"
    assert strategy["status"]["detectorReady"] is True

    orders = wait_for("an order at the gateway simulator", lambda: orders_at_gateway(kube, namespace), 300, 3)
    first_order_seconds = time.time() - applied
    assert orders

    # One leader among the three bot pods, named on the strategy and holding the Lease.
    bots = get_json(kube, "pods", "-n", namespace, "-l", "app.kubernetes.io/component=bot")["items"]
    names = {p["metadata"]["name"] for p in bots}
    assert len(names) == 3
    leader = wait_for(
        "the strategy's leader",
        lambda: get_json(kube, "tradingstrategy", STRATEGY, "-n", namespace)["status"].get("leader"),
        60,
    )
    assert leader in names

    # Real containers: non-root, read-only root filesystem, JSON logs.
    uid = run_kubectl(kube, "exec", "-n", namespace, leader, "--", "id", "-u").stdout.strip()
    assert uid == "10001"
    touch = run_kubectl(kube, "exec", "-n", namespace, leader, "--", "touch", "/opt/x", check=False)
    assert touch.returncode != 0
    assert "Read-only file system" in touch.stderr
    for selector in ("app.kubernetes.io/component=gateway", "app.kubernetes.io/component=detector"):
        logs = run_kubectl(kube, "logs", "-n", namespace, "-l", selector, "--tail=50").stdout
        assert _json_lines(logs), f"no JSON log lines from {selector}: {logs[:500]}"
    assert _json_lines(run_kubectl(kube, "logs", "-n", namespace, leader, "--tail=50").stdout)

    starts = pod_start_seconds(kube, namespace)
    assert set(starts) >= {"gateway", "detector", "bot"}
    # The seeds promise pod start-up under 30 s.
    assert all(seconds < 30 for values in starts.values() for seconds in values), starts
    print(json.dumps({"first_order_seconds": round(first_order_seconds, 1), "pod_start_seconds": starts}))


def test_failures_are_explained_on_the_status(installed: RealNodeKube) -> None:
    kube = installed.kubeconfig
    namespace = "failures"
    run_kubectl(kube, "create", "namespace", namespace)
    broken = """
apiVersion: spyops.io/v1alpha1
kind: IBKRGateway
metadata: {name: broken}
spec:
  tradingMode: paper
  simulator: {scenario: volatile}
---
apiVersion: spyops.io/v1alpha1
kind: IBKRGateway
metadata: {name: paper-sim}
spec:
  tradingMode: paper
  simulator: {scenario: calm}
---
apiVersion: spyops.io/v1alpha1
kind: TradingStrategy
metadata: {name: no-image}
spec:
  gatewayRef: {name: paper-sim}
  replicas: 1
  image: ghcr.io/spyops/does-not-exist:0.0.0
"""
    run_kubectl(kube, "apply", "-n", namespace, "-f", "-", input=broken)

    def crashed() -> dict[str, object]:
        ready = condition(get_json(kube, "ibkrgateway", "broken", "-n", namespace), "Ready")
        return ready if ready.get("reason") == "CrashLoopBackOff" else {}

    ready = wait_for("CrashLoopBackOff on IBKRGateway/broken", crashed, 180, 3)
    message = str(ready["message"])
    assert "gateway pod broken-0" in message
    assert "exits with code" in message
    assert "unknown scenario 'volatile'" in message  # the container's last log line
    stalled = condition(get_json(kube, "ibkrgateway", "broken", "-n", namespace), "Stalled")
    assert stalled.get("status") == "True"

    def pull_failed() -> dict[str, object]:
        ready = condition(get_json(kube, "tradingstrategy", "no-image", "-n", namespace), "Ready")
        return ready if ready.get("reason") == "ImagePullBackOff" else {}

    ready = wait_for("ImagePullBackOff on TradingStrategy/no-image", pull_failed, 240, 3)
    assert "ghcr.io/spyops/does-not-exist:0.0.0" in str(ready["message"])
    events = run_kubectl(
        kube, "get", "events", "-n", namespace, "--field-selector", "reason=ImagePullBackOff"
    ).stdout
    assert "no-image" in events or "TradingStrategy" in events
