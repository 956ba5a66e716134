"""The VpnLink controller end to end: the operator subprocess with its own ServiceAccount on the real
API server, the real Azure SDK against `spyops azure-sim` over HTTPS, a TradingStrategy whose
spec.cloudLinkRef names the link, and a TCP target standing for the far side of the tunnel."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import pytest

from spyops.cluster.testing import KubeCluster
from spyops.common import metrics_text
from spyops.common.polling import wait_for
from tests.operator.support import OperatorProcess, condition, get_json
from tests.vpnlink.cluster_support import (
    LINK,
    STRATEGY,
    AzureSimProcess,
    ProbeTarget,
    event_reasons,
    events,
    link,
    link_status,
    rendered_outbound,
    setup_link,
    start_operator,
)

pytestmark = pytest.mark.cluster


def _health(kube: KubeCluster, namespace: str) -> str:
    return str(link_status(kube, namespace).get("health", ""))


def _strategy(kube: KubeCluster, namespace: str) -> dict[str, Any]:
    return dict(get_json(kube, "tradingstrategy", STRATEGY, "-n", namespace))


def _link_down(sim: AzureSimProcess, target: ProbeTarget) -> None:
    sim.control("POST", "/control/connection", {"status": "NotConnected"})
    target.down()


def _link_up(sim: AzureSimProcess, target: ProbeTarget) -> None:
    sim.control("POST", "/control/connection", {"status": "Connected"})
    target.up()


def _assert_secret_nowhere(
    kube: KubeCluster, namespace: str, sim: AzureSimProcess, operators: list[OperatorProcess]
) -> None:
    secret = sim.credentials["clientSecret"]
    assert len(secret) >= 8
    for proc in operators:
        logs = proc.logs()
        assert "vpnlink checked" in logs  # the log was written and holds the controller's lines
        assert secret not in logs, f"client secret in the log of {proc.identity}"
    everything = kube.kubectl(
        "get",
        "vpnlinks,tradingstrategies,events.events.k8s.io,events,configmaps",
        "-n",
        namespace,
        "-o",
        "json",
    ).stdout
    assert secret not in everything


def test_failover_story_down_reset_buffer_recover(
    spyops_crds: KubeCluster,
    operator_sa_kubeconfig: Path,
    namespace: str,
    tmp_path: Path,
    operator_factory: list[OperatorProcess],
    azure_sim_process: AzureSimProcess,
    probe_target: ProbeTarget,
) -> None:
    kube, sim = spyops_crds, azure_sim_process
    sim.control("POST", "/control/reset-behavior", {"target": "connection", "result": "succeed", "polls": 1})
    setup_link(kube, namespace, sim, probe_target)
    proc = start_operator(operator_factory, operator_sa_kubeconfig, namespace, tmp_path, sim)

    # Healthy first: the strategy sends directly and sees the link as ready.
    wait_for("link Healthy", lambda: _health(kube, namespace) == "Healthy", timeout=90)
    wait_for("ConfigMap outbound direct", lambda: rendered_outbound(kube, namespace) == "direct", timeout=60)
    wait_for(
        "strategy CloudLinkReady=True",
        lambda: (condition(_strategy(kube, namespace), "CloudLinkReady") or {}).get("status") == "True",
        timeout=60,
    )
    status = link_status(kube, namespace)
    assert status["azure"]["connectionStatus"] == "Connected"
    assert status["azure"]["gatewayProvisioningState"] == "Succeeded"
    assert status["probes"][0]["ok"] is True
    assert status["outbound"] == "direct"
    assert condition(link(kube, namespace), "Ready")["status"] == "True"  # type: ignore[index]
    assert condition(link(kube, namespace), "AzureReachable")["reason"] == "AzureStatusRead"  # type: ignore[index]

    # The link goes down: Degraded after one failed check, Down after two, then the policy runs.
    _link_down(sim, probe_target)
    wait_for(
        "ConfigMap outbound buffering", lambda: rendered_outbound(kube, namespace) == "buffering", timeout=90
    )
    wait_for(
        "outbound recorded in status", lambda: link_status(kube, namespace).get("outbound") == "buffering"
    )
    status = link_status(kube, namespace)
    assert status["health"] == "Down"
    assert status["consecutiveFailures"] >= 2
    assert status["azure"]["connectionStatus"] == "NotConnected"
    assert status["probes"][0]["ok"] is False
    history = [(r["action"], r["result"]) for r in status["actionHistory"]]
    assert ("ResetConnection", "Succeeded") in history
    assert ("SwitchOutbound", "Succeeded") in history
    assert history.index(("ResetConnection", "Succeeded")) < history.index(("SwitchOutbound", "Succeeded"))
    body = link(kube, namespace)
    assert condition(body, "Ready")["status"] == "False"  # type: ignore[index]
    assert condition(body, "FailoverActive")["reason"] == "OutboundBuffering"  # type: ignore[index]
    reasons = event_reasons(kube, namespace)
    for reason in ("LinkDegraded", "LinkDown", "ResetConnectionSucceeded", "SwitchOutboundSucceeded"):
        assert reason in reasons, (reason, reasons)
    assert (
        reasons.index("LinkDegraded") < reasons.index("LinkDown") < reasons.index("ResetConnectionSucceeded")
    )
    wait_for("down notice", lambda: "LinkDownNotice" in event_reasons(kube, namespace))
    resets = sim.requests("resetConnection")
    assert len([r for r in resets if r["method"] == "POST"]) == 1

    # The strategy shows it: CloudLinkReady False, outbound buffering, and Events a person would read.
    wait_for(
        "strategy CloudLinkReady=False",
        lambda: (condition(_strategy(kube, namespace), "CloudLinkReady") or {}).get("status") == "False",
        timeout=60,
    )
    strategy = _strategy(kube, namespace)
    assert condition(strategy, "CloudLinkReady")["reason"] == "LinkDown"  # type: ignore[index]
    assert strategy["status"]["outboundMode"] == "buffering"
    assert "OutboundSwitched" in event_reasons(kube, namespace, "TradingStrategy")

    # Still down: the cooldown holds the next reset back, and says so.
    wait_for(
        "reset held back by the cooldown",
        lambda: link_status(kube, namespace).get("failoverHeldBack") == "CooldownActive",
        timeout=60,
    )
    assert len([r for r in sim.requests("resetConnection") if r["method"] == "POST"]) == 1

    # The link returns: after two good checks it is Healthy and the strategies send directly again.
    _link_up(sim, probe_target)
    wait_for("link Healthy again", lambda: _health(kube, namespace) == "Healthy", timeout=90)
    wait_for(
        "ConfigMap outbound direct again", lambda: rendered_outbound(kube, namespace) == "direct", timeout=60
    )
    wait_for("restore recorded", lambda: link_status(kube, namespace).get("outbound") == "direct")
    wait_for("recovered notice", lambda: "LinkRecoveredNotice" in event_reasons(kube, namespace))
    reasons = event_reasons(kube, namespace)
    assert reasons.index("SwitchOutboundSucceeded") < reasons.index("RestoreOutboundSucceeded")
    assert "LinkHealthy" in reasons[reasons.index("LinkDown") :]
    body = link(kube, namespace)
    assert condition(body, "Ready")["status"] == "True"  # type: ignore[index]
    assert condition(body, "FailoverActive")["status"] == "False"  # type: ignore[index]
    wait_for(
        "strategy CloudLinkReady=True again",
        lambda: (condition(_strategy(kube, namespace), "CloudLinkReady") or {}).get("status") == "True",
        timeout=60,
    )
    assert "OutboundRestored" in event_reasons(kube, namespace, "TradingStrategy")
    assert len([r for r in sim.requests("resetConnection") if r["method"] == "POST"]) == 1

    # Metrics on the operator's /metrics.
    text = proc.get("/metrics").text
    failovers = [s for s in metrics_text.samples(text) if s.name == "spyops_vpnlink_failovers_total"]
    assert any(
        s.labels.get("action") == "ResetConnection" and s.labels.get("namespace") == namespace
        for s in failovers
    ), failovers
    series = {"namespace": namespace, "vpnlink": "azure-edge"}
    assert metrics_text.value(text, "spyops_vpnlink_up", series) == 1.0
    assert "spyops_vpnlink_probe_latency_seconds_count" in metrics_text.names(text)
    connected = {**series, "status": "Connected"}
    assert metrics_text.value(text, "spyops_vpnlink_azure_connection_status", connected) == 1.0

    _assert_secret_nowhere(kube, namespace, sim, operator_factory)

    # Deleting the link: the strategy says the link is gone; the controller stops checking it.
    kube.kubectl("delete", "vpnlink", "azure-edge", "-n", namespace)
    wait_for(
        "strategy CloudLinkReady=False (link gone)",
        lambda: (
            (condition(_strategy(kube, namespace), "CloudLinkReady") or {}).get("reason")
            == "CloudLinkNotFound"
        ),
        timeout=60,
    )
    sim.control("DELETE", "/control/requests")
    time.sleep(5)
    assert sim.requests("getConnection") == []


def test_flapping_inside_the_window_takes_no_action(
    spyops_crds: KubeCluster,
    operator_sa_kubeconfig: Path,
    namespace: str,
    tmp_path: Path,
    operator_factory: list[OperatorProcess],
    azure_sim_process: AzureSimProcess,
    probe_target: ProbeTarget,
) -> None:
    kube, sim = spyops_crds, azure_sim_process
    setup_link(kube, namespace, sim, probe_target, {"failureThreshold": 3}, with_strategy=False)
    start_operator(operator_factory, operator_sa_kubeconfig, namespace, tmp_path, sim)
    wait_for("link Healthy", lambda: _health(kube, namespace) == "Healthy", timeout=90)
    # kstatus readers (kubectl wait, Flux) see it too
    kube.kubectl("wait", "-n", namespace, "--for=condition=Ready", f"vpnlink/{LINK}", "--timeout=60s")
    # Checks come every ~2 s: a 2.5 s outage covers at most two checks, below the threshold of three.
    for _ in range(3):
        probe_target.down()
        time.sleep(2.5)
        probe_target.up()
        time.sleep(5)
    reasons = event_reasons(kube, namespace)
    assert "LinkDegraded" in reasons  # the flaps were seen
    assert "LinkDown" not in reasons
    assert not [r for r in reasons if r.startswith(("Reset", "SwitchOutbound", "Notify"))]
    assert sim.requests("resetConnection") == []
    status = link_status(kube, namespace)
    assert status["outbound"] == "direct"
    assert not status.get("actionHistory")


def test_cooldown_and_hourly_cap_hold(
    spyops_crds: KubeCluster,
    operator_sa_kubeconfig: Path,
    namespace: str,
    tmp_path: Path,
    operator_factory: list[OperatorProcess],
    azure_sim_process: AzureSimProcess,
    probe_target: ProbeTarget,
) -> None:
    kube, sim = spyops_crds, azure_sim_process
    # Resets succeed but do not bring the link back: the policy keeps wanting to act.
    sim.control("POST", "/control/reset-behavior", {"target": "connection", "result": "succeed", "polls": 1})
    setup_link(
        kube,
        namespace,
        sim,
        probe_target,
        {"cooldownSeconds": 6, "maxActionsPerHour": 2},
        with_strategy=False,
    )
    start_operator(operator_factory, operator_sa_kubeconfig, namespace, tmp_path, sim)
    wait_for("link Healthy", lambda: _health(kube, namespace) == "Healthy", timeout=90)
    _link_down(sim, probe_target)
    wait_for(
        "hourly cap reached",
        lambda: link_status(kube, namespace).get("failoverHeldBack") == "ActionCapReached",
        timeout=120,
    )
    time.sleep(10)  # more checks while Down: still no third reset
    posts = [r for r in sim.requests("resetConnection") if r["method"] == "POST"]
    assert len(posts) == 2
    assert posts[1]["time"] - posts[0]["time"] >= 6 - 0.5  # the cooldown lay between them
    status = link_status(kube, namespace)
    resets = [r for r in status["actionHistory"] if r["action"] == "ResetConnection"]
    assert [r["result"] for r in resets] == ["Succeeded", "Succeeded"]
    times = [dt.datetime.fromisoformat(r["time"]) for r in resets]
    assert times[1] - times[0] >= dt.timedelta(seconds=6)
    reasons = event_reasons(kube, namespace)
    assert "CooldownActive" in reasons
    assert reasons.count("ActionCapReached") == 1
    capped = next(e for e in events(kube, namespace) if e["reason"] == "ActionCapReached")
    assert "cap of 2" in capped["note"]


def test_operator_killed_during_a_reset_does_not_repeat_it(
    spyops_crds: KubeCluster,
    operator_sa_kubeconfig: Path,
    namespace: str,
    tmp_path: Path,
    operator_factory: list[OperatorProcess],
    azure_sim_process: AzureSimProcess,
    probe_target: ProbeTarget,
) -> None:
    kube, sim = spyops_crds, azure_sim_process
    # A slow reset: 40 InProgress answers, polled every 0.5 s.
    sim.control("POST", "/control/reset-behavior", {"target": "connection", "result": "succeed", "polls": 40})
    setup_link(kube, namespace, sim, probe_target)
    first = start_operator(operator_factory, operator_sa_kubeconfig, namespace, tmp_path, sim, "first")
    wait_for("link Healthy", lambda: _health(kube, namespace) == "Healthy", timeout=90)
    wait_for("ConfigMap outbound direct", lambda: rendered_outbound(kube, namespace) == "direct", timeout=60)
    _link_down(sim, probe_target)

    def reset_in_flight() -> bool:
        last = link_status(kube, namespace).get("lastFailover") or {}
        return last.get("action") == "ResetConnection" and last.get("result") == "Started"

    wait_for("reset started and recorded", reset_in_flight, timeout=90)
    wait_for("reset POST reached Azure", lambda: sim.requests("resetConnection"), timeout=30)
    first.kill()  # SIGKILL in the middle of the long-running operation

    start_operator(operator_factory, operator_sa_kubeconfig, namespace, tmp_path, sim, "second")
    # The new operator carries on with the rest of the policy, without a second reset.
    wait_for(
        "ConfigMap outbound buffering", lambda: rendered_outbound(kube, namespace) == "buffering", timeout=90
    )
    wait_for(
        "cooldown from the interrupted reset",
        lambda: link_status(kube, namespace).get("failoverHeldBack") == "CooldownActive",
        timeout=60,
    )
    time.sleep(6)
    posts = [r for r in sim.requests("resetConnection") if r["method"] == "POST"]
    assert len(posts) == 1, posts
    history = link_status(kube, namespace)["actionHistory"]
    assert [r["action"] for r in history].count("ResetConnection") == 1
    _assert_secret_nowhere(kube, namespace, sim, operator_factory)


@pytest.mark.parametrize(
    ("fault", "reason", "words"),
    [
        ({"status": 401}, "AzureAuthFailed", "rejected the credentials"),
        ({"status": 404}, "AzureNotFound", "check subscriptionId"),
        ({"status": 429, "retryAfter": 3}, "AzureThrottled", "retry after 3 s"),
        ({"status": 503}, "AzureServerError", "HTTP 503"),
    ],
)
def test_azure_errors_become_their_own_condition(
    spyops_crds: KubeCluster,
    operator_sa_kubeconfig: Path,
    namespace: str,
    tmp_path: Path,
    operator_factory: list[OperatorProcess],
    azure_sim_process: AzureSimProcess,
    probe_target: ProbeTarget,
    fault: dict[str, Any],
    reason: str,
    words: str,
) -> None:
    kube, sim = spyops_crds, azure_sim_process
    setup_link(kube, namespace, sim, probe_target, with_strategy=False)
    start_operator(operator_factory, operator_sa_kubeconfig, namespace, tmp_path, sim)
    wait_for("link Healthy", lambda: _health(kube, namespace) == "Healthy", timeout=90)
    sim.control(
        "POST", "/control/faults", {**fault, "count": 100000, "operations": ["getConnection", "getGateway"]}
    )

    def reachable() -> dict[str, Any]:
        return condition(link(kube, namespace), "AzureReachable") or {}

    wait_for(f"AzureReachable reason {reason}", lambda: reachable().get("reason") == reason, timeout=60)
    found = reachable()
    assert found["status"] == "False"
    assert words in found["message"], found["message"]
    status = link_status(kube, namespace)
    assert status["azure"]["errorReason"] == reason
    # Azure's API failing says nothing about the data path: the probes still pass, the link stays up.
    assert status["health"] == "Healthy"
    assert reason in event_reasons(kube, namespace)
    warning = next(e for e in events(kube, namespace) if e["reason"] == reason)
    assert warning["type"] == "Warning"
    sim.control("DELETE", "/control/faults")
    wait_for("Azure reachable again", lambda: reachable().get("status") == "True", timeout=60)
    assert "AzureReachable" in event_reasons(kube, namespace)
    _assert_secret_nowhere(kube, namespace, sim, operator_factory)
    assert json.dumps(status).count(sim.credentials["clientSecret"]) == 0


def test_ca_bundle_from_a_secret_per_link(
    spyops_crds: KubeCluster,
    operator_sa_kubeconfig: Path,
    namespace: str,
    tmp_path: Path,
    operator_factory: list[OperatorProcess],
    azure_sim_process: AzureSimProcess,
    probe_target: ProbeTarget,
) -> None:
    kube, sim = spyops_crds, azure_sim_process
    setup_link(kube, namespace, sim, probe_target, with_strategy=False)
    # The operator does not trust the simulator's CA: Azure is unreachable over TLS.
    start_operator(operator_factory, operator_sa_kubeconfig, namespace, tmp_path, sim, trust_sim_ca=False)
    wait_for(
        "TLS failure as AzureUnreachable",
        lambda: (
            (condition(link(kube, namespace), "AzureReachable") or {}).get("reason") == "AzureUnreachable"
        ),
        timeout=90,
    )
    assert "TLS" in condition(link(kube, namespace), "AzureReachable")["message"]  # type: ignore[index]
    # A Secret without the key: the link says so instead of trusting anything else.
    kube.kubectl("create", "secret", "generic", "sim-ca", "-n", namespace, "--from-literal=other=x")
    kube.kubectl(
        "patch",
        "vpnlink",
        "azure-edge",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        json.dumps({"spec": {"azure": {"caBundleSecretRef": {"name": "sim-ca"}}}}),
    )
    wait_for(
        "Ready=False CABundleInvalid",
        lambda: (condition(link(kube, namespace), "Ready") or {}).get("reason") == "CABundleInvalid",
        timeout=60,
    )
    assert "CABundleInvalid" in event_reasons(kube, namespace)
    # With the CA under the key the spec names, this link trusts it and reads Azure.
    kube.kubectl("delete", "secret", "sim-ca", "-n", namespace)
    kube.kubectl(
        "create",
        "secret",
        "generic",
        "sim-ca",
        "-n",
        namespace,
        f"--from-file=ca.crt={sim.endpoints['caCert']}",
    )
    wait_for(
        "Azure read through the link's CA",
        lambda: (condition(link(kube, namespace), "AzureReachable") or {}).get("reason") == "AzureStatusRead",
        timeout=90,
    )
    assert _health(kube, namespace) == "Healthy"
