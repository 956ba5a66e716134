"""helm, built from its official Go module (pinned in ``helm-gomodule/``) and cached.

``$SPYOPS_HELM`` may name a prebuilt helm instead (CI images that already ship one).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from spyops.toolchain.gobuild import GoBuildError, GoTool, build_go_tools

HELM_MODULE_DIR = Path(__file__).parent / "helm-gomodule"
_VERSION_PKG = "helm.sh/helm/v4/internal/version"


def pinned_helm_version() -> str:
    match = re.search(
        r"^require helm\.sh/helm/v4 (v\S+)", (HELM_MODULE_DIR / "go.mod").read_text(), re.MULTILINE
    )
    if match is None:
        raise GoBuildError(f"helm.sh/helm/v4 is not pinned in {HELM_MODULE_DIR / 'go.mod'}")
    return match.group(1)


def ensure_helm(progress: Callable[[str], None] | None = None) -> Path:
    """Path of a helm binary: $SPYOPS_HELM if set, else the pinned build (built once, then cached)."""
    explicit = os.environ.get("SPYOPS_HELM")
    if explicit:
        path = Path(explicit)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise GoBuildError(f"SPYOPS_HELM={explicit} is not an executable file")
        return path
    version = pinned_helm_version()
    tool = GoTool("helm", "helm.sh/helm/v4/cmd/helm", (f"-X {_VERSION_PKG}.version={version}", "-s", "-w"))
    return build_go_tools(HELM_MODULE_DIR, [tool], cache_subdir="helm", progress=progress)["helm"]


if __name__ == "__main__":
    print(ensure_helm(progress=print))


class HelmError(RuntimeError):
    """helm refused to render the chart; the message is helm's own."""


def helm_template(
    release: str,
    *args: str,
    chart: Path,
    helm: Path | None = None,
    error: Callable[[str], Exception] = HelmError,
) -> list[dict[str, Any]]:
    """The documents `helm template RELEASE CHART ARGS...` renders (`--show-only`, `-f`, `--namespace` ...).

    A failure raises ``error`` (the caller's own type where it reaches a user) with helm's message.
    """
    result = subprocess.run(
        [str(helm or ensure_helm()), "template", release, str(chart), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise error(f"helm template {' '.join(args)} failed: {result.stderr.strip()}")
    return [d for d in yaml.safe_load_all(result.stdout) if d]
