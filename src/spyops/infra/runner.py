"""`tofu` command lines for one environment: init, plan, apply, output.

Pure argv builders (easy to test) plus one function that runs them with the
cached tofu and the mirror-only CLI config.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from spyops.infra.toolchain import InfraToolError, InfraTools

ENVIRONMENTS = ("dev", "prod")
PLAN_FILE = "tfplan"


def terraform_root() -> Path:
    """The checkout's terraform/ folder, or $SPYOPS_TERRAFORM_DIR."""
    explicit = os.environ.get("SPYOPS_TERRAFORM_DIR")
    root = Path(explicit) if explicit else Path(__file__).resolve().parents[3] / "terraform"
    if not (root / "envs").is_dir():
        raise InfraToolError(
            f"{root} has no envs/ folder; set SPYOPS_TERRAFORM_DIR to the repository's terraform/"
        )
    return root


def environment_dir(root: Path, environment: str) -> Path:
    if environment not in ENVIRONMENTS:
        raise InfraToolError(
            f"unknown environment {environment!r}; expected one of {', '.join(ENVIRONMENTS)}"
        )
    path = root / "envs" / environment
    for name in ("main.tf", "terraform.tfvars", "backend.hcl"):
        if not (path / name).is_file():
            raise InfraToolError(f"{path / name} is missing")
    return path


def init_argv(tofu: Path, env_dir: Path) -> list[str]:
    return [str(tofu), f"-chdir={env_dir}", "init", "-input=false", "-backend-config=backend.hcl"]


def check_var_files(env_dir: Path, names: Sequence[str]) -> None:
    """Extra .tfvars must be files in the environment's folder (checked before anything runs)."""
    for name in names:
        if Path(name).name != name or not (env_dir / name).is_file():
            raise InfraToolError(f"--var-file {name}: no such file in {env_dir} (give a file name there)")


def plan_argv(tofu: Path, env_dir: Path, extra_var_files: Sequence[str] = ()) -> list[str]:
    """terraform.tfvars, then each extra file on top (e.g. dev's budget.tfvars profile)."""
    check_var_files(env_dir, extra_var_files)
    return [
        str(tofu),
        f"-chdir={env_dir}",
        "plan",
        "-input=false",
        "-var-file=terraform.tfvars",
        *(f"-var-file={name}" for name in extra_var_files),
        f"-out={PLAN_FILE}",
    ]


def apply_argv(tofu: Path, env_dir: Path) -> list[str]:
    """Apply exactly the plan saved by `plan` (no re-plan, no prompt: the plan was the review)."""
    if not (env_dir / PLAN_FILE).is_file():
        raise InfraToolError(
            f"no saved plan at {env_dir / PLAN_FILE}; run `spyops infra plan --env {env_dir.name}` first"
        )
    return [str(tofu), f"-chdir={env_dir}", "apply", "-input=false", PLAN_FILE]


def output_argv(tofu: Path, env_dir: Path, name: str | None = None) -> list[str]:
    argv = [str(tofu), f"-chdir={env_dir}", "output", "-json"]
    if name:
        argv.append(name)
    return argv


def run(tools: InfraTools, argv: Sequence[str], *, local_mirror: bool = False) -> int:
    """Run one tofu command in the foreground; returns its exit status.

    Real plans and applies take the signed provider release from the registry
    (local_mirror=False); the local mirror holds a provider built from a main
    commit, which is right for offline validation and wrong for production.
    """
    return subprocess.run(list(argv), env=tools.env(local_mirror=local_mirror), check=False).returncode
