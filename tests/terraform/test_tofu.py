"""OpenTofu on every module and the stack: fmt, init (local mirror only), validate, and the stack's
mocked plan with each environment's values.

Runs on a copy of terraform/ so the checkout gets no .terraform folders, with
no Azure credentials and an unreachable proxy, so anything that tried the
network would fail.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from spyops.infra.toolchain import AZURERM_MIRROR_VERSION, InfraTools, pinned_tofu_version
from tests.terraform.conftest import ENVIRONMENTS, MODULES
from tests.terraform.rendered import log_messages, resources_of_run
from tests.terraform.tofu_run import make_workspace, plan_stack
from tests.terraform.tofu_run import run_tofu as _tofu

DIRECTORIES = [f"modules/{name}" for name in MODULES] + ["stack"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_workspace(tmp_path_factory)


def test_tofu_is_the_pinned_release(infra_tools: InfraTools, workspace: Path) -> None:
    result = _tofu(infra_tools, workspace, "modules/networking", "version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"OpenTofu {pinned_tofu_version()}"
    assert not result.stderr, result.stderr


def test_fmt(infra_tools: InfraTools, workspace: Path) -> None:
    result = _tofu(infra_tools, workspace, ".", "fmt", "-check", "-recursive", "-diff")
    assert result.returncode == 0, (
        f"`tofu fmt -recursive terraform/` would change:\n{result.stdout}{result.stderr}"
    )


@pytest.mark.parametrize("directory", DIRECTORIES)
def test_init_and_validate(infra_tools: InfraTools, workspace: Path, directory: str) -> None:
    init = _tofu(infra_tools, workspace, directory, "init", "-backend=false", "-input=false", "-no-color")
    assert init.returncode == 0, f"tofu init in {directory} failed:\n{init.stdout}\n{init.stderr}"
    assert re.search(rf"Installed hashicorp/azurerm v{re.escape(AZURERM_MIRROR_VERSION)}", init.stdout), (
        init.stdout
    )
    validate = _tofu(infra_tools, workspace, directory, "validate", "-json", "-no-color")
    assert validate.returncode == 0, (
        f"tofu validate in {directory} failed:\n{validate.stdout}\n{validate.stderr}"
    )
    assert '"valid": true' in validate.stdout
    # Warnings are how a provider announces removals: treat them as failures.
    assert '"warning_count": 0' in validate.stdout, validate.stdout


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_plan_against_mocked_provider(infra_tools: InfraTools, workspace: Path, environment: str) -> None:
    """`tofu test` (stack/tests/) plans the stack with the environment's terraform.tfvars against a
    mocked azurerm; the plan names the environment's resource group, so the values were that env's."""
    result = plan_stack(infra_tools, workspace, environment)
    assert result.returncode == 0, (
        f"tofu test of {environment} failed:\n{result.stdout[-6000:]}\n{result.stderr}"
    )
    assert "1 passed, 0 failed" in result.stdout, result.stdout[-6000:]
    resources = resources_of_run(log_messages(result.stdout), "plan")
    group = resources["module.networking.azurerm_resource_group.this"]
    assert group["name"] == f"rg-spyops-{environment}"
    assert group["tags"]["environment"] == environment


def test_the_stack_needs_an_environments_values(infra_tools: InfraTools, workspace: Path) -> None:
    """Without a var-file the stack has no values (no defaults stand in for an environment)."""
    init = _tofu(infra_tools, workspace, "stack", "init", "-backend=false", "-input=false", "-no-color")
    assert init.returncode == 0, init.stdout + init.stderr
    result = _tofu(infra_tools, workspace, "stack", "test", "-no-color")
    assert result.returncode != 0
    assert "No value for required variable" in result.stdout + result.stderr, result.stdout + result.stderr
