"""The control plane's binaries: built from the pinned Go module, or taken from KUBEBUILDER_ASSETS."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from spyops.cluster.kwok_stages import write_default_stages
from spyops.toolchain import GoBuildError, GoTool, build_go_tools, cache_root

GO_MODULE_DIR = Path(__file__).parent / "gomodule"

_VERSION_PKG = "k8s.io/component-base/version"


def _pinned(module: str) -> str:
    text = (GO_MODULE_DIR / "go.mod").read_text()
    match = re.search(rf"^\s*{re.escape(module)} (v\S+)", text, re.MULTILINE)
    if match is None:
        raise GoBuildError(f"{module} is not pinned in {GO_MODULE_DIR / 'go.mod'}")
    return match.group(1)


def pinned_versions() -> dict[str, str]:
    """The versions the wrapper module pins: kubernetes, etcd and kwok."""
    return {
        "kubernetes": _pinned("k8s.io/kubernetes"),
        "etcd": _pinned("go.etcd.io/etcd/server/v3"),
        "kwok": _pinned("sigs.k8s.io/kwok"),
    }


def _kube_ldflags(version: str) -> tuple[str, ...]:
    major, minor = version.lstrip("v").split(".")[:2]
    return (
        f"-X {_VERSION_PKG}.gitVersion={version}",
        f"-X {_VERSION_PKG}.gitMajor={major}",
        f"-X {_VERSION_PKG}.gitMinor={minor}",
        f"-X {_VERSION_PKG}.gitTreeState=clean",
        "-s",
        "-w",
    )


def control_plane_tools() -> list[GoTool]:
    kube = pinned_versions()["kubernetes"]
    flags = _kube_ldflags(kube)
    return [
        GoTool("etcd", "go.etcd.io/etcd/server/v3", ("-s", "-w")),
        GoTool("kube-apiserver", "k8s.io/kubernetes/cmd/kube-apiserver", flags),
        GoTool("kube-controller-manager", "k8s.io/kubernetes/cmd/kube-controller-manager", flags),
        GoTool("kube-scheduler", "k8s.io/kubernetes/cmd/kube-scheduler", flags),
        GoTool("kwok", "sigs.k8s.io/kwok/cmd/kwok", ("-s", "-w")),
    ]


@dataclass(frozen=True)
class ControlPlaneBinaries:
    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    kube_scheduler: Path
    kwok: Path
    kwok_stages: Path  # kwok's own default Stage definitions, copied from the pinned module


def _from_assets(assets: Path) -> dict[str, Path]:
    """Prebuilt binaries (envtest layout) that exist in KUBEBUILDER_ASSETS."""
    found = {}
    for tool in control_plane_tools():
        candidate = assets / tool.name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            found[tool.name] = candidate
    return found


def ensure_binaries(progress: Callable[[str], None] | None = None) -> ControlPlaneBinaries:
    """Binaries for the control plane, building (once) whatever KUBEBUILDER_ASSETS does not provide."""
    tools = control_plane_tools()
    found: dict[str, Path] = {}
    assets = os.environ.get("KUBEBUILDER_ASSETS")
    if assets:
        assets_dir = Path(assets)
        if not assets_dir.is_dir():
            raise GoBuildError(f"KUBEBUILDER_ASSETS={assets} is not a directory")
        found = _from_assets(assets_dir)
    missing = [tool for tool in tools if tool.name not in found]
    if missing:
        found.update(build_go_tools(GO_MODULE_DIR, missing, cache_subdir="kube-binaries", progress=progress))
    stages = _ensure_kwok_stages()
    return ControlPlaneBinaries(
        etcd=found["etcd"],
        kube_apiserver=found["kube-apiserver"],
        kube_controller_manager=found["kube-controller-manager"],
        kube_scheduler=found["kube-scheduler"],
        kwok=found["kwok"],
        kwok_stages=stages,
    )


def _ensure_kwok_stages() -> Path:
    """kwok needs Stage objects (node and pod lifecycles); use the ones its pinned module ships."""
    target = cache_root() / "kwok-stages" / f"{pinned_versions()['kwok']}.yaml"
    if not target.is_file():
        write_default_stages(GO_MODULE_DIR, target)
    return target
