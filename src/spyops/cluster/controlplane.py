"""Start and stop a real Kubernetes control plane on loopback: etcd, kube-apiserver,
kube-controller-manager, kube-scheduler and kwok (simulated nodes), with TLS and RBAC on.

One class serves both uses: the pytest fixture (processes die with the test run)
and `spyops cluster up` (processes outlive the command; their pids are recorded
in the state directory so `down` and `status` can find them).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from spyops.cluster.audit import apiserver_audit_flags
from spyops.cluster.binaries import ControlPlaneBinaries, pinned_versions
from spyops.common.certs import CertificateAuthority, KeyPair, write_rsa_key_pair

KWOK_NODE_NAME = "kwok-node-0"
# Room for 4,000 strategies (a bot and a detector each: 350m CPU, 448 MiB requested) and their
# gateways on the one simulated node, so scale benchmarks measure the control plane, not a full node
# (`spyops bench operator` runs 1,550 at once by default: the floor, the bulk and the failover phase).
KWOK_NODE_CAPACITY = {"cpu": "2000", "memory": "4Ti", "pods": "8000"}
CONTROLLER_CLIENT_FLAGS = ("--kube-api-qps=500", "--kube-api-burst=1000")
SERVICE_CIDR = "10.96.0.0/16"
_STATE_FILE = "state.json"
_PR_SET_PDEATHSIG = 1


class ClusterError(RuntimeError):
    """A control-plane operation failed; the message is meant for a person."""


@dataclass
class ComponentState:
    name: str
    pid: int
    binary: str
    log: str


@dataclass
class ClusterState:
    """What `spyops cluster up` leaves behind for `status`, `env` and `down`."""

    name: str
    state_dir: str
    kubeconfig: str
    server: str
    ports: dict[str, int]
    versions: dict[str, str]
    components: list[ComponentState] = field(default_factory=list)
    started_at: float = 0.0
    node: dict[str, Any] | None = None  # the real node's host state (spyops.cluster.node), if any

    def save(self) -> None:
        path = Path(self.state_dir) / _STATE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        os.replace(tmp, path)

    @classmethod
    def load(cls, state_dir: Path) -> ClusterState | None:
        path = state_dir / _STATE_FILE
        if not path.is_file():
            return None
        try:
            raw = json.loads(path.read_text())
            components = [ComponentState(**c) for c in raw.pop("components", [])]
            return cls(components=components, **raw)
        except (ValueError, TypeError) as exc:
            raise ClusterError(f"{path} is unreadable ({exc}); remove {state_dir} to start over") from exc


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def process_alive(pid: int, binary: str) -> bool:
    """True when ``pid`` runs ``binary`` (so a recycled pid is never mistaken for ours)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    except OSError:
        return False
    return cmdline == binary


def _tls_context(ca: Path, client: KeyPair | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca))
    if client is not None:
        context.load_cert_chain(str(client.cert), str(client.key))
    return context


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: ask the kernel to SIGKILL it when
    # the parent (the test run) dies, so no control-plane process outlives pytest.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def terminate(pid: int, binary: str, timeout: float = 10.0) -> None:
    """SIGTERM the process group, then SIGKILL if it has not gone within ``timeout``."""
    if not process_alive(pid, binary):
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process_alive(pid, binary):
            return
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _kubeconfig(server: str, ca: Path, client: KeyPair, user: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "spyops", "cluster": {"server": server, "certificate-authority": str(ca)}}],
        "users": [
            {"name": user, "user": {"client-certificate": str(client.cert), "client-key": str(client.key)}}
        ],
        "contexts": [{"name": f"{user}@spyops", "context": {"cluster": "spyops", "user": user}}],
        "current-context": f"{user}@spyops",
    }


