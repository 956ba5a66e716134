"""The VpnLink controller against a real tunnel.

The operator runs inside the edge namespace (as it would on the edge node, next to charon) and
probes a service at 10.0.1.4 that is reachable only through the IPsec tunnel; the API server and
azure-sim are relayed into the namespace's loopback. azure-sim reports the connection as the
Azure side's real SAs stand. A strategy's outbox (in the edge namespace) sends to a backend at
10.0.1.4, and follows the outbound mode the operator renders into the strategy's ConfigMap.

Cutting the tunnel (`swanctl --terminate` of both IKE SAs on the edge) must take the link to
Degraded then Down, run the failover policy (reset the connection at azure-sim, switch the
strategies to buffering), and bringing it back (`swanctl --initiate`) must recover the link and
drain the outbox in order. Detection and recovery times are measured against the spec's
thresholds (failureThreshold / recoveryThreshold checks, each at most intervalSeconds +
timeoutSeconds apart, plus a named slack for status writes on a loaded machine).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from prometheus_client import CollectorRegistry

from spyops.cluster.testing import KubeCluster
from spyops.common.polling import wait_for
from spyops.outbox import OutboxSender, OutboxStore, SenderSettings
from spyops.outbox.sender import OutboxMetrics
from spyops.schemas import OutboundMode, OutboundSettings
from tests.operator.support import OperatorProcess, condition, get_json
from tests.outbox.backend import RecordingBackend
from tests.tunnel.lab import AZURE_HOST, TunnelLab
from tests.tunnel.netns import in_netns, run
from tests.tunnel.support import echo_server, render_edge, start_azure_side, start_edge, wait_established
from tests.tunnel.threads import NetnsLoop, Poller, mirror_azure_side
from tests.vpnlink.cluster_support import (
    STRATEGY,
    AzureSimProcess,
    events,
    link_status,
    rendered_outbound,
    setup_link,
)

pytestmark = pytest.mark.cluster

TOKEN = "lab-backend-token-51c2"
INTERVAL, TIMEOUT, FAILURES, RECOVERIES = 2, 1, 2, 2  # the VpnLink's probes and failover (cluster_support)
# Status writes and the operator's own scheduling on a loaded 2-core machine.
SLACK_SECONDS = 3.0


@dataclass
class EdgeOperator(OperatorProcess):
    """The operator subprocess in the edge namespace; its /health and /metrics are read from there."""

    netns: str = ""

    def get(self, path: str) -> httpx.Response:
        with in_netns(self.netns):
            return httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=5)


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None, url
    return port


def _event_time(event: dict[str, Any]) -> float:
    stamp = event.get("eventTime") or event["metadata"]["creationTimestamp"]
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _first_event_after(kube: KubeCluster, namespace: str, reason: str, after: float) -> float | None:
    times = [_event_time(e) for e in events(kube, namespace) if e["reason"] == reason]
    later = [t for t in times if t >= after - 1.0]  # eventTime has microseconds; creationTimestamp seconds
    return min(later) if later else None


def _health(kube: KubeCluster, namespace: str) -> str:
    return str(link_status(kube, namespace).get("health", ""))


@pytest.mark.parametrize("cut_mode", ["terminate", "drop-esp"])
def test_vpnlink_detects_a_cut_tunnel_fails_over_and_recovers(
    cut_mode: str,
    spyops_crds: KubeCluster,
    operator_sa_kubeconfig: Path,
    namespace: str,
    tmp_path: Path,
    operator_factory: list[OperatorProcess],
    azure_sim_process: AzureSimProcess,
) -> None:
    kube, sim = spyops_crds, azure_sim_process
    sim.control("POST", "/control/reset-behavior", {"target": "connection", "result": "succeed", "polls": 1})
    with TunnelLab(tmp_path / "lab") as lab:
        try:
            _run(lab, cut_mode, kube, namespace, tmp_path, operator_sa_kubeconfig, operator_factory, sim)
        except BaseException:
            print(lab.logs())
            for proc in operator_factory:
                print(proc.logs()[-6000:])
            raise


def _drop_esp(lab: TunnelLab, action: str) -> None:
    """Insert (-I) or delete (-D) rules dropping IKE and ESP-in-UDP (port 4500) in the edge namespace."""
    for chain, port in (("OUTPUT", "--dport"), ("INPUT", "--sport")):
        run(lab.edge.exec_argv("iptables", action, chain, "-p", "udp", port, "4500", "-j", "DROP"))


def _cut(lab: TunnelLab, mode: str) -> None:
    if mode == "terminate":  # both IKE SAs closed on the edge; nothing restarts them by itself
        for name in ("azure-0", "azure-1"):
            lab.charons["edge"].swanctl("--terminate", "--ike", name, "--timeout", "10")
    else:  # a silent outage: the SAs stay up on both sides, the packets vanish
        _drop_esp(lab, "-I")


def _restore(lab: TunnelLab, mode: str) -> None:
    if mode == "terminate":
        for name in ("azure-0", "azure-1"):
            lab.charons["edge"].swanctl("--initiate", "--ike", name, "--child", name, "--timeout", "20")
    else:
        _drop_esp(lab, "-D")
    wait_established(lab, {"azure-0", "azure-1"})


def _run(
    lab: TunnelLab,
    cut_mode: str,
    kube: KubeCluster,
    namespace: str,
    tmp_path: Path,
    kubeconfig: Path,
    operator_factory: list[OperatorProcess],
    sim: AzureSimProcess,
) -> None:
    # The tunnel, configured by the README's steps.
    azure = start_azure_side(lab)
    edge = start_edge(lab)
    rendered = render_edge(lab)
    assert rendered.returncode == 0, rendered.stderr
    edge.load_all()
    wait_established(lab, {"azure-0", "azure-1"})
    mirror = Poller(mirror_azure_side(azure, sim, {"instance-0": "tunnel-0", "instance-1": "tunnel-1"}), 0.5)
    lab.add_cleanup(mirror.start().stop)

    # Behind the tunnel: the probe target and the backend, both at 10.0.1.4 in the Azure namespace.
    stack = contextlib.ExitStack()
    lab.add_cleanup(stack.close)
    probe_port = stack.enter_context(echo_server(lab))
    azure_loop = NetnsLoop(lab.azure.name).start()
    lab.add_cleanup(azure_loop.stop)
    backend = RecordingBackend(token=TOKEN, host=AZURE_HOST)
    azure_loop.run(backend.start())
    lab.add_cleanup(lambda: azure_loop.run(backend.stop()))

    # The operator in the edge namespace; the API server and azure-sim relayed into its loopback.
    server = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    for port in {_port(server), _port(sim.endpoints["armUrl"]), _port(sim.endpoints["authorityUrl"])}:
        lab.forward(lab.edge, ("127.0.0.1", port), ("127.0.0.1", port))
    setup_link(kube, namespace, sim, f"{AZURE_HOST}:{probe_port}")
    proc = EdgeOperator(
        kubeconfig,
        namespace,
        tmp_path,
        extra_args=(
            "--azure-ca-bundle",
            sim.endpoints["caCert"],
            "--azure-polling-interval",
            "0.5",
            "--no-leader-elect",
        ),
        launcher=tuple(lab.edge.exec_argv()),
        netns=lab.edge.name,
    )
    operator_factory.append(proc)
    lab.add_cleanup(proc.stop)
    proc.start().wait_ready()

    # A strategy's outbox on the edge, following the outbound mode rendered into its ConfigMap.
    edge_loop = NetnsLoop(lab.edge.name).start()
    lab.add_cleanup(edge_loop.stop)
    token_file = tmp_path / "backend-token"
    token_file.write_text(TOKEN)

    def outbound(mode: OutboundMode) -> OutboundSettings:
        return OutboundSettings(mode=mode, backend_url=backend.url, token_file=str(token_file))

    async def make_sender() -> OutboxSender:
        return OutboxSender(
            OutboxStore(tmp_path / "outbox.db"),
            outbound(OutboundMode.DIRECT),
            SenderSettings(backoff_initial_seconds=0.05, backoff_max_seconds=0.5, idle_poll_seconds=0.2),
            OutboxMetrics(CollectorRegistry(), "bot"),
        )

    sender = edge_loop.run(make_sender())
    sender_done = edge_loop.submit(sender.run())

    def stop_sender() -> None:
        edge_loop.call(sender.stop)
        sender_done.result(30)
        sender.store.close()

    lab.add_cleanup(stop_sender)
    followed: list[str] = []

    def follow() -> None:
        mode = rendered_outbound(kube, namespace)
        if mode is not None and (not followed or followed[-1] != mode):
            followed.append(mode)
            edge_loop.call(sender.set_outbound, outbound(OutboundMode(mode)))

    lab.add_cleanup(Poller(follow, 0.3).start().stop)

    expected: list[tuple[str, str]] = []
    counter = iter(range(10_000))

    def produce(n: int) -> None:
        for _ in range(n):
            i = next(counter)
            kind, path = ("execution", "executions") if i % 3 == 2 else ("signal", "signals")
            item_id = f"{kind}-{i:05d}"
            edge_loop.run(sender.submit(kind, {"id": item_id, "n": i}))
            expected.append((path, item_id))

    # Connected: the probes cross the tunnel, the strategy sends directly.
    wait_for("link Healthy", lambda: _health(kube, namespace) == "Healthy", timeout=120)
    wait_for("outbound direct", lambda: followed[-1:] == ["direct"], timeout=60)
    status = link_status(kube, namespace)
    assert status["probes"][0]["ok"] is True, status["probes"]
    assert status["azure"]["connectionStatus"] == "Connected"
    produce(6)
    wait_for("6 items at the backend", lambda: backend.total() == 6, timeout=30)

    # Cut the tunnel.
    cut = time.time()
    _cut(lab, cut_mode)
    produce(4)  # still trading while the link is failing
    wait_for("outbound buffering", lambda: followed[-1:] == ["buffering"], timeout=120)
    produce(10)
    time.sleep(1)
    assert backend.total() == 6  # nothing crossed while the tunnel was down
    assert sum(sender.store.pending_count().values()) == 14
    status = link_status(kube, namespace)
    assert status["health"] == "Down"
    assert status["probes"][0]["ok"] is False
    # A silent outage leaves Azure's view Connected: the probes alone must find it.
    expected_azure = "NotConnected" if cut_mode == "terminate" else "Connected"
    assert status["azure"]["connectionStatus"] == expected_azure
    history = [(r["action"], r["result"]) for r in status["actionHistory"]]
    assert ("ResetConnection", "Succeeded") in history
    assert ("SwitchOutbound", "Succeeded") in history
    wait_for(
        "strategy CloudLinkReady=False/LinkDown",
        lambda: (
            (
                condition(get_json(kube, "tradingstrategy", STRATEGY, "-n", namespace), "CloudLinkReady")
                or {}
            ).get("reason")
            == "LinkDown"
        ),
        timeout=60,
    )
    degraded = _first_event_after(kube, namespace, "LinkDegraded", cut)
    down = _first_event_after(kube, namespace, "LinkDown", cut)
    switched = _first_event_after(kube, namespace, "SwitchOutboundSucceeded", cut)
    assert degraded is not None
    assert down is not None
    assert switched is not None
    assert degraded <= down <= switched

    # The tunnel returns.
    _restore(lab, cut_mode)
    restored = time.time()
    wait_for("link Healthy again", lambda: _health(kube, namespace) == "Healthy", timeout=120)
    wait_for("outbound direct again", lambda: followed[-1:] == ["direct"], timeout=60)
    wait_for("the outbox drained", lambda: backend.total() == len(expected), timeout=60)
    drained = time.time()
    # Every item stored once, in the order produced (a batch whose answer the cut swallowed may
    # arrive twice; the backend dedupes by id, as the real one does).
    assert backend.arrival == expected
    assert sum(sender.store.pending_count().values()) == 0
    healthy = _first_event_after(kube, namespace, "LinkHealthy", restored)
    restored_outbound = _first_event_after(kube, namespace, "RestoreOutboundSucceeded", restored)
    assert healthy is not None
    assert restored_outbound is not None

    detection = {"degraded": degraded - cut, "down": down - cut, "buffering": switched - cut}
    recovery = {
        "healthy": healthy - restored,
        "direct": restored_outbound - restored,
        "drained": drained - restored,
    }
    # The spec's thresholds: the controller requeues a link intervalSeconds after each check ends,
    # and a check whose probes fail takes up to timeoutSeconds, so checks come at most
    # interval + timeout apart; a state changes after failureThreshold (recoveryThreshold) of them.
    period = INTERVAL + TIMEOUT
    bounds = {
        "degraded": period + SLACK_SECONDS,
        "down": FAILURES * period + SLACK_SECONDS,
        "healthy": RECOVERIES * period + SLACK_SECONDS,
    }
    report = {
        "cut": cut_mode,
        "probes": {"intervalSeconds": INTERVAL, "timeoutSeconds": TIMEOUT},
        "failover": {"failureThreshold": FAILURES, "recoveryThreshold": RECOVERIES},
        "detection_seconds": {k: round(v, 2) for k, v in detection.items()},
        "recovery_seconds": {k: round(v, 2) for k, v in recovery.items()},
        "bound_seconds": bounds,
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        "items": {"before_cut": 6, "buffered": 14},
    }
    print("vpnlink-over-tunnel " + json.dumps(report))
    if out := os.environ.get("SPYOPS_TUNNEL_TIMINGS"):  # appended: one JSON line per cut mode
        with Path(out).open("a") as sink:
            sink.write(json.dumps(report) + "\n")
    assert detection["degraded"] <= bounds["degraded"], report
    assert detection["down"] <= bounds["down"], report
    assert recovery["healthy"] <= bounds["healthy"], report
