"""The pure builders: what the operator writes for a gateway and a strategy."""

from __future__ import annotations

import json
from typing import Any

import pytest

from spyops.operator.api.gateway import IBKRGatewaySpec
from spyops.operator.api.strategy import TradingStrategySpec
from spyops.operator.builders.common import FIELD_MANAGER, Owner
from spyops.operator.builders.gateway import GatewayInputs, build_gateway_children
from spyops.operator.builders.strategy import StrategyInputs, build_strategy_children
from spyops.operator.render import GatewayTarget, render_runtime_config

OWNER = Owner("TradingStrategy", "alpha", "trading", "uid-1")
GW_OWNER = Owner("IBKRGateway", "paper", "trading", "uid-2")


def strategy_children(spec: dict[str, Any], service_monitor: bool = False) -> dict[str, dict[str, Any]]:
    parsed = TradingStrategySpec.model_validate({"gatewayRef": {"name": "paper"}, **spec})
    config = render_runtime_config("trading", "alpha", parsed, GatewayTarget("h", 4002, "paper"), None)
    children = build_strategy_children(StrategyInputs(OWNER, parsed, config, "img:1", service_monitor))
    return {f"{c['kind']}/{c['metadata']['name']}": c for c in children}


def gateway_children(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    parsed = IBKRGatewaySpec.model_validate(spec)
    children = build_gateway_children(GatewayInputs(GW_OWNER, parsed, "spyops:1"))
    return {f"{c['kind']}/{c['metadata']['name']}": c for c in children}


def test_strategy_children_are_complete_and_owned() -> None:
    children = strategy_children({})
    assert sorted(children) == [
        "ConfigMap/alpha-config",
        "Deployment/alpha-bot",
        "Deployment/alpha-detector",
        "NetworkPolicy/alpha-bot",
        "NetworkPolicy/alpha-detector",
        "PersistentVolumeClaim/alpha-bot-state",
        "PersistentVolumeClaim/alpha-detector-state",
        "PodDisruptionBudget/alpha-bot",
        "Role/alpha-bot",
        "RoleBinding/alpha-bot",
        "Service/alpha-bot",
        "Service/alpha-detector",
        "ServiceAccount/alpha-bot",
    ]
    for child in children.values():
        assert child["metadata"]["namespace"] == "trading"
        (ref,) = child["metadata"]["ownerReferences"]
        assert ref == {
            "apiVersion": "spyops.io/v1alpha1",
            "kind": "TradingStrategy",
            "name": "alpha",
            "uid": "uid-1",
            "controller": True,
            "blockOwnerDeletion": True,
        }
        assert child["metadata"]["labels"]["app.kubernetes.io/managed-by"] == FIELD_MANAGER


def test_service_monitor_only_when_asked() -> None:
    assert "ServiceMonitor/alpha" in strategy_children({}, service_monitor=True)
    assert not any(k.startswith("ServiceMonitor/") for k in strategy_children({}))


def test_service_monitor_labels_series_with_strategy_and_component() -> None:
    monitor = strategy_children({}, service_monitor=True)["ServiceMonitor/alpha"]
    relabelings = monitor["spec"]["endpoints"][0]["relabelings"]
    assert {
        "sourceLabels": ["__meta_kubernetes_pod_label_spyops_io_strategy"],
        "targetLabel": "strategy",
    } in relabelings
    assert {
        "sourceLabels": ["__meta_kubernetes_pod_label_app_kubernetes_io_component"],
        "targetLabel": "component",
    } in relabelings


def test_bot_deployment_is_hardened_and_rolls_safely() -> None:
    bot = strategy_children({"replicas": 4})["Deployment/alpha-bot"]
    spec = bot["spec"]
    assert spec["replicas"] == 4
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["allowPrivilegeEscalation"] is False
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["resources"]["requests"]["cpu"]
    assert container["command"] == [
        "spyops", "bot", "--config", "/etc/spyops/config.json", "--state-dir", "/var/lib/spyops",
    ]  # fmt: skip
    env = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in container["env"]}
    assert env == {"POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace"}
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["config"]["mountPath"] == "/etc/spyops"
    assert "subPath" not in mounts["config"]
    assert mounts["state"]["mountPath"] == "/var/lib/spyops"
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["state"] == {"name": "state", "persistentVolumeClaim": {"claimName": "alpha-bot-state"}}
    assert pod["serviceAccountName"] == "alpha-bot"