class ControlPlane:
    """A control plane rooted in ``state_dir``.

    ``detached=False`` (tests): children get SIGKILL if this process dies.
    ``detached=True`` (`spyops cluster up`): children run in their own sessions
    and keep running after the command returns.
    """

    def __init__(
        self,
        state_dir: Path,
        binaries: ControlPlaneBinaries,
        *,
        name: str = "default",
        apiserver_port: int | None = None,
        detached: bool = False,
        progress: Callable[[str], None] | None = None,
        bind_address: str = "127.0.0.1",
        start_kwok: bool = True,
        apiserver_args: Callable[[CertificateAuthority], Sequence[str]] | None = None,
        server_hosts: Sequence[str] = (),
    ) -> None:
        self.state_dir = state_dir
        # The real node (spyops.cluster.node) serves the API on its link to the node and replaces kwok.
        self.bind_address = bind_address
        self.start_kwok = start_kwok
        self.apiserver_args = apiserver_args  # extra flags, given the cluster's PKI
        self.server_hosts = tuple(server_hosts)
        self.pki: CertificateAuthority | None = None
        self.binaries = binaries
        self.name = name
        self.detached = detached
        self._say = progress or (lambda _msg: None)
        self._requested_port = apiserver_port
        self._processes: list[tuple[ComponentState, subprocess.Popen[bytes] | None]] = []
        self.state: ClusterState | None = None

    # -- paths -------------------------------------------------------------
    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "admin.kubeconfig"

    @property
    def pki_dir(self) -> Path:
        return self.state_dir / "pki"

    @property
    def server(self) -> str:
        if self.state is None:
            raise ClusterError("the control plane is not started")
        return self.state.server

    # -- lifecycle ---------------------------------------------------------
    def start(self, timeout: float = 120.0) -> ClusterState:
        if self._requested_port is not None and not port_is_free(self._requested_port, self.bind_address):
            raise ClusterError(
                f"port {self._requested_port} on 127.0.0.1 is already in use; "
                "stop whatever listens there or choose another port with --port"
            )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / "logs").mkdir(exist_ok=True)
        ports = {
            "etcd": free_port(),
            "etcd-peer": free_port(),
            "apiserver": self._requested_port or free_port(self.bind_address),
            "controller-manager": free_port(),
            "scheduler": free_port(),
            "kwok": free_port(),
        }
        server = f"https://{self.bind_address}:{ports['apiserver']}"
        self.state = ClusterState(
            name=self.name,
            state_dir=str(self.state_dir),
            kubeconfig=str(self.kubeconfig),
            server=server,
            ports=ports,
            versions=pinned_versions(),
            started_at=time.time(),
        )
        deadline = time.monotonic() + timeout
        try:
            self._start_all(ports, server, deadline)
        except BaseException:
            self.stop()
            raise
        self.state.save()
        return self.state

    def _start_all(self, ports: dict[str, int], server: str, deadline: float) -> None:
        pki = self.pki = CertificateAuthority(self.pki_dir, "spyops-cluster-ca")
        serving = pki.issue(
            "apiserver",
            "kube-apiserver",
            hosts=(
                "127.0.0.1",
                "localhost",
                "10.96.0.1",
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
                *self.server_hosts,
            ),
        )
        admin = pki.issue("admin", "spyops-admin", organization="system:masters", client=True)
        kcm = pki.issue("controller-manager", "system:kube-controller-manager", client=True)
        scheduler = pki.issue("scheduler", "system:kube-scheduler", client=True)
        # kwok plays every kubelet of the simulated nodes; it needs broad node and
        # pod status rights, which system:masters grants without extra RBAC objects.
        kwok = pki.issue("kwok", "kwok-controller", organization="system:masters", client=True)
        sa = write_rsa_key_pair(self.pki_dir / "sa.pub", self.pki_dir / "sa.key")
        ca = pki.ca.cert

        configs = {}
        for user, pair in (
            ("admin", admin),
            ("controller-manager", kcm),
            ("scheduler", scheduler),
            ("kwok", kwok),
        ):
            path = self.state_dir / f"{user}.kubeconfig"
            path.write_text(yaml.safe_dump(_kubeconfig(server, ca, pair, user)))
            path.chmod(0o600)
            configs[user] = path

        etcd_url = f"http://127.0.0.1:{ports['etcd']}"
        peer_url = f"http://127.0.0.1:{ports['etcd-peer']}"
        self._say("starting etcd ...")
        self._spawn(
            "etcd",
            self.binaries.etcd,
            [
                "--name=spyops",
                f"--data-dir={self.state_dir / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=spyops={peer_url}",
                "--unsafe-no-fsync=true",
                "--log-level=warn",
            ],
        )
        self._wait_http("etcd", f"{etcd_url}/health", deadline, client=None)

        self._say("starting kube-apiserver ...")
        self._spawn(
            "kube-apiserver",
            self.binaries.kube_apiserver,
            [
                f"--etcd-servers={etcd_url}",
                f"--bind-address={self.bind_address}",
                f"--advertise-address={self.bind_address}",
                f"--secure-port={ports['apiserver']}",
                f"--tls-cert-file={serving.cert}",
                f"--tls-private-key-file={serving.key}",
                f"--client-ca-file={ca}",
                "--authorization-mode=Node,RBAC",
                "--anonymous-auth=false",  # every request must authenticate (tests check it)
                f"--service-account-issuer={server}",
                f"--service-account-key-file={sa.cert}",
                f"--service-account-signing-key-file={sa.key}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--allow-privileged=true",
                "--endpoint-reconciler-type=none",
                "--enable-priority-and-fairness=false",
                "--max-requests-inflight=0",
                "--max-mutating-requests-inflight=0",
                "--watch-cache=true",
                *apiserver_audit_flags(self.state_dir),
                "--v=0",
                *(self.apiserver_args(pki) if self.apiserver_args else ()),
            ],
        )
        self._wait_http("kube-apiserver", f"{server}/readyz", deadline, client=admin, ca=ca)

        self._say(
            "starting kube-controller-manager, kube-scheduler"
            + (" and kwok ..." if self.start_kwok else " ...")
        )
        self._spawn(
            "kube-controller-manager",
            self.binaries.kube_controller_manager,
            [
                f"--kubeconfig={configs['controller-manager']}",
                f"--authentication-kubeconfig={configs['controller-manager']}",
                f"--authorization-kubeconfig={configs['controller-manager']}",
                "--bind-address=127.0.0.1",
                f"--secure-port={ports['controller-manager']}",
                f"--service-account-private-key-file={sa.key}",
                f"--root-ca-file={ca}",
                f"--cluster-signing-cert-file={ca}",
                f"--cluster-signing-key-file={pki.ca.key}",
                "--use-service-account-credentials=true",
                "--allocate-node-cidrs=false",
                "--leader-elect=false",
                "--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller",
                # client-go's default 20 requests/s would make the ReplicaSets and pods of hundreds of
                # Deployments trickle out for minutes; the API server here has no other tenants.
                *CONTROLLER_CLIENT_FLAGS,
                "--v=0",
            ],
        )
        self._spawn(
            "kube-scheduler",
            self.binaries.kube_scheduler,
            [
                f"--kubeconfig={configs['scheduler']}",
                f"--authentication-kubeconfig={configs['scheduler']}",
                f"--authorization-kubeconfig={configs['scheduler']}",
                "--bind-address=127.0.0.1",
                f"--secure-port={ports['scheduler']}",
                "--leader-elect=false",
                *CONTROLLER_CLIENT_FLAGS,  # deprecated for kube-scheduler, but honoured without --config
                "--v=0",
            ],
        )
        if not self.start_kwok:
            with self.admin_client() as client:
                self._wait_default_service_account(client, deadline)
            return
        self._spawn(
            "kwok",
            self.binaries.kwok,
            [
                f"--kubeconfig={configs['kwok']}",
                f"--config={self.binaries.kwok_stages}",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                "--node-ip=127.0.0.1",
                # kwok renews the node's Lease (kubelet's heartbeat); without it the node lifecycle
                # controller marks the node NotReady after ~50 s and every pod Ready=False for good.
                "--node-lease-duration-seconds=40",
                f"--server-address=127.0.0.1:{ports['kwok']}",
                "--v=ERROR",
            ],
        )
        with self.admin_client() as client:
            self._register_node(client, deadline)
            self._start_local_path(client, pki, server)
            self._wait_default_service_account(client, deadline)

    def _start_local_path(self, client: httpx.Client, pki: CertificateAuthority, server: str) -> None:
        """The local-path provisioner and its default StorageClass, as k3s ships them: the operator claims
        volumes for every strategy, and a claim without a class that can bind keeps its pods Pending."""
        from spyops.cluster.node import provisioner

        for doc in [*provisioner.rbac(), provisioner.storage_class()]:
            group = doc["apiVersion"].rpartition("/")[0]
            plural = {"ClusterRole": "clusterroles", "ClusterRoleBinding": "clusterrolebindings"}.get(
                doc["kind"], "storageclasses"
            )
            response = client.post(f"/apis/{group}/{doc['apiVersion'].rpartition('/')[2]}/{plural}", json=doc)
            if response.status_code not in (201, 409):
                raise ClusterError(
                    f"could not create {doc['kind']} {doc['metadata']['name']}: {response.text}"
                )
        pair = pki.issue("local-path", provisioner.PROVISIONER_USER, client=True)
        kubeconfig = self.state_dir / "local-path.kubeconfig"
        kubeconfig.write_text(yaml.safe_dump(_kubeconfig(server, pki.ca.cert, pair, "local-path")))
        kubeconfig.chmod(0o600)
        self._spawn(
            "local-path-provisioner",
            Path(sys.executable),
            ["-m", "spyops.cluster.node.provisioner", f"--kubeconfig={kubeconfig}",
             f"--root={self.state_dir / 'volumes'}", f"--node={KWOK_NODE_NAME}"],
        )  # fmt: skip

    def _spawn(self, name: str, binary: Path, args: list[str], *, wrapper: Sequence[str] = ()) -> None:
        """Start ``binary`` (through ``wrapper``, a command that execs it, such as nsenter) and record it."""
        assert self.state is not None
        log_path = self.state_dir / "logs" / f"{name}.log"
        with log_path.open("ab") as log_file:
            process = subprocess.Popen(
                [*wrapper, str(binary), *args],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=self.state_dir,
                start_new_session=True,
                preexec_fn=None if self.detached else _die_with_parent,
            )
        component = ComponentState(name=name, pid=process.pid, binary=str(binary), log=str(log_path))
        self._processes.append((component, process))
        self.state.components.append(component)
        self.state.save()

    def _check_alive(self) -> None:
        for component, process in self._processes:
            if process is not None and process.poll() is not None:
                tail = Path(component.log).read_text(errors="replace")[-3000:]
                raise ClusterError(
                    f"{component.name} exited with code {process.returncode} during start-up; "
                    f"last log lines ({component.log}):\n{tail}"
                )

    def _wait_http(
        self,
        name: str,
        url: str,
        deadline: float,
        *,
        client: KeyPair | None,
        ca: Path | None = None,
    ) -> None:
        verify: ssl.SSLContext | bool = _tls_context(ca, client) if ca else False
        last_error = "no answer"
        with httpx.Client(verify=verify, timeout=2.0) as http:
            while time.monotonic() < deadline:
                self._check_alive()
                try:
                    response = http.get(url)
                    if response.status_code == 200:
                        return
                    last_error = f"HTTP {response.status_code}: {response.text[:200]}"
                except httpx.HTTPError as exc:
                    last_error = str(exc) or type(exc).__name__
                time.sleep(0.2)
        raise ClusterError(f"{name} did not become ready at {url}: {last_error}")

    @contextlib.contextmanager
    def admin_client(self) -> Iterator[httpx.Client]:
        pki = self.pki_dir
        context = _tls_context(pki / "ca.crt", KeyPair(pki / "admin.crt", pki / "admin.key"))
        with httpx.Client(base_url=self.server, verify=context, timeout=10.0) as client:
            yield client

    def _register_node(self, client: httpx.Client, deadline: float) -> None:
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": KWOK_NODE_NAME,
                "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                "labels": {
                    "type": "kwok",
                    "kubernetes.io/hostname": KWOK_NODE_NAME,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "node-role.kubernetes.io/edge": "",
                },
            },
            "status": {
                "allocatable": KWOK_NODE_CAPACITY,
                "capacity": KWOK_NODE_CAPACITY,
            },
        }
        response = client.post("/api/v1/nodes", json=node)
        if response.status_code not in (201, 409):
            raise ClusterError(
                f"could not register the kwok node: HTTP {response.status_code} {response.text}"
            )
        while time.monotonic() < deadline:
            self._check_alive()
            current = client.get(f"/api/v1/nodes/{KWOK_NODE_NAME}").json()
            conditions = current.get("status", {}).get("conditions", [])
            if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
                return
            time.sleep(0.2)
        raise ClusterError(f"the kwok node {KWOK_NODE_NAME} did not become Ready (see kwok's log)")

    def _wait_default_service_account(self, client: httpx.Client, deadline: float) -> None:
        # Pods are refused until the controller-manager has created the namespace's
        # default ServiceAccount; waiting here makes the first test deterministic.
        while time.monotonic() < deadline:
            self._check_alive()
            if client.get("/api/v1/namespaces/default/serviceaccounts/default").status_code == 200:
                return
            time.sleep(0.2)
        raise ClusterError("kube-controller-manager did not create the default ServiceAccount in time")

    def stop(self) -> None:
        """Stop every process this control plane started, newest first."""
        for component, process in reversed(self._processes):
            terminate(component.pid, component.binary)
            if process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=5)
        self._processes.clear()


def stop_recorded(state: ClusterState) -> list[str]:
    """Stop the processes a detached `cluster up` recorded; return the names it stopped."""
    stopped = []
    for component in reversed(state.components):
        if process_alive(component.pid, component.binary):
            terminate(component.pid, component.binary)
            stopped.append(component.name)
    return stopped
