"""`spyops infra`: the tofu command lines it runs, its CLI config, and its errors when tools are missing."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spyops.cli import app
from spyops.infra import runner
from spyops.infra.toolchain import (
    AZURE_MODULE_PIN,
    AZURERM_MIRROR_VERSION,
    InfraToolError,
    InfraTools,
    find_tools,
    pinned_tofu_version,
    render_cli_config,
)
from tests.terraform.conftest import TERRAFORM_ROOT

TOFU = Path("/cache/tofu")


def test_argv_per_step() -> None:
    target = runner.environment(TERRAFORM_ROOT, "prod")
    stack, values = TERRAFORM_ROOT / "stack", TERRAFORM_ROOT / "envs" / "prod"
    assert runner.init_argv(TOFU, target) == [
        "/cache/tofu",
        f"-chdir={stack}",
        "init",
        "-input=false",
        f"-backend-config={values}/backend.hcl",
    ]
    assert runner.plan_argv(TOFU, target)[1:] == [
        f"-chdir={stack}",
        "plan",
        "-input=false",
        f"-var-file={values}/terraform.tfvars",
        f"-out={values}/tfplan",
    ]


def test_output_needs_an_initialised_backend(tmp_path: Path) -> None:
    target = runner.Environment(name="prod", stack=tmp_path / "stack", values=tmp_path / "prod")
    with pytest.raises(InfraToolError, match=r"run `spyops infra plan --env prod` first"):
        runner.output_argv(TOFU, target)
    target.data_dir.mkdir(parents=True)
    assert runner.output_argv(TOFU, target, "vpn_link")[1:] == [
        f"-chdir={tmp_path / 'stack'}",
        "output",
        "-json",
        "vpn_link",
    ]


def test_each_environment_runs_in_its_own_data_dir() -> None:
    """One stack, two initialised backends: prod's `output` never reads the state dev initialised."""
    dev, prod = (runner.environment(TERRAFORM_ROOT, name) for name in ("dev", "prod"))
    assert dev.stack == prod.stack == TERRAFORM_ROOT / "stack"
    assert dev.data_dir == TERRAFORM_ROOT / "envs" / "dev" / ".terraform"
    assert prod.data_dir == TERRAFORM_ROOT / "envs" / "prod" / ".terraform"


def test_run_sets_the_environments_data_dir(tmp_path: Path) -> None:
    """`run` hands tofu TF_DATA_DIR of the environment (seen by a real child process)."""
    target = runner.Environment(name="dev", stack=tmp_path, values=tmp_path / "dev")
    tools = InfraTools(tofu=TOFU, cli_config=tmp_path / "tofu.tfrc", mirror=tmp_path)
    seen = tmp_path / "seen"
    argv = [
        sys.executable,
        "-c",
        f"import os, pathlib; pathlib.Path({str(seen)!r}).write_text(os.environ['TF_DATA_DIR'])",
    ]
    assert runner.run(tools, target, argv) == 0
    assert seen.read_text() == str(tmp_path / "dev" / ".terraform")


def test_plan_takes_the_budget_profile_on_top_of_terraform_tfvars() -> None:
    target = runner.environment(TERRAFORM_ROOT, "dev")
    values = TERRAFORM_ROOT / "envs" / "dev"
    assert runner.plan_argv(TOFU, target, ["budget.tfvars"])[2:] == [
        "plan",
        "-input=false",
        f"-var-file={values}/terraform.tfvars",
        f"-var-file={values}/budget.tfvars",
        f"-out={values}/tfplan",
    ]
    with pytest.raises(InfraToolError, match=r"--var-file budget.tfvars: no such file"):
        runner.plan_argv(TOFU, runner.environment(TERRAFORM_ROOT, "prod"), ["budget.tfvars"])
    with pytest.raises(InfraToolError, match=r"give a file name there"):
        runner.plan_argv(TOFU, target, ["../prod/terraform.tfvars"])


def test_apply_needs_a_saved_plan(tmp_path: Path) -> None:
    target = runner.Environment(name="dev", stack=tmp_path / "stack", values=tmp_path / "dev")
    with pytest.raises(InfraToolError, match="run `spyops infra plan --env dev` first"):
        runner.apply_argv(TOFU, target)
    target.values.mkdir()
    (target.values / runner.PLAN_FILE).write_text("plan")
    assert runner.apply_argv(TOFU, target)[1:] == [
        f"-chdir={tmp_path / 'stack'}",
        "apply",
        "-input=false",
        str(tmp_path / "dev" / "tfplan"),
    ]


