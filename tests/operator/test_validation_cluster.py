"""Bad input is refused by the API server (OpenAPI schema + CEL), with a message naming the field."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from spyops.cluster.testing import KubeCluster

pytestmark = pytest.mark.cluster

STRATEGY: dict[str, Any] = {
    "apiVersion": "spyops.io/v1alpha1",
    "kind": "TradingStrategy",
    "metadata": {"name": "bad"},
    "spec": {"gatewayRef": {"name": "paper"}},
}
GATEWAY: dict[str, Any] = {
    "apiVersion": "spyops.io/v1alpha1",
    "kind": "IBKRGateway",
    "metadata": {"name": "bad"},
    "spec": {"simulator": {}},
}
VPNLINK: dict[str, Any] = {
    "apiVersion": "spyops.io/v1alpha1",
    "kind": "VpnLink",
    "metadata": {"name": "bad"},
    "spec": {
        "azure": {
            "subscriptionId": "00000000-0000-0000-0000-000000000000",
            "resourceGroup": "rg",
            "gatewayName": "gw",
            "connectionName": "conn",
            "credentialsSecretRef": {"name": "sp"},
        },
        "probes": {"targets": ["10.0.0.4:443"]},
    },
}


def with_spec(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``base`` with spec.<path> set (``None`` deletes it)."""
    body = copy.deepcopy(base)
    node = body
    *parents, leaf = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    if value is None:
        node.pop(leaf, None)
    else:
        node[leaf] = value
    return body


