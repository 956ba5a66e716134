"""The embedded cluster with a real node: the control plane (no kwok) plus kubelet, containerd + runc +
CNI, kube-proxy, CoreDNS and a local-path provisioner, in the node's own namespaces
(spyops.cluster.node.sandbox). `spyops cluster up --node real` and the `real_node` test fixture use it.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from spyops.cluster.binaries import ControlPlaneBinaries
from spyops.cluster.controlplane import ClusterError, ClusterState, ControlPlane, _kubeconfig
from spyops.cluster.node import config as cfg
from spyops.cluster.node.binaries import NodeBinaries
from spyops.cluster.node.host import NodeError, kill_cgroups, make_cgroups, remove_cgroups, require_host
from spyops.cluster.node.images import load_images, wait_containerd
from spyops.cluster.node.provisioner import PROVISIONER_USER, storage_class
from spyops.cluster.node.provisioner import rbac as provisioner_rbac
from spyops.cluster.node.sandbox import SandboxState, create_sandbox, destroy_sandbox, nsenter
from spyops.common.certs import CertificateAuthority
from spyops.images.pause import ensure_pause_image

NODE_NAME = "spyops-node"
COREDNS_USER = "system:spyops:coredns"


@dataclass(frozen=True)
class NodeTimings:
    node_ready_seconds: float  # kubelet started -> Node Ready
    images_load_seconds: float


def coredns_rbac() -> list[dict[str, Any]]:
    """What CoreDNS's kubernetes plugin reads (the same rules as the upstream system:coredns role)."""
    return cfg.user_cluster_role(
        COREDNS_USER,
        [
            {
                "apiGroups": [""],
                "resources": ["endpoints", "services", "pods", "namespaces"],
                "verbs": ["list", "watch"],
            },
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
        ],
    )


def cleanup_node(node: dict[str, Any]) -> list[str]:
    """Undo what the node made on the host; return what could not be removed (empty when clean)."""
    sandbox = SandboxState(**node["sandbox"])
    kill_cgroups(node["cgroup_root"])  # the containers first (each in its own pod namespaces)
    destroy_sandbox(sandbox)
    return remove_cgroups(node["cgroup_root"])


