"""Every Dockerfile passes hadolint; the images themselves are built and run on the real node
(tests/realnode)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILES = sorted(
    p for p in ROOT.glob("**/Dockerfile") if ".venv" not in p.parts and "node_modules" not in p.parts
)


def test_the_dockerfiles_are_the_edge_image_and_the_azure_backend() -> None:
    # One image for the operator and the edge workloads (the root Dockerfile); the backend's own image
    # is what Azure App Service runs (terraform's backend_image).
    folders = {p.parent.relative_to(ROOT).as_posix() for p in DOCKERFILES}
    assert folders == {".", "workloads/backend"}


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
