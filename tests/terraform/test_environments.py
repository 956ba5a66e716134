"""One root module (terraform/stack); each environment folder holds only its values and backend settings.

The stack is applied per environment with `-var-file=../envs/<env>/terraform.tfvars` and
`-backend-config=../envs/<env>/backend.hcl`. These checks keep it that way: no configuration
creeps back into envs/<env>, every value names a variable the stack declares (tofu only warns
about an undeclared one in a .tfvars file), and each environment's state has its own key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from spyops.infra import runner
from tests.terraform.conftest import ENVIRONMENTS, TERRAFORM_ROOT, load_dir, load_hcl

# What the azurerm backend needs per environment; anything else in backend.hcl is a mistake.
BACKEND_SETTINGS = {
    "resource_group_name",
    "storage_account_name",
    "container_name",
    "key",
    "use_azuread_auth",
}
# Written by `spyops infra` (TF_DATA_DIR and the saved plan) and kept out of git by .gitignore.
GENERATED = {".terraform", runner.PLAN_FILE}


def stack_variables() -> set[str]:
    parsed = load_dir(TERRAFORM_ROOT / runner.STACK)
    return {name for block in parsed["variable"] for name in block}


def misplaced_entries(folder: Path) -> list[str]:
    """Entries of an environment folder that are neither values (*.tfvars) nor backend settings."""
    return sorted(
        entry.name
        for entry in folder.iterdir()
        if entry.name not in GENERATED
        and not (entry.is_file() and (entry.name == runner.BACKEND_CONFIG or entry.suffix == ".tfvars"))
    )


def undeclared_values(tfvars: dict[str, Any], declared: set[str]) -> list[str]:
    return sorted(set(tfvars) - declared)


def test_the_environments_are_the_runners() -> None:
    folders = sorted(path.name for path in (TERRAFORM_ROOT / "envs").iterdir() if path.is_dir())
    assert folders == sorted(runner.ENVIRONMENTS) == sorted(ENVIRONMENTS)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_environment_holds_only_values_and_backend_settings(environment: str) -> None:
    folder = TERRAFORM_ROOT / "envs" / environment
    assert misplaced_entries(folder) == [], (
        f"envs/{environment} may hold only *.tfvars and {runner.BACKEND_CONFIG}; "
        "configuration belongs in terraform/stack"
    )
    assert (folder / runner.TFVARS).is_file()
    declared = stack_variables()
    for tfvars in sorted(folder.glob("*.tfvars")):
        values = load_hcl(tfvars)
        assert undeclared_values(values, declared) == [], f"{tfvars.name} sets variables the stack lacks"
    assert load_hcl(folder / runner.TFVARS)["environment"] == environment


def test_misplaced_entries_are_found(tmp_path: Path) -> None:
    for name in ("terraform.tfvars", "budget.tfvars", "backend.hcl", "tfplan"):
        (tmp_path / name).write_text("")
    (tmp_path / ".terraform").mkdir()
    assert misplaced_entries(tmp_path) == []
    (tmp_path / "main.tf").write_text("")
    (tmp_path / "tests").mkdir()
    assert misplaced_entries(tmp_path) == ["main.tf", "tests"]
    assert undeclared_values({"environment": "dev", "enviroment": "dev"}, {"environment"}) == ["enviroment"]


def test_each_environment_has_its_own_state() -> None:
    """Separate state by backend key (not workspaces): the environment is named on the command
    line, never a hidden `tofu workspace select`, and prod's state could move to its own account
    or container with its own access by editing prod's backend.hcl alone."""
    backends = {env: load_hcl(TERRAFORM_ROOT / "envs" / env / runner.BACKEND_CONFIG) for env in ENVIRONMENTS}
    for environment, settings in backends.items():
        assert set(settings) == BACKEND_SETTINGS, environment
        assert settings["key"] == f"{environment}.tfstate"
        assert settings["use_azuread_auth"] is True, "no storage account keys"
    locations = {(s["storage_account_name"], s["container_name"], s["key"]) for s in backends.values()}
    assert len(locations) == len(ENVIRONMENTS), "two environments share one state"
    # The stack's backend block is empty: every setting comes from the environment.
    (terraform,) = load_dir(TERRAFORM_ROOT / runner.STACK)["terraform"]
    assert terraform["backend"] == [{"azurerm": {}}]
