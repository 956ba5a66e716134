"""`spyops infra`: the tofu command lines it runs, its CLI config, and its errors when tools are missing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spyops.cli import app
from spyops.infra import runner
from spyops.infra.toolchain import (
    AZURE_MODULE_PIN,
    AZURERM_MIRROR_VERSION,
    InfraToolError,
    find_tools,
    pinned_tofu_version,
    render_cli_config,
)
from tests.terraform.conftest import TERRAFORM_ROOT

TOFU = Path("/cache/tofu")


def test_argv_per_step() -> None:
    env_dir = runner.environment_dir(TERRAFORM_ROOT, "dev")
    assert runner.init_argv(TOFU, env_dir) == [
        "/cache/tofu",
        f"-chdir={env_dir}",
        "init",
        "-input=false",
        "-backend-config=backend.hcl",
    ]
    assert runner.plan_argv(TOFU, env_dir)[2:] == [
        "plan",
        "-input=false",
        "-var-file=terraform.tfvars",
        "-out=tfplan",
    ]
    assert runner.output_argv(TOFU, env_dir, "vpn_link")[2:] == ["output", "-json", "vpn_link"]


def test_plan_takes_the_budget_profile_on_top_of_terraform_tfvars() -> None:
    env_dir = runner.environment_dir(TERRAFORM_ROOT, "dev")
    assert runner.plan_argv(TOFU, env_dir, ["budget.tfvars"])[2:] == [
        "plan",
        "-input=false",
        "-var-file=terraform.tfvars",
        "-var-file=budget.tfvars",
        "-out=tfplan",
    ]
    with pytest.raises(InfraToolError, match=r"--var-file budget.tfvars: no such file"):
        runner.plan_argv(TOFU, runner.environment_dir(TERRAFORM_ROOT, "prod"), ["budget.tfvars"])
    with pytest.raises(InfraToolError, match=r"give a file name there"):
        runner.plan_argv(TOFU, env_dir, ["../prod/terraform.tfvars"])


def test_apply_needs_a_saved_plan(tmp_path: Path) -> None:
    with pytest.raises(InfraToolError, match="run `spyops infra plan --env dev` first"):
        runner.apply_argv(TOFU, tmp_path / "dev")
    (tmp_path / runner.PLAN_FILE).write_text("plan")
    assert runner.apply_argv(TOFU, tmp_path)[2:] == ["apply", "-input=false", "tfplan"]


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(InfraToolError, match="unknown environment 'staging'"):
        runner.environment_dir(TERRAFORM_ROOT, "staging")


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