# (id, object, words the refusal must contain: the field and why)
CASES: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
    ("strategy-no-gateway", with_spec(STRATEGY, "spec.gatewayRef", None), ("spec.gatewayRef", "Required")),
    ("strategy-replicas-zero", with_spec(STRATEGY, "spec.replicas", 0), ("spec.replicas",)),
    ("strategy-replicas-too-many", with_spec(STRATEGY, "spec.replicas", 11), ("spec.replicas",)),
    (
        "strategy-bad-state",
        with_spec(STRATEGY, "spec.tradingState", "PANIC"),
        ("spec.tradingState", "ACTIVE"),
    ),
    ("strategy-bad-underlying", with_spec(STRATEGY, "spec.underlying", "spy"), ("spec.underlying",)),
    ("strategy-bad-expiry", with_spec(STRATEGY, "spec.expiryPolicy", "1DTE"), ("spec.expiryPolicy",)),
    ("strategy-zero-max-loss", with_spec(STRATEGY, "spec.risk.maxDailyLoss", 0), ("spec.risk.maxDailyLoss",)),
    (
        "strategy-negative-loss",
        with_spec(STRATEGY, "spec.risk.maxDailyLoss", -5),
        ("spec.risk.maxDailyLoss",),
    ),
    (
        "strategy-message-rate",
        with_spec(STRATEGY, "spec.risk.maxMessagesPerSecond", 51),
        ("spec.risk.maxMessagesPerSecond",),
    ),
    (
        "strategy-contracts-zero",
        with_spec(STRATEGY, "spec.risk.maxContractsPerOrder", 0),
        ("spec.risk.maxContractsPerOrder",),
    ),
    (
        "strategy-hours-format",
        with_spec(STRATEGY, "spec.risk.tradingHours", {"start": "9:30"}),
        ("spec.risk.tradingHours.start",),
    ),
    (
        "strategy-hours-order",
        with_spec(STRATEGY, "spec.risk.tradingHours", {"start": "15:00", "end": "10:00"}),
        ("spec.risk.tradingHours.start", "before"),
    ),
    (
        "strategy-order-type",
        with_spec(STRATEGY, "spec.execution.orderType", "STP"),
        ("spec.execution.orderType",),
    ),
    (
        "strategy-market-offset",
        with_spec(STRATEGY, "spec.execution", {"orderType": "MKT", "limitOffset": 0.1}),
        ("spec.execution.limitOffset", "LMT"),
    ),
    (
        "strategy-tif",
        with_spec(STRATEGY, "spec.execution.timeInForce", "FOK"),
        ("spec.execution.timeInForce",),
    ),
    (
        "strategy-strike-window-budget",
        with_spec(STRATEGY, "spec.detector", {"strikeWindow": 30, "maxMarketDataLines": 100}),
        ("spec.detector.strikeWindow", "maxMarketDataLines"),
    ),
    ("strategy-min-edge", with_spec(STRATEGY, "spec.detector.minEdge", -1), ("spec.detector.minEdge",)),
    (
        "strategy-rules-type",
        with_spec(STRATEGY, "spec.detector.rules", {"parity": "yes"}),
        ("spec.detector.rules",),
    ),
    (
        "strategy-backup-without-backend",
        with_spec(STRATEGY, "spec.outbound", {"backupUrl": "https://backup.example"}),
        ("spec.outbound.backupUrl", "backendUrl"),
    ),
    (
        "strategy-backend-url",
        with_spec(STRATEGY, "spec.outbound.backendUrl", "ftp://x"),
        ("spec.outbound.backendUrl",),
    ),
    (
        "strategy-client-id-range",
        with_spec(with_spec(STRATEGY, "spec.clientIdBase", 9990), "spec.replicas", 10),
        ("spec.clientIdBase",),
    ),
    ("strategy-lease", with_spec(STRATEGY, "spec.leaseDurationSeconds", 2), ("spec.leaseDurationSeconds",)),
    ("strategy-image", with_spec(STRATEGY, "spec.image", "bad image"), ("spec.image",)),
    (
        "strategy-resources",
        with_spec(STRATEGY, "spec.resources", {"bot": {"limits": {"memory": "lots"}}}),
        ("spec.resources.bot.limits.memory",),
    ),
    (
        "strategy-negative-cpu",
        with_spec(STRATEGY, "spec.resources", {"bot": {"requests": {"cpu": "-100m"}}}),
        ("spec.resources.bot.requests.cpu", "quantity zero or more"),
    ),
    (
        "strategy-negative-memory",
        with_spec(STRATEGY, "spec.resources", {"detector": {"limits": {"memory": "-1Gi"}}}),
        ("spec.resources.detector.limits.memory", "quantity zero or more"),
    ),
    (
        "strategy-malformed-quantity",
        with_spec(STRATEGY, "spec.resources", {"bot": {"limits": {"cpu": "1.2.3"}}}),
        ("spec.resources.bot.limits.cpu", "quantity"),
    ),
    (
        "strategy-request-over-limit",
        with_spec(
            STRATEGY,
            "spec.resources",
            {"bot": {"requests": {"memory": "1Gi"}, "limits": {"memory": "256Mi"}}},
        ),
        ("spec.resources.bot.requests.memory", "must not exceed limits.memory"),
    ),
    (
        "strategy-unknown-rule",
        with_spec(STRATEGY, "spec.detector.rules", {"parity": True, "gamma_squeeze": False}),
        ("spec.detector.rules", "known rules", "vertical_spread"),
    ),
    (
        "strategy-long-name",
        with_spec(STRATEGY, "metadata.name", "a" * 41),
        ("metadata.name", "40"),
    ),
    ("gateway-no-credentials", with_spec(GATEWAY, "spec.simulator", None), ("spec.credentialsSecretRef",)),
    (
        "gateway-live-simulator",
        with_spec(GATEWAY, "spec.tradingMode", "live"),
        ("spec.tradingMode", "live"),
    ),
    ("gateway-mode", with_spec(GATEWAY, "spec.tradingMode", "demo"), ("spec.tradingMode",)),
    ("gateway-port", with_spec(GATEWAY, "spec.apiPort", 80), ("spec.apiPort",)),
    ("gateway-storage", with_spec(GATEWAY, "spec.storage.size", "big"), ("spec.storage.size",)),
    (
        "gateway-negative-storage",
        with_spec(GATEWAY, "spec.storage.size", "-1Gi"),
        ("spec.storage.size", "greater than zero"),
    ),
    ("gateway-zero-storage", with_spec(GATEWAY, "spec.storage.size", "0"), ("spec.storage.size", "zero")),
    (
        "gateway-negative-cpu",
        with_spec(GATEWAY, "spec.resources", {"limits": {"cpu": "-1"}}),
        ("spec.resources.limits.cpu", "quantity zero or more"),
    ),
    (
        "gateway-restart-time",
        with_spec(GATEWAY, "spec.restartWindow.time", "25:00"),
        ("spec.restartWindow.time",),
    ),
    (
        "gateway-secret-name",
        with_spec(GATEWAY, "spec.credentialsSecretRef", {"name": "Bad_Name"}),
        ("spec.credentialsSecretRef.name",),
    ),
    (
        "vpn-subscription",
        with_spec(VPNLINK, "spec.azure.subscriptionId", "not-a-guid"),
        ("spec.azure.subscriptionId",),
    ),
    ("vpn-no-targets", with_spec(VPNLINK, "spec.probes.targets", []), ("spec.probes.targets",)),
    (
        "vpn-target-format",
        with_spec(VPNLINK, "spec.probes.targets", ["no-port"]),
        ("spec.probes.targets[0]",),
    ),
    (
        "vpn-timeout-interval",
        with_spec(VPNLINK, "spec.probes", {"targets": ["a:1"], "intervalSeconds": 5, "timeoutSeconds": 5}),
        ("spec.probes.timeoutSeconds", "intervalSeconds"),
    ),
    (
        "vpn-no-credentials",
        with_spec(VPNLINK, "spec.azure.credentialsSecretRef", None),
        ("spec.azure.credentialsSecretRef",),
    ),
    (
        "vpn-both-credentials",
        with_spec(VPNLINK, "spec.azure.useManagedIdentity", True),
        ("spec.azure.useManagedIdentity",),
    ),
    (
        "vpn-backup-without-url",
        with_spec(VPNLINK, "spec.failover", {"outboundAction": "backup"}),
        ("spec.failover.backupUrl",),
    ),
    (
        "vpn-action",
        with_spec(VPNLINK, "spec.failover", {"outboundAction": "drop"}),
        ("spec.failover.outboundAction",),
    ),
    (
        "vpn-threshold",
        with_spec(VPNLINK, "spec.failover", {"failureThreshold": 0}),
        ("spec.failover.failureThreshold",),
    ),
    (
        "vpn-endpoint",
        with_spec(VPNLINK, "spec.azure.endpoint", "management.azure.com"),
        ("spec.azure.endpoint",),
    ),
    (
        "strategy-otlp-without-endpoint",
        with_spec(STRATEGY, "spec.tracing", {"exporter": "otlp"}),
        ("spec.tracing.otlpEndpoint", "exporter otlp needs otlpEndpoint"),
    ),
    (
        "strategy-azure-monitor-without-secret",
        with_spec(STRATEGY, "spec.tracing", {"exporter": "azureMonitor"}),
        ("spec.tracing.connectionStringSecretRef",),
    ),
    (
        "strategy-tracing-exporter",
        with_spec(STRATEGY, "spec.tracing", {"exporter": "jaeger"}),
        ("spec.tracing.exporter",),
    ),
    (
        "strategy-sampling-ratio",
        with_spec(STRATEGY, "spec.tracing", {"samplingRatio": 1.5}),
        ("spec.tracing.samplingRatio",),
    ),
    (
        "vpn-ca-without-endpoint",
        with_spec(VPNLINK, "spec.azure.caBundleSecretRef", {"name": "ca"}),
        ("spec.azure.caBundleSecretRef",),
    ),
]


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize(("body", "words"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_naming_the_field(
    spyops_crds: KubeCluster, namespace: str, body: dict[str, Any], words: tuple[str, ...]
) -> None:
    result = spyops_crds.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(body), check=False)
    assert result.returncode != 0, f"accepted: {result.stdout}"
    message = result.stderr
    for word in words:
        assert word in message, f"{word!r} not in: {message}"
    kind = body["kind"].lower()
    assert spyops_crds.kubectl("get", kind, "-n", namespace, "-o", "name").stdout == ""


def test_the_base_objects_are_valid(spyops_crds: KubeCluster, namespace: str) -> None:
    for body in (STRATEGY, GATEWAY, VPNLINK):
        spyops_crds.kubectl("apply", "--dry-run=server", "-n", namespace, "-f", "-", input=json.dumps(body))


def test_quantities_and_rule_names_that_can_work_are_admitted(
    spyops_crds: KubeCluster, namespace: str
) -> None:
    strategy = with_spec(
        with_spec(
            STRATEGY,
            "spec.resources",
            {"bot": {"requests": {"cpu": "0", "memory": "256Mi"}, "limits": {"memory": "0.5Gi"}}},
        ),
        "spec.detector.rules",
        {"parity": False, "spread_blowout": True},
    )
    gateway = with_spec(GATEWAY, "spec.storage.size", "512Mi")
    for body in (strategy, gateway):
        spyops_crds.kubectl("apply", "--dry-run=server", "-n", namespace, "-f", "-", input=json.dumps(body))


def test_underlying_is_immutable(spyops_crds: KubeCluster, namespace: str) -> None:
    spyops_crds.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(STRATEGY))
    changed = with_spec(STRATEGY, "spec.underlying", "QQQ")
    result = spyops_crds.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(changed), check=False)
    assert result.returncode != 0
    assert "spec.underlying" in result.stderr
    assert "immutable" in result.stderr
