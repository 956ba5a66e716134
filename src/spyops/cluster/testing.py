"""Support for tests that need Kubernetes: one control plane per session, a namespace per test.

With ``SPYOPS_TEST_USE_EXISTING_CLUSTER=1`` the same tests run against the cluster
that ``KUBECONFIG`` names (kind, k3s) instead of the embedded control plane.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from spyops.cluster.kubectl import run_kubectl

USE_EXISTING_ENV = "SPYOPS_TEST_USE_EXISTING_CLUSTER"


@dataclass(frozen=True)
class KubeCluster:
    kubeconfig: Path
    server: str
    embedded: bool
    pki_dir: Path | None = None  # only for the embedded control plane

    def kubectl(
        self, *args: str, check: bool = True, input: str | None = None, timeout: float = 120.0
    ) -> subprocess.CompletedProcess[str]:
        return run_kubectl(self.kubeconfig, *args, check=check, input=input, timeout=timeout)


def _server_of(kubeconfig: Path) -> str:
    import yaml

    config = yaml.safe_load(kubeconfig.read_text())
    current = config.get("current-context")
    context = next(c for c in config["contexts"] if c["name"] == current)["context"]
    cluster = next(c for c in config["clusters"] if c["name"] == context["cluster"])["cluster"]
    server: str = cluster["server"]
    return server


@contextlib.contextmanager
def session_cluster(workdir: Path) -> Iterator[KubeCluster]:
    """The cluster for a test session: an existing one when asked for, else a fresh embedded one."""
    if os.environ.get(USE_EXISTING_ENV) == "1":
        kubeconfig = os.environ.get("KUBECONFIG")
        if not kubeconfig:
            raise RuntimeError(f"{USE_EXISTING_ENV}=1 needs KUBECONFIG to name the cluster to test against")
        path = Path(kubeconfig)
        yield KubeCluster(kubeconfig=path, server=_server_of(path), embedded=False)
        return

    from spyops.cluster.binaries import ensure_binaries
    from spyops.cluster.controlplane import ControlPlane

    plane = ControlPlane(workdir / "cluster", ensure_binaries(), name="pytest")
    state = plane.start()
    try:
        yield KubeCluster(
            kubeconfig=plane.kubeconfig, server=state.server, embedded=True, pki_dir=plane.pki_dir
        )
    finally:
        plane.stop()


@dataclass(frozen=True)
class RealNodeKube(KubeCluster):
    """The embedded control plane with a real node (spyops.cluster.node); `node` is its host state."""

    node: dict[str, object] | None = None
    state_dir: Path | None = None


@contextlib.contextmanager
def real_node_cluster(workdir: Path, progress: Callable[[str], None] | None = None) -> Iterator[RealNodeKube]:
    """A control plane and a real node with the spyops images loaded, stopped and cleaned up afterwards.

    Fails (never skips) with a message naming what this machine lacks: root, the Debian runtime
    (`make node-runtime`), the images (`make images`)."""
    from spyops.cluster.binaries import ensure_binaries
    from spyops.cluster.node.binaries import ensure_node_binaries
    from spyops.cluster.node.host import require_host
    from spyops.cluster.node.realnode import RealNodeCluster
    from spyops.images.build import all_tags, require_images

    require_host()
    require_images(all_tags())
    cluster = RealNodeCluster(
        workdir / "cluster",
        ensure_binaries(progress=progress),
        ensure_node_binaries(progress=progress),
        images=all_tags(),
        name=f"pytest-{secrets.token_hex(3)}",
        progress=progress,
    )
    state = cluster.start()
    try:
        yield RealNodeKube(
            kubeconfig=cluster.kubeconfig,
            server=state.server,
            embedded=True,
            pki_dir=cluster.state_dir / "pki",
            node=state.node,
            state_dir=cluster.state_dir,
        )
    finally:
        left = cluster.stop()
        if left:
            raise RuntimeError(f"the real node left these behind: {', '.join(left)}")


def namespace_name(test_name: str) -> str:
    """A valid, unique namespace name derived from the test's name."""
    slug = re.sub(r"[^a-z0-9-]+", "-", test_name.lower()).strip("-")[:40].strip("-")
    return f"t-{slug}-{secrets.token_hex(3)}"


@contextlib.contextmanager
def namespace_for_test(cluster: KubeCluster, test_name: str) -> Iterator[str]:
    name = namespace_name(test_name)
    cluster.kubectl("create", "namespace", name)
    cluster.kubectl("label", "namespace", name, "spyops.io/test=true")
    try:
        yield name
    finally:
        cluster.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)
