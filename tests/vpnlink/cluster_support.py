"""The VpnLink controller's cluster tests: the real operator subprocess (its own ServiceAccount),
`spyops azure-sim` as a subprocess over HTTPS, and a TCP target standing for the far side of the tunnel."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from spyops.cluster.testing import KubeCluster
from spyops.common.polling import wait_for
from tests.operator.support import EXAMPLES, OperatorProcess, get_json, secret_value

LINK = "azure-edge"  # the name the example strategy's spec.cloudLinkRef uses
STRATEGY = "spy-0dte"


@dataclass
class AzureSimProcess:
    """`spyops azure-sim` in its own process; its control API scripts the link."""

    state_dir: Path
    process: subprocess.Popen[bytes] | None = None
    endpoints: dict[str, Any] = field(default_factory=dict)
    credentials: dict[str, Any] = field(default_factory=dict)

    def start(self) -> AzureSimProcess:
        log = (self.state_dir.parent / "azure-sim.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "spyops", "azure-sim", "--state-dir", str(self.state_dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        endpoints_file = self.state_dir / "endpoints.json"

        def written() -> bool:
            assert self.process is not None
            assert self.process.poll() is None, "azure-sim exited"
            return endpoints_file.exists() and (self.state_dir / "credentials.json").exists()

        wait_for("azure-sim endpoints.json", written, timeout=60)
        time.sleep(0.2)
        self.endpoints = json.loads(endpoints_file.read_text())
        self.credentials = json.loads((self.state_dir / "credentials.json").read_text())
        wait_for("azure-sim /ready", lambda: self._ok("/ready"), timeout=30)
        return self

    def _ok(self, path: str) -> bool:
        try:
            return httpx.get(self.endpoints["controlUrl"] + path, timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def control(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = httpx.request(method, self.endpoints["controlUrl"] + path, json=body, timeout=10)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        result: dict[str, Any] = response.json()
        return result

    def requests(self, operation: str) -> list[dict[str, Any]]:
        return [
            r for r in self.control("GET", "/control/requests")["requests"] if r["operation"] == operation
        ]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


class ProbeTarget:
    """A TCP listener on the far side of the 'tunnel': up accepts connections, down refuses them."""

    def __init__(self) -> None:
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = int(probe.getsockname()[1])
        probe.close()
        self._server: socket.socket | None = None
        self._thread: threading.Thread | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def up(self) -> None:
        if self._server is not None:
            return
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(16)
        self._server = server
        self._thread = threading.Thread(target=self._accept, args=(server,), daemon=True)
        self._thread.start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.close()

    def down(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            with contextlib.suppress(OSError):
                server.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (Linux)
            server.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


def link_manifest(
    sim: AzureSimProcess, target: ProbeTarget | str, failover: dict[str, Any] | None = None
) -> dict[str, Any]:
    e = sim.endpoints
    policy = {
        "failureThreshold": 2,
        "recoveryThreshold": 2,
        "resetConnection": True,
        "resetGateway": False,
        "outboundAction": "buffering",
        "cooldownSeconds": 600,
        "maxActionsPerHour": 4,
    }
    policy.update(failover or {})
    return {
        "apiVersion": "spyops.io/v1alpha1",
        "kind": "VpnLink",
        "metadata": {"name": LINK},
        "spec": {
            "azure": {
                "subscriptionId": e["subscriptionId"],
                "resourceGroup": e["resourceGroup"],
                "gatewayName": e["gatewayName"],
                "connectionName": e["connectionName"],
                "credentialsSecretRef": {"name": "azure-sp"},
                "endpoint": e["armUrl"],
                "authorityHost": e["authorityUrl"],
            },
            "probes": {
                "targets": [target if isinstance(target, str) else target.target],
                "intervalSeconds": 2,
                "timeoutSeconds": 1,
            },
            "failover": policy,
        },
    }


def apply(kube: KubeCluster, namespace: str, manifest: dict[str, Any] | str) -> None:
    text = manifest if isinstance(manifest, str) else yaml.safe_dump(manifest)
    kube.kubectl("apply", "-n", namespace, "-f", "-", input=text)


def setup_link(
    kube: KubeCluster,
    namespace: str,
    sim: AzureSimProcess,
    target: ProbeTarget | str,
    failover: dict[str, Any] | None = None,
    with_strategy: bool = True,
) -> None:
    """The service principal Secret, the VpnLink, and (optionally) a gateway and a strategy using it."""
    c = sim.credentials
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "azure-sp"},
        "type": "Opaque",
        "data": {
            "clientId": secret_value(c["clientId"]),
            "clientSecret": secret_value(c["clientSecret"]),
            "tenantId": secret_value(c["tenantId"]),
        },
    }
    apply(kube, namespace, secret)
    apply(kube, namespace, link_manifest(sim, target, failover))
    if with_strategy:
        apply(kube, namespace, (EXAMPLES / "ibkrgateway-simulator.yaml").read_text())
        apply(kube, namespace, (EXAMPLES / "tradingstrategy.yaml").read_text())


def start_operator(
    operator_factory: list[OperatorProcess],
    kubeconfig: Path,
    namespace: str,
    log_dir: Path,
    sim: AzureSimProcess,
    identity: str = "operator-under-test",
    trust_sim_ca: bool = True,
) -> OperatorProcess:
    """The operator, trusting the simulator's CA operator-wide unless ``trust_sim_ca`` is False."""
    ca = ("--azure-ca-bundle", sim.endpoints["caCert"]) if trust_sim_ca else ()
    proc = OperatorProcess(
        kubeconfig,
        namespace,
        log_dir,
        identity=identity,
        extra_args=(*ca, "--azure-polling-interval", "0.5", "--no-leader-elect"),
    ).start()
    operator_factory.append(proc)
    proc.wait_ready()
    return proc


def link(kube: KubeCluster, namespace: str) -> dict[str, Any]:
    return dict(get_json(kube, "vpnlink", LINK, "-n", namespace))


def link_status(kube: KubeCluster, namespace: str) -> dict[str, Any]:
    return dict(link(kube, namespace).get("status") or {})


def events(kube: KubeCluster, namespace: str, kind: str = "VpnLink") -> list[dict[str, Any]]:
    items = get_json(kube, "events.events.k8s.io", "-n", namespace)["items"]
    found = [e for e in items if (e.get("regarding") or {}).get("kind") == kind]
    return sorted(found, key=lambda e: e.get("eventTime") or e["metadata"]["creationTimestamp"])


def event_reasons(kube: KubeCluster, namespace: str, kind: str = "VpnLink") -> list[str]:
    return [e["reason"] for e in events(kube, namespace, kind)]


def rendered_outbound(kube: KubeCluster, namespace: str) -> str | None:
    found = kube.kubectl("get", "configmap", f"{STRATEGY}-config", "-n", namespace, "-o", "json", check=False)
    if found.returncode != 0:
        return None
    data = json.loads(found.stdout).get("data") or {}
    for text in data.values():
        return str(json.loads(text)["outbound"]["mode"])
    return None