def test_state_claims_follow_the_spec_and_outlive_pods() -> None:
    """Journal and outboxes live on claims the strategy owns (not emptyDir): a pod's deletion loses nothing."""
    children = strategy_children({})
    for component in ("bot", "detector"):
        claim = children[f"PersistentVolumeClaim/alpha-{component}-state"]
        assert claim["spec"] == {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
        }
        assert claim["metadata"]["ownerReferences"][0]["kind"] == "TradingStrategy"
    detector = children["Deployment/alpha-detector"]["spec"]["template"]["spec"]
    (container,) = detector["containers"]
    assert container["command"][-2:] == ["--outbox", "/var/lib/spyops/outbox.sqlite3"]
    assert {"name": "state", "mountPath": "/var/lib/spyops"} in container["volumeMounts"]
    assert not [v for v in detector["volumes"] if v["name"] == "state" and "emptyDir" in v]
    sized = strategy_children({"storage": {"size": "10Gi", "storageClassName": "fast"}})
    claim = sized["PersistentVolumeClaim/alpha-bot-state"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert claim["spec"]["storageClassName"] == "fast"
    # Claims come before the workloads that mount them.
    kinds = [key.split("/")[0] for key in children]
    assert kinds.index("PersistentVolumeClaim") < kinds.index("Deployment")


def test_risk_and_trading_state_change_only_the_config_map() -> None:
    before = strategy_children({})
    after = strategy_children({"risk": {"maxDailyLoss": 250.0}, "tradingState": "HALTED"})
    changed = sorted(k for k in before if before[k] != after[k])
    assert changed == ["ConfigMap/alpha-config"]
    config = json.loads(after["ConfigMap/alpha-config"]["data"]["config.json"])
    assert config["risk"]["max_daily_loss"] == 250.0
    assert config["trading_state"] == "HALTED"


def test_image_and_replicas_change_the_pod_spec() -> None:
    before = strategy_children({})
    after = strategy_children({"image": "spyops:2", "replicas": 5})
    bot_before, bot_after = before["Deployment/alpha-bot"], after["Deployment/alpha-bot"]
    assert bot_after["spec"]["template"]["spec"]["containers"][0]["image"] == "spyops:2"
    assert bot_before["spec"]["template"] != bot_after["spec"]["template"]
    assert bot_after["spec"]["replicas"] == 5


def test_suspend_scales_to_zero() -> None:
    children = strategy_children({"suspend": True})
    assert children["Deployment/alpha-bot"]["spec"]["replicas"] == 0
    assert children["Deployment/alpha-detector"]["spec"]["replicas"] == 0


def test_bot_role_grants_exactly_lease_and_own_status() -> None:
    role = strategy_children({})["Role/alpha-bot"]
    rules = {
        (tuple(r["resources"]), tuple(r["verbs"]), tuple(r.get("resourceNames", ()))) for r in role["rules"]
    }
    assert rules == {
        (("leases",), ("get", "update"), ("alpha-leader",)),
        (("leases",), ("create",), ()),
        (("tradingstrategies",), ("get",), ("alpha",)),
        (("tradingstrategies/status",), ("get", "patch"), ("alpha",)),
    }
    for rule in role["rules"]:
        assert "*" not in rule["verbs"]
        assert "*" not in rule["resources"]


def test_backend_token_is_mounted_from_the_secret_into_detector_and_bots() -> None:
    children = strategy_children(
        {
            "outbound": {
                "backendUrl": "https://backend.example",
                "tokenSecretRef": {"name": "tok", "key": "token"},
            }
        }
    )
    for deployment in ("Deployment/alpha-bot", "Deployment/alpha-detector"):
        pod = children[deployment]["spec"]["template"]["spec"]
        volume = next(v for v in pod["volumes"] if v["name"] == "backend-token")
        assert volume["secret"]["secretName"] == "tok"
        mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "backend-token")
        assert mount == {
            "name": "backend-token",
            "mountPath": "/var/run/secrets/spyops/backend",
            "readOnly": True,
        }
    config = json.loads(children["ConfigMap/alpha-config"]["data"]["config.json"])
    assert config["outbound"]["token_file"] == "/var/run/secrets/spyops/backend/token"


def test_simulator_gateway_runs_project_image_without_claims() -> None:
    children = gateway_children({"simulator": {"scenario": "anomalies", "seed": 7}})
    assert sorted(children) == [
        "NetworkPolicy/paper-gateway",
        "Role/paper-gateway",
        "RoleBinding/paper-gateway",
        "Service/paper",
        "ServiceAccount/paper-gateway",
        "StatefulSet/paper",
    ]
    sts = children["StatefulSet/paper"]["spec"]
    assert sts["replicas"] == 1
    assert "volumeClaimTemplates" not in sts
    (container,) = sts["template"]["spec"]["containers"]
    assert container["image"] == "spyops:1"
    assert container["command"][:2] == ["spyops", "gateway-sim"]
    assert "--scenario" in container["command"]
    assert "anomalies" in container["command"]
    assert container["readinessProbe"]["exec"]["command"][:2] == ["spyops", "gateway-probe"]
    assert children["Service/paper"]["spec"]["clusterIP"] == "None"


