"""Running the cached tofu offline on a copy of terraform/ (shared by the tofu tests)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from spyops.infra.toolchain import InfraTools
from tests.terraform.conftest import TERRAFORM_ROOT


def offline_env(tools: InfraTools, data_dir: Path) -> dict[str, str]:
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ARM_", "AZURE_", "TF_", "MSI_", "IDENTITY_"))
    }
    env = tools.env(base)
    # A dead proxy: an attempted registry or Azure call fails instead of leaking out.
    env.update(
        HTTPS_PROXY="http://127.0.0.1:9",
        HTTP_PROXY="http://127.0.0.1:9",
        NO_PROXY="",
        TF_DATA_DIR=str(data_dir),
        TF_PLUGIN_CACHE_DIR=str(data_dir.parent.parent / "plugin-cache"),
    )
    return env


def make_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of terraform/ (without .terraform folders) and a plugin cache, in a temporary folder."""
    root = tmp_path_factory.mktemp("tofu")
    shutil.copytree(
        TERRAFORM_ROOT, root / "terraform", ignore=shutil.ignore_patterns(".terraform*", "*.tfplan")
    )
    (root / "plugin-cache").mkdir()
    return root


def run_tofu(
    tools: InfraTools, workspace: Path, directory: str, *args: str
) -> subprocess.CompletedProcess[str]:
    data_dir = workspace / "data" / (directory.replace("/", "-").strip(".") or "root")
    data_dir.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [str(tools.tofu), f"-chdir={workspace / 'terraform' / directory}", *args],
        env=offline_env(tools, data_dir),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def plan_stack(
    tools: InfraTools, workspace: Path, environment: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """`tofu test -json -verbose` of terraform/stack with the environment's terraform.tfvars (then
    `args`, e.g. another -var-file on top): the mocked plan of stack/tests/, as `spyops infra plan`
    would give the values."""
    init = run_tofu(tools, workspace, "stack", "init", "-backend=false", "-input=false", "-no-color")
    assert init.returncode == 0, f"tofu init in stack failed:\n{init.stdout}\n{init.stderr}"
    return run_tofu(
        tools,
        workspace,
        "stack",
        "test",
        "-json",
        "-verbose",
        "-no-color",
        f"-var-file=../envs/{environment}/terraform.tfvars",
        *args,
    )
