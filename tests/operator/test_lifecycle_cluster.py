"""The operator against the real control plane: create, observe, update, drift, delete."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from spyops.cluster.testing import KubeCluster
from spyops.common import metrics_text
from spyops.common.polling import wait_for
from tests.operator.support import (
    EXAMPLES,
    MANAGED,
    OperatorProcess,
    condition,
    get_json,
    managed_objects,
    secret_value,
)

pytestmark = pytest.mark.cluster
NEEDS_KWOK = "Ready needs the workload pods Running; they run an image nobody publishes, which only the embedded cluster's kwok node reports as Running"

STRATEGY_CHILDREN = [
    ("ConfigMap", "spy-0dte-config"),
    ("Deployment", "spy-0dte-bot"),
    ("Deployment", "spy-0dte-detector"),
    ("NetworkPolicy", "spy-0dte-bot"),
    ("NetworkPolicy", "spy-0dte-detector"),
    ("PersistentVolumeClaim", "spy-0dte-bot-state"),
    ("PersistentVolumeClaim", "spy-0dte-detector-state"),
    ("PodDisruptionBudget", "spy-0dte-bot"),
    ("Role", "spy-0dte-bot"),
    ("RoleBinding", "spy-0dte-bot"),
    ("Service", "spy-0dte-bot"),
    ("Service", "spy-0dte-detector"),
    ("ServiceAccount", "spy-0dte-bot"),
]
GATEWAY_CHILDREN = [
    ("NetworkPolicy", "paper-sim-gateway"),
    ("Role", "paper-sim-gateway"),
    ("RoleBinding", "paper-sim-gateway"),
    ("Service", "paper-sim"),
    ("ServiceAccount", "paper-sim-gateway"),
    ("StatefulSet", "paper-sim"),
]


def apply_examples(kube: KubeCluster, namespace: str) -> None:
    for name in ("ibkrgateway-simulator.yaml", "tradingstrategy.yaml", "vpnlink.yaml"):
        kube.kubectl("apply", "-n", namespace, "-f", str(EXAMPLES / name))


def wait_ready(kube: KubeCluster, namespace: str, *objects: str, timeout: int = 120) -> None:
    kube.kubectl(
        "wait",
        "-n",
        namespace,
        "--for=condition=Ready",
        f"--timeout={timeout}s",
        *objects,
        timeout=timeout + 30,
    )


def strategy(kube: KubeCluster, namespace: str, name: str = "spy-0dte") -> dict[str, Any]:
    return dict(get_json(kube, "tradingstrategy", name, "-n", namespace))


@pytest.mark.embedded_only(NEEDS_KWOK)
def test_examples_become_ready_with_all_children(
    spyops_crds: KubeCluster, namespace: str, operator: OperatorProcess
) -> None:
    kube = spyops_crds
    apply_examples(kube, namespace)
    expected = sorted(STRATEGY_CHILDREN + GATEWAY_CHILDREN)
    wait_for("every child", lambda: managed_objects(kube, namespace) == expected, timeout=60)
    wait_ready(kube, namespace, "ibkrgateway/paper-sim", "tradingstrategy/spy-0dte")

    pods = get_json(kube, "pods", "-n", namespace)["items"]
    phases = {p["metadata"]["name"]: p["status"].get("phase") for p in pods}
    assert len(pods) == 1 + 1 + 3, phases  # gateway, detector, three bots (kwok-simulated)
    assert set(phases.values()) == {"Running"}

    body = strategy(kube, namespace)
    status = body["status"]
    assert status["phase"] == "Running"
    assert status["observedGeneration"] == body["metadata"]["generation"]
    assert status["readyBots"] == "3/3"
    for kind in (
        "Ready",
        "Reconciling",
        "Stalled",
        "GatewayReady",
        "CloudLinkReady",
        "LeaderElected",
        "RiskHalted",
    ):
        assert condition(body, kind) is not None, kind
    assert condition(body, "Ready")["status"] == "True"  # type: ignore[index]
    # The example's VpnLink points at Azure without its Secret and probes a host that does not
    # exist here: the link is never Healthy, the strategy says so and trades anyway.
    link_condition = condition(body, "CloudLinkReady")
    assert link_condition is not None
    assert link_condition["reason"] in ("NotYetChecked", "LinkDegraded", "LinkDown"), link_condition

    table = kube.kubectl("get", "tradingstrategies", "-n", namespace).stdout
    header, row = table.splitlines()[:2]
    for column in ("READY", "PHASE", "STATE", "BOTS", "LEADER", "ORDERS", "P&L", "AGE"):
        assert column in header
    assert "True" in row
    assert "Running" in row
    assert "ACTIVE" in row
    assert "3/3" in row
    everything = kube.kubectl("get", "spyops", "-n", namespace).stdout
    for name in (
        "tradingstrategy.spyops.io/spy-0dte",
        "ibkrgateway.spyops.io/paper-sim",
        "vpnlink.spyops.io/azure-edge",
    ):
        assert name in everything
    gateways = kube.kubectl("get", "ibgw", "-n", namespace).stdout
    assert "simulator" in gateways
    assert "Ready" in gateways

    config = json.loads(
        get_json(kube, "configmap", "spy-0dte-config", "-n", namespace)["data"]["config.json"]
    )
    assert config["strategy"] == f"{namespace}/spy-0dte"
    assert config["gateway"]["host"] == f"paper-sim-0.paper-sim.{namespace}.svc"

    events = kube.kubectl(
        "get", "events", "-n", namespace, "--field-selector", "involvedObject.name=spy-0dte"
    ).stdout
    assert "Running" in events or "Ready" in events


@pytest.mark.embedded_only(NEEDS_KWOK)
def test_risk_change_rewrites_only_the_config_and_image_change_rolls(
    spyops_crds: KubeCluster, namespace: str, operator: OperatorProcess
) -> None:
    kube = spyops_crds
    apply_examples(kube, namespace)
    wait_ready(kube, namespace, "ibkrgateway/paper-sim", "tradingstrategy/spy-0dte")
    before = get_json(kube, "deployment", "spy-0dte-bot", "-n", namespace)
    pods_before = {
        p["metadata"]["uid"]
        for p in get_json(kube, "pods", "-n", namespace, "-l", "app.kubernetes.io/component=bot")["items"]
    }

    kube.kubectl(
        "patch",
        "tradingstrategy",
        "spy-0dte",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        json.dumps({"spec": {"risk": {"maxDailyLoss": 123.0}, "tradingState": "REDUCING"}}),
    )

    def config() -> dict[str, Any]:
        raw = get_json(kube, "configmap", "spy-0dte-config", "-n", namespace)["data"]["config.json"]
        return dict(json.loads(raw))

    wait_for("the new risk limit in the ConfigMap", lambda: config()["risk"]["max_daily_loss"] == 123.0)
    assert config()["trading_state"] == "REDUCING"
    wait_ready(kube, namespace, "tradingstrategy/spy-0dte")
    after = get_json(kube, "deployment", "spy-0dte-bot", "-n", namespace)
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    pods_after = {
        p["metadata"]["uid"]
        for p in get_json(kube, "pods", "-n", namespace, "-l", "app.kubernetes.io/component=bot")["items"]
    }
    assert pods_after == pods_before

    kube.kubectl(
        "patch",
        "tradingstrategy",
        "spy-0dte",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        json.dumps({"spec": {"image": "ghcr.io/spyops/spyops:next", "replicas": 2}}),
    )

    def rolled() -> bool:
        dep = get_json(kube, "deployment", "spy-0dte-bot", "-n", namespace)
        image = dep["spec"]["template"]["spec"]["containers"][0]["image"]
        return bool(image == "ghcr.io/spyops/spyops:next" and dep["spec"]["replicas"] == 2)

    wait_for("the new image and replica count on the bot Deployment", rolled)
    kube.kubectl(
        "rollout", "status", "deployment/spy-0dte-bot", "-n", namespace, "--timeout=120s", timeout=150
    )
    wait_ready(kube, namespace, "tradingstrategy/spy-0dte")
    pods = get_json(kube, "pods", "-n", namespace, "-l", "app.kubernetes.io/component=bot")["items"]
    live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    assert {p["spec"]["containers"][0]["image"] for p in live} == {"ghcr.io/spyops/spyops:next"}
    assert not ({p["metadata"]["uid"] for p in live} & pods_before)
    assert strategy(kube, namespace)["status"]["readyBots"] == "2/2"


@pytest.mark.embedded_only(NEEDS_KWOK)
def test_drift_is_restored(spyops_crds: KubeCluster, namespace: str, operator: OperatorProcess) -> None:
    kube = spyops_crds
    apply_examples(kube, namespace)
    wait_ready(kube, namespace, "ibkrgateway/paper-sim", "tradingstrategy/spy-0dte")
    original_uid = get_json(kube, "configmap", "spy-0dte-config", "-n", namespace)["metadata"]["uid"]

    kube.kubectl("delete", "configmap", "spy-0dte-config", "-n", namespace)
    wait_for(
        "the deleted ConfigMap to come back",
        lambda: (
            kube.kubectl(
                "get",
                "configmap",
                "spy-0dte-config",
                "-n",
                namespace,
                "-o",
                "jsonpath={.metadata.uid}",
                check=False,
            ).stdout
            not in ("", original_uid)
        ),
    )

    kube.kubectl("scale", "deployment", "spy-0dte-bot", "-n", namespace, "--replicas=1")
    wait_for(
        "the bot replicas to be set back to 3",
        lambda: get_json(kube, "deployment", "spy-0dte-bot", "-n", namespace)["spec"]["replicas"] == 3,
    )

    kube.kubectl(
        "patch",
        "configmap",
        "spy-0dte-config",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"data":{"config.json":"{}"}}',
    )
    wait_for(
        "the ConfigMap content to be restored",
        lambda: (
            json.loads(
                get_json(kube, "configmap", "spy-0dte-config", "-n", namespace)["data"]["config.json"]
            ).get("strategy")
            == f"{namespace}/spy-0dte"
        ),
    )

    kube.kubectl("delete", "networkpolicy", "paper-sim-gateway", "-n", namespace)
    wait_for(
        "the gateway NetworkPolicy to come back",
        lambda: (
            kube.kubectl("get", "networkpolicy", "paper-sim-gateway", "-n", namespace, check=False).returncode
            == 0
        ),
    )


@pytest.mark.embedded_only(NEEDS_KWOK)
def test_deleting_the_resources_removes_everything(
    spyops_crds: KubeCluster, namespace: str, operator: OperatorProcess
) -> None:
    kube = spyops_crds
    apply_examples(kube, namespace)
    wait_ready(kube, namespace, "ibkrgateway/paper-sim", "tradingstrategy/spy-0dte")
    assert managed_objects(kube, namespace)
    kube.kubectl("delete", "tradingstrategy", "spy-0dte", "-n", namespace, "--wait=true", "--timeout=60s")
    kube.kubectl("delete", "ibkrgateway", "paper-sim", "-n", namespace, "--wait=true", "--timeout=60s")
    wait_for("garbage collection of every child", lambda: managed_objects(kube, namespace) == [], timeout=90)
    wait_for(
        "the workload pods to go",
        lambda: get_json(kube, "pods", "-n", namespace)["items"] == [],
        timeout=90,
    )
    leftovers = get_json(kube, "replicasets,controllerrevisions,persistentvolumeclaims", "-n", namespace)[
        "items"
    ]
    assert leftovers == []
    for kind in ("tradingstrategies", "ibkrgateways"):
        assert get_json(kube, kind, "-n", namespace)["items"] == []
    assert kube.kubectl("get", "-n", namespace, "configmaps", "-l", MANAGED, "-o", "name").stdout == ""


@pytest.mark.embedded_only(NEEDS_KWOK)
def test_strategy_waits_for_its_gateway(
    spyops_crds: KubeCluster, namespace: str, operator: OperatorProcess
) -> None:
    kube = spyops_crds
    kube.kubectl("apply", "-n", namespace, "-f", str(EXAMPLES / "tradingstrategy.yaml"))

    def waiting() -> bool:
        gateway = condition(strategy(kube, namespace), "GatewayReady")
        return gateway is not None and gateway["reason"] == "GatewayNotFound"

    wait_for("GatewayNotFound on the strategy", waiting)
    body = strategy(kube, namespace)
    assert body["status"]["phase"] == "Pending"
    assert "paper-sim" in condition(body, "Ready")["message"]  # type: ignore[index]
    assert managed_objects(kube, namespace) == []

    kube.kubectl("apply", "-n", namespace, "-f", str(EXAMPLES / "ibkrgateway-simulator.yaml"))
    wait_ready(kube, namespace, "ibkrgateway/paper-sim", "tradingstrategy/spy-0dte")
    assert condition(strategy(kube, namespace), "GatewayReady")["status"] == "True"  # type: ignore[index]


def test_missing_credentials_are_a_condition_not_a_crash(
    spyops_crds: KubeCluster, namespace: str, operator: OperatorProcess
) -> None:
    kube = spyops_crds
    gateway = {
        "apiVersion": "spyops.io/v1alpha1",
        "kind": "IBKRGateway",
        "metadata": {"name": "live-ish"},
        "spec": {"tradingMode": "paper", "credentialsSecretRef": {"name": "ibkr-login"}},
    }
    kube.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(gateway))

    def creds_reason() -> str:
        found = condition(get_json(kube, "ibkrgateway", "live-ish", "-n", namespace), "CredentialsAvailable")
        return found["reason"] if found else ""

    wait_for("SecretNotFound", lambda: creds_reason() == "SecretNotFound")
    body = get_json(kube, "ibkrgateway", "live-ish", "-n", namespace)
    assert "ibkr-login" in condition(body, "CredentialsAvailable")["message"]  # type: ignore[index]
    assert body["status"]["phase"] == "Degraded", json.dumps(body["status"]["conditions"])

    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "ibkr-login"},
        "data": {"username": secret_value("paper-user")},
    }
    kube.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(secret))
    wait_for("SecretKeyMissing", lambda: creds_reason() == "SecretKeyMissing", timeout=90)
    assert operator.process is not None
    assert operator.process.poll() is None

    secret["data"]["password"] = secret_value("s3cret-value")  # type: ignore[index]
    kube.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(secret))
    wait_for("CredentialsFound", lambda: creds_reason() == "CredentialsFound", timeout=90)
    sts = json.dumps(get_json(kube, "statefulset", "live-ish", "-n", namespace))
    status = json.dumps(get_json(kube, "ibkrgateway", "live-ish", "-n", namespace))
    assert "s3cret-value" not in sts
    assert "s3cret-value" not in status
    assert "s3cret-value" not in operator.logs()
    assert secret_value("s3cret-value") not in operator.logs()


@pytest.mark.embedded_only(NEEDS_KWOK)
def test_metrics_and_health(spyops_crds: KubeCluster, namespace: str, operator: OperatorProcess) -> None:
    kube = spyops_crds
    apply_examples(kube, namespace)
    wait_ready(kube, namespace, "tradingstrategy/spy-0dte")
    assert operator.get("/health").status_code == 200
    ready = operator.get("/ready").json()
    assert ready["leader"] is True
    assert ready["watching"] is True
    text = operator.get("/metrics").text
    series = metrics_text.names(text)
    success = {"controller": "tradingstrategy", "result": "success"}
    assert metrics_text.value(text, "controller_runtime_reconcile_total", success) is not None
    assert "controller_runtime_reconcile_time_seconds_bucket" in series
    assert "controller_runtime_reconcile_errors_total" in series
    running = {"kind": "TradingStrategy", "phase": "Running"}
    assert metrics_text.value(text, "spyops_operator_managed_objects", running) == 1.0
    ours = {**running, "name": "spy-0dte", "namespace": namespace}
    assert metrics_text.value(text, "spyops_operator_object_phase", ours) == 1.0
    for line in operator.logs().splitlines():
        if line.startswith("{"):
            json.loads(line)


@pytest.mark.embedded_only(NEEDS_KWOK)
def test_only_one_of_two_replicas_reconciles(
    spyops_crds: KubeCluster,
    namespace: str,
    operator_sa_kubeconfig: Any,
    tmp_path: Any,
    operator_factory: list[OperatorProcess],
) -> None:
    kube = spyops_crds
    first = OperatorProcess(operator_sa_kubeconfig, namespace, tmp_path, identity="replica-a").start()
    operator_factory.append(first)
    first.wait_ready()
    second = OperatorProcess(operator_sa_kubeconfig, namespace, tmp_path, identity="replica-b").start()
    operator_factory.append(second)
    second.wait_ready()
    assert first.get("/ready").json()["leader"] is True
    standby = second.get("/ready").json()
    assert {k: standby[k] for k in ("ready", "leader", "watching", "standby")} == {
        "ready": True,
        "leader": False,
        "watching": False,
        "standby": True,
    }
    assert standby["checks"]["role"] == {"ok": True, "reason": "standby: another replica leads"}

    first.stop()  # a clean stop releases the Lease: the standby takes over at once
    wait_for("the standby to lead", lambda: second.get("/ready").json()["leader"] is True, timeout=60)
    apply_examples(kube, namespace)
    wait_ready(kube, namespace, "ibkrgateway/paper-sim", "tradingstrategy/spy-0dte")
    time.sleep(0.5)
    lease = get_json(kube, "lease", "spyops-operator", "-n", namespace)
    assert lease["spec"]["holderIdentity"] == "replica-b"
