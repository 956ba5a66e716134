"""Prometheus, promtool, Alertmanager and amtool, built from their pinned Go modules and cached.

The wrapper modules ``prometheus-gomodule/`` and ``alertmanager-gomodule/`` pin the versions (two
modules, because Prometheus requires a newer Alertmanager as a library than the one that builds from
its module alone; see the go.mod files). Prometheus is built with
``remove_all_sd``: only static and file service discovery, which is what the tests and the demo
use (in a cluster, kube-prometheus-stack brings its own Prometheus); that drops the cloud SDKs from
the build. ``$SPYOPS_PROMETHEUS_BIN_DIR`` may name a folder that already holds the four binaries.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from spyops.toolchain.gobuild import GoBuildError, GoTool, build_go_tools

PROMETHEUS_MODULE_DIR = Path(__file__).parent / "prometheus-gomodule"
ALERTMANAGER_MODULE_DIR = Path(__file__).parent / "alertmanager-gomodule"
NAMES = ("prometheus", "promtool", "alertmanager", "amtool")
_COMMON = "github.com/prometheus/common/version"


def pinned_versions() -> dict[str, str]:
    """{"prometheus": "v0.316.0", "alertmanager": "v0.31.1"} from the wrapper modules' go.mod."""
    found: dict[str, str] = {}
    for name, module_dir in (
        ("prometheus", PROMETHEUS_MODULE_DIR),
        ("alertmanager", ALERTMANAGER_MODULE_DIR),
    ):
        go_mod = module_dir / "go.mod"
        match = re.search(
            rf"^require github\.com/prometheus/{name} (v\S+)$", go_mod.read_text(), re.MULTILINE
        )
        if match is None:
            raise GoBuildError(f"github.com/prometheus/{name} is not pinned in {go_mod}")
        found[name] = match.group(1)
    return found


def release_version(module_version: str) -> str:
    """The release a module tag stands for: Prometheus 3.y.z is published as v0.3yy.z."""
    match = re.fullmatch(r"v0\.(3)(\d\d)\.(\d+)", module_version)
    if match is None:
        return module_version.removeprefix("v")
    return f"{match.group(1)}.{int(match.group(2))}.{match.group(3)}"


def monitoring_tools() -> tuple[list[GoTool], list[GoTool]]:
    """(Prometheus module's tools, Alertmanager module's tools)."""
    versions = pinned_versions()

    def flags(module: str) -> tuple[str, ...]:
        return (f"-X {_COMMON}.Version={release_version(versions[module])}", "-s", "-w")

    prom, am = "github.com/prometheus/prometheus/cmd", "github.com/prometheus/alertmanager/cmd"
    return (
        [
            GoTool("prometheus", f"{prom}/prometheus", flags("prometheus"), ("remove_all_sd",)),
            GoTool("promtool", f"{prom}/promtool", flags("prometheus"), ("remove_all_sd",)),
        ],
        [
            GoTool("alertmanager", f"{am}/alertmanager", flags("alertmanager")),
            GoTool("amtool", f"{am}/amtool", flags("alertmanager")),
        ],
    )


def ensure_monitoring_tools(progress: Callable[[str], None] | None = None) -> dict[str, Path]:
    """{name: path} of the four binaries: from $SPYOPS_PROMETHEUS_BIN_DIR, else the cached build."""
    explicit = os.environ.get("SPYOPS_PROMETHEUS_BIN_DIR")
    if explicit:
        paths = {name: Path(explicit) / name for name in NAMES}
        missing = [str(p) for p in paths.values() if not (p.is_file() and os.access(p, os.X_OK))]
        if missing:
            raise GoBuildError(
                f"SPYOPS_PROMETHEUS_BIN_DIR={explicit} lacks executables: {', '.join(missing)}"
            )
        return paths
    prometheus_tools, alertmanager_tools = monitoring_tools()
    built = build_go_tools(
        PROMETHEUS_MODULE_DIR, prometheus_tools, cache_subdir="prometheus", progress=progress
    )
    built |= build_go_tools(
        ALERTMANAGER_MODULE_DIR, alertmanager_tools, cache_subdir="alertmanager", progress=progress
    )
    return built


if __name__ == "__main__":
    for tool_name, tool_path in ensure_monitoring_tools(progress=print).items():
        print(f"{tool_name}: {tool_path}")