class RealNodeCluster:
    """A control plane and one real node, rooted in ``state_dir``; detached as ControlPlane is."""

    def __init__(
        self,
        state_dir: Path,
        binaries: ControlPlaneBinaries,
        node_binaries: NodeBinaries,
        *,
        images: Sequence[str] = (),
        name: str = "default",
        apiserver_port: int | None = None,
        detached: bool = False,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.binaries = binaries
        self.node_binaries = node_binaries
        self.images = list(images)
        self.name = name
        self.apiserver_port = apiserver_port
        self.detached = detached
        self._say = progress or (lambda _msg: None)
        self.paths = cfg.NodePaths(state_dir / "node")
        self.plane: ControlPlane | None = None
        self.sandbox: SandboxState | None = None
        self.cgroup_root = f"/spyops-node-{secrets.token_hex(4)}"
        self.timings: NodeTimings | None = None

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "admin.kubeconfig"

    def start(self, timeout: float = 240.0) -> ClusterState:
        require_host()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        (self.state_dir / "logs").mkdir(exist_ok=True)
        self.paths.root.mkdir(parents=True, exist_ok=True)
        try:
            return self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout: float) -> ClusterState:
        deadline = time.monotonic() + timeout
        self._say("making the node's network and mount namespaces ...")
        sandbox = self.sandbox = create_sandbox(
            self.paths.root, self.state_dir / "logs" / "node-namespace.log", die_with_parent=not self.detached
        )
        plane = self.plane = ControlPlane(
            self.state_dir,
            self.binaries,
            name=self.name,
            apiserver_port=self.apiserver_port,
            detached=self.detached,
            progress=self._say,
            bind_address=sandbox.host_ip,
            start_kwok=False,
            apiserver_args=self._apiserver_args,
            server_hosts=(sandbox.host_ip,),
        )
        state = plane.start(timeout=max(30.0, deadline - time.monotonic()))
        # Recorded before the node's daemons start, so that `down` can undo even a half-made node.
        state.node = {"name": NODE_NAME, "cgroup_root": self.cgroup_root, "sandbox": sandbox.to_dict()}
        state.save()
        assert plane.pki is not None
        configs = self._identities(plane.pki, state.server)
        self._apply(coredns_rbac() + provisioner_rbac() + [storage_class()])
        self._write_configs(configs)
        inside = nsenter(sandbox.holder_pid)

        self._say("starting containerd ...")
        containerd = shutil.which("containerd") or "containerd"
        plane._spawn(
            "containerd", Path(containerd), [f"--config={self.paths.containerd_config}"], wrapper=inside
        )
        wait_containerd(inside, self.paths.containerd_socket, timeout=30)
        refs = [ensure_pause_image(), *self.images]
        self._say(f"loading {len(refs)} image(s) into containerd: {', '.join(refs)} ...")
        load_seconds = load_images(inside, self.paths.containerd_socket, refs, self.paths.root)

        self._say("starting kubelet ...")
        make_cgroups(self.cgroup_root)
        kubelet_started = time.monotonic()
        plane._spawn(
            "kubelet",
            self.node_binaries.kubelet,
            [
                f"--config={self.paths.kubelet_config}",
                f"--kubeconfig={configs['kubelet']}",
                f"--root-dir={self.paths.kubelet_root}",
                f"--hostname-override={NODE_NAME}",
                f"--node-ip={sandbox.node_ip}",
                "--v=1",
            ],
            wrapper=inside,
        )
        self._wait_node_ready(plane, deadline)
        ready_seconds = time.monotonic() - kubelet_started
        self._say("starting kube-proxy, CoreDNS and the local-path provisioner ...")
        plane._spawn(
            "kube-proxy",
            self.node_binaries.kube_proxy,
            [f"--config={self.paths.kube_proxy_config}", "--v=1"],
            wrapper=inside,
        )
        plane._spawn("coredns", self.node_binaries.coredns, [f"-conf={self.paths.corefile}"], wrapper=inside)
        plane._spawn(
            "local-path-provisioner",
            Path(sys.executable),
            [
                "-m",
                "spyops.cluster.node.provisioner",
                f"--kubeconfig={configs['local-path']}",
                f"--root={self.paths.volumes}",
                f"--node={NODE_NAME}",
            ],
        )
        self._wait_dns(sandbox, plane, deadline)
        self.timings = NodeTimings(round(ready_seconds, 2), round(load_seconds, 2))
        state.node["timings"] = {
            "node_ready_seconds": self.timings.node_ready_seconds,
            "images_load_seconds": self.timings.images_load_seconds,
        }
        state.save()
        return state

    def _apiserver_args(self, pki: CertificateAuthority) -> list[str]:
        client = pki.issue(
            "apiserver-kubelet-client",
            "kube-apiserver-kubelet-client",
            organization="system:masters",
            client=True,
        )
        return [
            "--kubelet-preferred-address-types=InternalIP",
            f"--kubelet-client-certificate={client.cert}",
            f"--kubelet-client-key={client.key}",
            f"--kubelet-certificate-authority={pki.ca.cert}",
            # Pods reach the API through the `kubernetes` Service: its endpoint is the advertised address.
            "--endpoint-reconciler-type=lease",
        ]

    def _identities(self, pki: CertificateAuthority, server: str) -> dict[str, Path]:
        """Client certificates and kubeconfigs: the kubelet as system:node:<name> (Node authorizer)."""
        assert self.sandbox is not None
        identities = {
            "kubelet": (f"system:node:{NODE_NAME}", "system:nodes"),
            "kube-proxy": ("system:kube-proxy", None),
            "coredns": (COREDNS_USER, None),
            "local-path": (PROVISIONER_USER, None),
        }
        paths = {}
        for user, (cn, org) in identities.items():
            pair = pki.issue(f"node-{user}", cn, organization=org, client=True)
            path = self.paths.root / f"{user}.kubeconfig"
            path.write_text(yaml.safe_dump(_kubeconfig(server, pki.ca.cert, pair, user)))
            path.chmod(0o600)
            paths[user] = path
        serving = pki.issue(
            "node-kubelet-serving", f"system:node:{NODE_NAME}", hosts=(self.sandbox.node_ip, NODE_NAME)
        )
        self._kubelet_serving = serving
        return paths

    def _write_configs(self, configs: dict[str, Path]) -> None:
        assert self.sandbox is not None
        assert self.plane is not None
        assert self.plane.pki is not None
        paths = self.paths
        for directory in (
            paths.containerd_root,
            paths.cni_conf_dir,
            paths.cni_ipam_dir,
            paths.volumes,
        ):
            directory.mkdir(parents=True, exist_ok=True)
        paths.containerd_config.write_text(
            cfg.containerd_config(
                paths, sandbox_image=ensure_pause_image(), runc=Path(shutil.which("runc") or "runc")
            )
            + f'\n[plugins."io.containerd.internal.v1.opt"]\npath = {json.dumps(str(paths.root / "opt"))}\n'
        )
        (paths.cni_conf_dir / "10-spyops.conflist").write_text(
            json.dumps(cfg.cni_conflist(paths, f"spyops-{self.name}"), indent=2)
        )
        settings = cfg.KubeletSettings(
            node_ip=self.sandbox.node_ip,
            ca_file=self.plane.pki.ca.cert,
            serving_cert=self._kubelet_serving.cert,
            serving_key=self._kubelet_serving.key,
            cgroup_root=self.cgroup_root,
        )
        paths.kubelet_config.write_text(cfg.dump_yaml(cfg.kubelet_config(paths, settings)))
        paths.kube_proxy_config.write_text(
            cfg.dump_yaml(cfg.kube_proxy_config(configs["kube-proxy"], NODE_NAME))
        )
        paths.corefile.write_text(cfg.corefile(configs["coredns"]))

    def _apply(self, documents: list[dict[str, Any]]) -> None:
        from spyops.cluster.kubectl import run_kubectl

        run_kubectl(self.kubeconfig, "apply", "--server-side", "-f", "-", input=yaml.safe_dump_all(documents))

    def _wait_node_ready(self, plane: ControlPlane, deadline: float) -> None:
        last = "not registered"
        with plane.admin_client() as client:
            while time.monotonic() < deadline:
                plane._check_alive()
                response = client.get(f"/api/v1/nodes/{NODE_NAME}")
                if response.status_code == 200:
                    conditions = response.json().get("status", {}).get("conditions", [])
                    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
                    if ready and ready.get("status") == "True":
                        return
                    last = (
                        f"Ready={ready.get('status')} ({ready.get('message')})"
                        if ready
                        else "no Ready condition"
                    )
                time.sleep(0.1)
        raise ClusterError(
            f"the node {NODE_NAME} did not become Ready: {last} (see {self.state_dir / 'logs' / 'kubelet.log'})"
        )

    def _wait_dns(self, sandbox: SandboxState, plane: ControlPlane, deadline: float) -> None:
        probe = "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8181/ready', timeout=1)"
        while time.monotonic() < deadline:
            plane._check_alive()
            result = subprocess.run(
                [*nsenter(sandbox.holder_pid), sys.executable, "-c", probe], capture_output=True, check=False
            )
            if result.returncode == 0:
                return
            time.sleep(0.2)
        raise ClusterError(f"CoreDNS did not become ready (see {self.state_dir / 'logs' / 'coredns.log'})")

    def stop(self) -> list[str]:
        """Stop everything and undo the node's host changes; return what could not be removed."""
        if self.plane is not None:
            self.plane.stop()
        left: list[str] = []
        if self.sandbox is not None:
            kill_cgroups(self.cgroup_root)
            destroy_sandbox(self.sandbox)
            left = remove_cgroups(self.cgroup_root)
        return left


def node_error_types() -> tuple[type[Exception], ...]:
    from spyops.images.podman import ImageError
    from spyops.toolchain import GoBuildError

    return (ClusterError, NodeError, ImageError, GoBuildError, OSError)
