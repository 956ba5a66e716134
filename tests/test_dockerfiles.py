"""Every workload's Dockerfile passes hadolint (no Docker engine here: they are checked statically)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILES = sorted(
    p for p in ROOT.glob("**/Dockerfile") if ".venv" not in p.parts and "node_modules" not in p.parts
)


def test_every_workload_has_a_dockerfile() -> None:
    folders = {p.parent.relative_to(ROOT).as_posix() for p in DOCKERFILES}
    expected = {"workloads/detector", "workloads/backend", "workloads/gateway-sim", "workloads/bot"}
    assert expected <= folders


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.relative_to(ROOT).as_posix())
def test_dockerfile_passes_hadolint(dockerfile: Path) -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run(
        [str(hadolint), "--failure-threshold", "info", str(dockerfile)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.relative_to(ROOT).as_posix())
def test_dockerfile_runs_as_non_root(dockerfile: Path) -> None:
    users = [line.split()[1] for line in dockerfile.read_text().splitlines() if line.startswith("USER ")]
    assert users, f"{dockerfile} never sets USER"
    assert users[-1] not in ("root", "0", "0:0"), f"{dockerfile} ends as root"
