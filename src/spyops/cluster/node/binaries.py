"""The real node's Go-built binaries: kubelet and kube-proxy from the pinned Kubernetes module, CoreDNS
from its own module. Each wrapper module has its own cache key, so adding the node does not rebuild
the control plane."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from spyops.cluster.binaries import _kube_ldflags, pinned_versions
from spyops.toolchain import GoTool, build_go_tools

NODE_MODULE_DIR = Path(__file__).parent.parent / "node-gomodule"
COREDNS_MODULE_DIR = Path(__file__).parent.parent / "coredns-gomodule"


def node_tools() -> list[GoTool]:
    flags = _kube_ldflags(pinned_versions()["kubernetes"])
    return [
        GoTool("kubelet", "k8s.io/kubernetes/cmd/kubelet", flags),
        GoTool("kube-proxy", "k8s.io/kubernetes/cmd/kube-proxy", flags),
    ]


def coredns_tools() -> list[GoTool]:
    # `.`: the module's own main package, CoreDNS with only the plugins a cluster DNS needs.
    return [GoTool("coredns", ".", ("-s", "-w"))]


@dataclass(frozen=True)
class NodeBinaries:
    kubelet: Path
    kube_proxy: Path
    coredns: Path


def ensure_node_binaries(progress: Callable[[str], None] | None = None) -> NodeBinaries:
    """Build (once, then cached under ~/.cache/spyops) kubelet, kube-proxy and CoreDNS."""
    kube = build_go_tools(NODE_MODULE_DIR, node_tools(), cache_subdir="node-binaries", progress=progress)
    dns = build_go_tools(COREDNS_MODULE_DIR, coredns_tools(), cache_subdir="coredns", progress=progress)
    return NodeBinaries(kubelet=kube["kubelet"], kube_proxy=kube["kube-proxy"], coredns=dns["coredns"])
