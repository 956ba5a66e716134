"""Specs that pass the schema but cannot work, and children the API server refuses, as kstatus sees them.

kstatus (cli-utils' ``status.Compute``, what Flux uses for health checks) is built from its Go module
(``spyops.toolchain.kstatus``). A healthy object must be Current; one whose spec cannot work, or
whose children are refused, must be Stalled with the reason named and never Current.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from spyops.cluster.testing import KubeCluster
from spyops.common.polling import wait_for
from spyops.toolchain.kstatus import Verdict, compute, ensure_kstatus
from tests.operator.support import (
    EXAMPLES,
    OperatorProcess,
    condition,
    get_json,
    managed_objects,
)

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="session")
def kstatus() -> Path:
    return ensure_kstatus()


def verdicts(kube: KubeCluster, namespace: str, kstatus: Path, kinds: str) -> dict[str, Verdict]:
    listing = get_json(kube, kinds, "-n", namespace)
    return {f"{v.kind}/{v.name}": v for v in compute(listing, kstatus)}


def events(kube: KubeCluster, namespace: str, name: str) -> list[dict[str, Any]]:
    items = get_json(kube, "events.events.k8s.io", "-n", namespace)["items"]
    return [e for e in items if e.get("regarding", {}).get("name") == name]


def stalled(kube: KubeCluster, namespace: str, kind: str, name: str) -> dict[str, Any] | None:
    found = condition(get_json(kube, kind, name, "-n", namespace), "Stalled")
    return found if found is not None and found["status"] == "True" else None


def apply(kube: KubeCluster, namespace: str, body: dict[str, Any]) -> None:
    kube.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(body))


GATEWAY = {
    "apiVersion": "spyops.io/v1alpha1",
    "kind": "IBKRGateway",
    "metadata": {"name": "gw"},
    "spec": {"simulator": {}},
}


def strategy(timezone: str = "America/New_York") -> dict[str, Any]:
    return {
        "apiVersion": "spyops.io/v1alpha1",
        "kind": "TradingStrategy",
        "metadata": {"name": "strat"},
        "spec": {"gatewayRef": {"name": "gw"}, "risk": {"tradingHours": {"timezone": timezone}}},
    }


@pytest.mark.embedded_only(
    "Ready needs the workload pods Running; the pods run an image nobody publishes, which only the "
    "embedded cluster's kwok node reports as Running"
)
def test_healthy_examples_are_current(
    spyops_crds: KubeCluster, namespace: str, operator: OperatorProcess, kstatus: Path
) -> None:
    kube = spyops_crds
    for name in ("ibkrgateway-simulator.yaml", "tradingstrategy.yaml"):
        kube.kubectl("apply", "-n", namespace, "-f", str(EXAMPLES / name))

    def current() -> dict[str, Verdict] | None:
        found = verdicts(kube, namespace, kstatus, "ibkrgateways,tradingstrategies")
        return found if {v.status for v in found.values()} == {"Current"} else None

    found = wait_for("kstatus Current for the gateway and the strategy", current, timeout=120)
    assert sorted(found) == ["IBKRGateway/paper-sim", "TradingStrategy/spy-0dte"]


def test_unknown_time_zones_stall_with_the_field_named_and_an_event(
    spyops_crds: KubeCluster, namespace: str, operator: OperatorProcess, kstatus: Path
) -> None:
    kube = spyops_crds
    apply(
        kube, namespace, {**GATEWAY, "spec": {"simulator": {}, "restartWindow": {"timezone": "Mars/Olympus"}}}
    )
    apply(kube, namespace, strategy("America/Nowhere"))
    wait_for("the gateway to stall", lambda: stalled(kube, namespace, "ibkrgateway", "gw"))
    wait_for("the strategy to stall", lambda: stalled(kube, namespace, "tradingstrategy", "strat"))

    gateway_stall = stalled(kube, namespace, "ibkrgateway", "gw")
    strategy_stall = stalled(kube, namespace, "tradingstrategy", "strat")
    assert gateway_stall is not None
    assert strategy_stall is not None
    assert gateway_stall["reason"] == strategy_stall["reason"] == "InvalidSpec"
    assert gateway_stall["message"].startswith("spec.restartWindow.timezone: ")
    assert "'Mars/Olympus' is not a time zone of the tz database" in gateway_stall["message"]
    assert strategy_stall["message"].startswith("spec.risk.tradingHours.timezone: ")
    assert get_json(kube, "tradingstrategy", "strat", "-n", namespace)["status"]["phase"] == "Stalled"
    assert managed_objects(kube, namespace) == [], "nothing is rendered from a spec that cannot work"

    found = verdicts(kube, namespace, kstatus, "ibkrgateways,tradingstrategies")
    assert {name: v.status for name, v in found.items()} == {
        "IBKRGateway/gw": "Failed",
        "TradingStrategy/strat": "Failed",
    }
    assert "spec.risk.tradingHours.timezone" in found["TradingStrategy/strat"].message

    for name, field in (("gw", "spec.restartWindow.timezone"), ("strat", "spec.risk.tradingHours.timezone")):

        def warned(name: str = name, field: str = field) -> list[dict[str, Any]]:
            return [
                e
                for e in events(kube, namespace, name)
                if e["type"] == "Warning" and e["reason"] == "InvalidSpec" and field in e["note"]
            ]

        wait_for(f"a Warning Event naming {field}", warned, timeout=30)

    # Fixing the spec clears the stall.
    apply(kube, namespace, strategy("America/Chicago"))
    wait_for(
        "the strategy to leave Stalled",
        lambda: (
            condition(get_json(kube, "tradingstrategy", "strat", "-n", namespace), "Stalled")["status"]  # type: ignore[index]
            == "False"
        ),
    )
    assert verdicts(kube, namespace, kstatus, "tradingstrategies")["TradingStrategy/strat"].status != "Failed"


def test_a_child_the_api_server_refuses_shows_on_the_owner(
    spyops_crds: KubeCluster, namespace: str, operator: OperatorProcess, kstatus: Path
) -> None:
    kube = spyops_crds
    # A quota nobody told the operator about: no new ConfigMap may be created in the namespace.
    quota = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "no-configmaps"},
        "spec": {"hard": {"configmaps": "0"}},
    }
    apply(kube, namespace, quota)
    apply(kube, namespace, GATEWAY)
    apply(kube, namespace, strategy())
    wait_for(
        "the strategy to stall", lambda: stalled(kube, namespace, "tradingstrategy", "strat"), timeout=60
    )

    stall = stalled(kube, namespace, "tradingstrategy", "strat")
    assert stall is not None
    assert stall["reason"] == "ChildRefused"
    assert stall["message"].startswith("ConfigMap strat-config refused by the API server (403 Forbidden): ")
    assert "quota" in stall["message"], stall["message"]
    ready = condition(get_json(kube, "tradingstrategy", "strat", "-n", namespace), "Ready")
    assert ready is not None
    assert ready["status"] == "False"
    assert verdicts(kube, namespace, kstatus, "tradingstrategies")["TradingStrategy/strat"].status == "Failed"
    # The workloads that would mount the refused config are not created.
    assert kube.kubectl("get", "deployments", "-n", namespace, "-o", "name").stdout == ""
    wait_for(
        "a Warning Event with the API server's message",
        lambda: [
            e
            for e in events(kube, namespace, "strat")
            if e["type"] == "Warning" and e["reason"] == "ChildRefused" and "quota" in e["note"]
        ],
        timeout=30,
    )

    # Lifting the quota is not an event the operator watches; its recheck picks it up.
    kube.kubectl("delete", "resourcequota", "no-configmaps", "-n", namespace)
    wait_for(
        "the strategy to leave Stalled",
        lambda: (
            condition(get_json(kube, "tradingstrategy", "strat", "-n", namespace), "Stalled")["status"]  # type: ignore[index]
            == "False"
        ),
        timeout=60,
    )
    assert kube.kubectl("get", "configmap", "strat-config", "-n", namespace, "-o", "name").stdout.strip()
    assert verdicts(kube, namespace, kstatus, "tradingstrategies")["TradingStrategy/strat"].status != "Failed"
