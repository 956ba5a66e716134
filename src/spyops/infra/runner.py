"""`tofu` command lines for one environment: init, plan, apply, output.

There is one root module (terraform/stack); an environment is its values and
its state location (terraform/envs/<env>/terraform.tfvars and backend.hcl).
Pure argv builders (easy to test) plus one function that runs them with the
cached tofu and the mirror-only CLI config.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from spyops.infra.toolchain import InfraToolError, InfraTools

ENVIRONMENTS = ("dev", "prod")
PLAN_FILE = "tfplan"
STACK = "stack"
# What an environment folder holds: values and backend settings, nothing tofu runs as a root.
TFVARS = "terraform.tfvars"
BACKEND_CONFIG = "backend.hcl"


@dataclass(frozen=True)
class Environment:
    """The stack applied with one environment's values, state and working data."""

    name: str
    stack: Path  # terraform/stack: the root module (-chdir)
    values: Path  # terraform/envs/<name>

    @property
    def data_dir(self) -> Path:
        """TF_DATA_DIR: each environment keeps its own initialised backend, so running `output`
        or `apply` for prod can never read the state dev initialised last (one .terraform in the
        stack would be shared by both)."""
        return self.values / ".terraform"

    @property
    def plan_file(self) -> Path:
        return self.values / PLAN_FILE

    def var_file(self, name: str) -> Path:
        return self.values / name


def terraform_root() -> Path:
    """The checkout's terraform/ folder, or $SPYOPS_TERRAFORM_DIR."""
    explicit = os.environ.get("SPYOPS_TERRAFORM_DIR")
    root = Path(explicit) if explicit else Path(__file__).resolve().parents[3] / "terraform"
    if not (root / STACK).is_dir() or not (root / "envs").is_dir():
        raise InfraToolError(
            f"{root} has no {STACK}/ and envs/ folders; set SPYOPS_TERRAFORM_DIR to the repository's terraform/"
        )
    return root.resolve()


def environment(root: Path, name: str) -> Environment:
    if name not in ENVIRONMENTS:
        raise InfraToolError(f"unknown environment {name!r}; expected one of {', '.join(ENVIRONMENTS)}")
    target = Environment(name=name, stack=root / STACK, values=root / "envs" / name)
    for path in (target.stack / "main.tf", target.values / TFVARS, target.values / BACKEND_CONFIG):
        if not path.is_file():
            raise InfraToolError(f"{path} is missing")
    return target


def init_argv(tofu: Path, target: Environment) -> list[str]:
    return [
        str(tofu),
        f"-chdir={target.stack}",
        "init",
        "-input=false",
        f"-backend-config={target.var_file(BACKEND_CONFIG)}",
    ]


def check_var_files(target: Environment, names: Sequence[str]) -> None:
    """Extra .tfvars must be files in the environment's folder (checked before anything runs)."""
    for name in names:
        if Path(name).name != name or not target.var_file(name).is_file():
            raise InfraToolError(
                f"--var-file {name}: no such file in {target.values} (give a file name there)"
            )


def plan_argv(tofu: Path, target: Environment, extra_var_files: Sequence[str] = ()) -> list[str]:
    """terraform.tfvars, then each extra file on top (e.g. dev's budget.tfvars profile)."""
    check_var_files(target, extra_var_files)
    return [
        str(tofu),
        f"-chdir={target.stack}",
        "plan",
        "-input=false",
        f"-var-file={target.var_file(TFVARS)}",
        *(f"-var-file={target.var_file(name)}" for name in extra_var_files),
        f"-out={target.plan_file}",
    ]


def apply_argv(tofu: Path, target: Environment) -> list[str]:
    """Apply exactly the plan saved by `plan` (no re-plan, no prompt: the plan was the review)."""
    if not target.plan_file.is_file():
        raise InfraToolError(
            f"no saved plan at {target.plan_file}; run `spyops infra plan --env {target.name}` first"
        )
    return [str(tofu), f"-chdir={target.stack}", "apply", "-input=false", str(target.plan_file)]


def output_argv(tofu: Path, target: Environment, name: str | None = None) -> list[str]:
    """Outputs come from the environment's state, which only an initialised data dir can reach."""
    if not target.data_dir.is_dir():
        raise InfraToolError(
            f"{target.name}'s backend is not initialised on this machine ({target.data_dir}); "
            f"run `spyops infra plan --env {target.name}` first"
        )
    argv = [str(tofu), f"-chdir={target.stack}", "output", "-json"]
    if name:
        argv.append(name)
    return argv


def run(tools: InfraTools, target: Environment, argv: Sequence[str], *, local_mirror: bool = False) -> int:
    """Run one tofu command in the foreground, in the environment's data dir; returns its exit status.

    Real plans and applies take the signed provider release from the registry
    (local_mirror=False); the local mirror holds a provider built from a main
    commit, which is right for offline validation and wrong for production.
    """
    env = tools.env(local_mirror=local_mirror)
    env["TF_DATA_DIR"] = str(target.data_dir)
    return subprocess.run(list(argv), env=env, check=False).returncode