def test_real_gateway_reads_credentials_only_by_reference() -> None:
    children = gateway_children(
        {
            "tradingMode": "paper",
            "credentialsSecretRef": {"name": "ibkr", "usernameKey": "u", "passwordKey": "p"},
        }
    )
    sts = children["StatefulSet/paper"]["spec"]
    containers = {c["name"]: c for c in sts["template"]["spec"]["containers"]}
    env = {e["name"]: e for e in containers["gateway"]["env"]}
    assert env["TWS_USERID"]["valueFrom"]["secretKeyRef"] == {"name": "ibkr", "key": "u"}
    assert env["TWS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "ibkr", "key": "p"}
    assert "value" not in env["TWS_PASSWORD"]
    assert containers["gateway"]["image"] == "ghcr.io/gnzsnz/ib-gateway:stable"
    assert containers["api-probe"]["readinessProbe"]["exec"]["command"][1] == "gateway-probe"
    assert sts["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert sts["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


GATEWAYS = [
    {"simulator": {}},
    {"tradingMode": "paper", "credentialsSecretRef": {"name": "ibkr"}},
]


@pytest.mark.parametrize("spec", GATEWAYS, ids=["simulator", "ib-gateway"])
def test_the_api_probe_alone_may_patch_its_gateways_status(spec: dict[str, Any]) -> None:
    """serverVersion and lastRestart come from the handshake probe, as the gateway's own account."""
    children = gateway_children(spec)
    role = children["Role/paper-gateway"]
    assert role["rules"] == [
        {
            "apiGroups": ["spyops.io"],
            "resources": ["ibkrgateways/status"],
            "resourceNames": ["paper"],
            "verbs": ["patch"],
        }
    ]
    binding = children["RoleBinding/paper-gateway"]
    assert binding["roleRef"]["name"] == "paper-gateway"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "paper-gateway", "namespace": "trading"}
    ]
    pod = children["StatefulSet/paper"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "paper-gateway"
    assert pod["automountServiceAccountToken"] is False  # the token goes to the probe's container only
    token_volume = next(v for v in pod["volumes"] if "projected" in v)
    sources = token_volume["projected"]["sources"]
    assert sources[0]["serviceAccountToken"]["expirationSeconds"] == 3600
    with_token = [
        c["name"]
        for c in pod["containers"]
        if any(m["name"] == token_volume["name"] for m in c.get("volumeMounts", []))
    ]
    probing = [c["name"] for c in pod["containers"] if "readinessProbe" in c]
    assert with_token == probing
    assert "gateway" not in with_token or "simulator" in spec  # never the IB Gateway container
    (prober,) = (c for c in pod["containers"] if "readinessProbe" in c)
    command = prober["readinessProbe"]["exec"]["command"]
    assert command[command.index("--gateway") + 1] == "paper"
    assert command[command.index("--namespace") + 1] == "trading"
    state_file = command[command.index("--state-file") + 1]
    assert any(state_file.startswith(m["mountPath"] + "/") for m in prober["volumeMounts"])


def test_gateway_network_policy_admits_only_strategy_pods() -> None:
    policy = gateway_children({"simulator": {}})["NetworkPolicy/paper-gateway"]["spec"]
    (rule,) = policy["ingress"]
    assert rule["from"] == [{"podSelector": {"matchLabels": {"spyops.io/trading-client": "true"}}}]
    assert policy["policyTypes"] == ["Ingress"]


@pytest.mark.parametrize("component", ["detector", "bot"])
def test_strategy_pods_may_reach_the_gateway(component: str) -> None:
    deployment = strategy_children({})[f"Deployment/alpha-{component}"]
    assert deployment["spec"]["template"]["metadata"]["labels"]["spyops.io/trading-client"] == "true"


def _env(children: dict[str, dict[str, Any]], deployment: str) -> dict[str, Any]:
    (container,) = children[deployment]["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_tracing_off_renders_no_opentelemetry_environment() -> None:
    children = strategy_children({})
    for deployment in ("Deployment/alpha-detector", "Deployment/alpha-bot"):
        assert not [
            name for name in _env(children, deployment) if name.startswith(("OTEL_", "APPLICATIONINSIGHTS"))
        ]


def test_tracing_to_a_collector_renders_the_otlp_environment() -> None:
    children = strategy_children(
        {
            "tracing": {
                "exporter": "otlp",
                "otlpEndpoint": "http://otel:4317",
                "otlpProtocol": "grpc",
                "samplingRatio": 0.25,
            }
        }
    )
    for component in ("detector", "bot"):
        env = _env(children, f"Deployment/alpha-{component}")
        assert env["OTEL_TRACES_EXPORTER"] == "otlp"
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel:4317"
        assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "grpc"
        assert env["OTEL_TRACES_SAMPLER_ARG"] == "0.25"
        assert env["OTEL_SERVICE_NAME"] == f"spyops-{component}"


def test_tracing_to_application_insights_reads_the_connection_string_from_the_secret() -> None:
    children = strategy_children(
        {
            "tracing": {
                "exporter": "azureMonitor",
                "connectionStringSecretRef": {"name": "appinsights", "key": "connection-string"},
            }
        }
    )
    for component in ("detector", "bot"):
        env = _env(children, f"Deployment/alpha-{component}")
        assert env["OTEL_TRACES_EXPORTER"] == "azure_monitor"
        assert env["APPLICATIONINSIGHTS_CONNECTION_STRING"] == {
            "secretKeyRef": {"name": "appinsights", "key": "connection-string"}
        }