def test_unknown_or_incomplete_environment_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InfraToolError, match="unknown environment 'staging'"):
        runner.environment(TERRAFORM_ROOT, "staging")
    (tmp_path / "stack").mkdir()
    (tmp_path / "stack" / "main.tf").write_text("")
    (tmp_path / "envs" / "dev").mkdir(parents=True)
    (tmp_path / "envs" / "dev" / "terraform.tfvars").write_text("")
    with pytest.raises(InfraToolError, match=r"envs/dev/backend.hcl is missing"):
        runner.environment(tmp_path, "dev")


def test_terraform_root_needs_the_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "envs").mkdir()
    monkeypatch.setenv("SPYOPS_TERRAFORM_DIR", str(tmp_path))
    with pytest.raises(InfraToolError, match="has no stack/ and envs/ folders"):
        runner.terraform_root()
    (tmp_path / "stack").mkdir()
    assert runner.terraform_root() == tmp_path.resolve()


def test_cli_config_allows_the_mirror_only(tmp_path: Path) -> None:
    text = render_cli_config(tmp_path)
    assert f'path    = "{tmp_path}"' in text
    assert "registry.opentofu.org/hashicorp/azurerm" in text
    assert "registry.terraform.io/hashicorp/azurerm" in text
    assert "direct" not in text
    assert "network_mirror" not in text


def test_pins_are_consistent() -> None:
    assert re.fullmatch(r"v\d+\.\d+\.\d+", pinned_tofu_version())
    assert re.fullmatch(r"\d+\.\d+\.\d+", AZURERM_MIRROR_VERSION)
    go_mod = (Path(__file__).resolve().parents[2] / "src/spyops/infra/gomodule-azurerm/go.mod").read_text()
    assert f"github.com/hashicorp/terraform-provider-azurerm {AZURE_MODULE_PIN}" in go_mod


def test_missing_tools_give_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPYOPS_CACHE_DIR", str(tmp_path))
    with pytest.raises(InfraToolError, match="run `spyops infra build-tools`"):
        find_tools()
    result = CliRunner().invoke(app, ["infra", "output", "--env", "dev"])
    assert result.exit_code == 2
    assert "spyops infra build-tools" in result.output


def _stack_with_local_state(root: Path) -> None:
    """A terraform/ tree shaped like ours whose stack needs no provider and keeps local state."""
    (root / "stack").mkdir(parents=True)
    (root / "stack" / "main.tf").write_text(
        'terraform {\n  backend "local" {}\n}\n\n'
        'variable "environment" {\n  type = string\n}\n\n'
        'output "environment" {\n  value = var.environment\n}\n'
    )
    for name in runner.ENVIRONMENTS:
        (root / "envs" / name).mkdir(parents=True)
        (root / "envs" / name / "terraform.tfvars").write_text(f'environment = "{name}"\n')
        (root / "envs" / name / "backend.hcl").write_text(f'path = "../state/{name}.tfstate"\n')


def test_environments_keep_separate_state(
    infra_tools: InfraTools,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """`spyops infra` with the real tofu on one stack: dev and prod each plan, apply and read back
    their own state, in either order (one shared .terraform would point both at the last init)."""
    _stack_with_local_state(tmp_path / "terraform")
    monkeypatch.setenv("SPYOPS_TERRAFORM_DIR", str(tmp_path / "terraform"))
    cli = CliRunner()
    for name in runner.ENVIRONMENTS:
        for step in ("plan", "apply"):
            result = cli.invoke(app, ["infra", step, "--env", name, "--local-mirror"])
            assert result.exit_code == 0, f"{step} {name}: {result.output}{capfd.readouterr()}"
    capfd.readouterr()
    for name in (*runner.ENVIRONMENTS, "dev"):
        result = cli.invoke(app, ["infra", "output", "--env", name, "--local-mirror", "environment"])
        assert result.exit_code == 0, result.output
        assert capfd.readouterr().out.strip() == f'"{name}"'
    state = tmp_path / "terraform" / "state"
    assert sorted(path.name for path in state.glob("*.tfstate")) == ["dev.tfstate", "prod.tfstate"]
