"""The dev budget profile (envs/dev/budget.tfvars on top of terraform.tfvars) plans the stack with the mocked
provider and is what it says (Basic gateway on Azure's default proposals, cheapest tiers); dev without
it stays secure; prod refuses it; the README prices each profile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from spyops.infra.toolchain import InfraTools
from tests.terraform.conftest import TERRAFORM_ROOT, load_hcl
from tests.terraform.rendered import log_messages, resources_of_run
from tests.terraform.tofu_run import make_workspace, plan_stack

GATEWAY = "module.vpn.azurerm_virtual_network_gateway.this"
CONNECTION = "module.vpn.azurerm_virtual_network_gateway_connection.onprem"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_workspace(tmp_path_factory)


def plan(infra_tools: InfraTools, workspace: Path, environment: str, *args: str) -> dict[str, dict[str, Any]]:
    result = plan_stack(infra_tools, workspace, environment, *args)
    assert result.returncode == 0, (
        f"tofu test {' '.join(args)} failed:\n{result.stdout[-6000:]}{result.stderr}"
    )
    return resources_of_run(log_messages(result.stdout), "plan")


def test_budget_profile_plans_with_the_mocked_provider(infra_tools: InfraTools, workspace: Path) -> None:
    resources = plan(infra_tools, workspace, "dev", "-var-file=../envs/dev/budget.tfvars")
    gateway = resources[GATEWAY]
    assert (gateway["sku"], gateway["active_active"], gateway["generation"]) == (
        "Basic",
        False,
        "Generation1",
    )
    assert resources[CONNECTION]["ipsec_policy"] == []  # Azure's default proposals
    assert resources[CONNECTION]["connection_protocol"] == "IKEv2"
    assert not resources['module.vpn.azurerm_public_ip.gateway["primary"]'].get("zones")
    assert resources["module.app_service.azurerm_service_plan.this"]["sku_name"] == "B1"
    assert resources["module.acr.azurerm_container_registry.this"]["sku"] == "Basic"
    assert resources["module.signalr.azurerm_signalr_service.this"]["sku"][0]["name"] == "Free_F1"
    assert resources["module.static_web.azurerm_static_web_app.this"]["sku_tier"] == "Free"
    workspace_quota = resources["module.monitoring.azurerm_log_analytics_workspace.this"]["daily_quota_gb"]
    assert workspace_quota == 0.1


def test_dev_without_the_profile_stays_secure(infra_tools: InfraTools, workspace: Path) -> None:
    resources = plan(infra_tools, workspace, "dev")
    assert resources[GATEWAY]["sku"] == "VpnGw1AZ"
    policy = resources[CONNECTION]["ipsec_policy"]
    assert [(p["dh_group"], p["pfs_group"], p["ipsec_encryption"]) for p in policy] == [
        ("DHGroup14", "PFS2048", "GCMAES256")
    ]
    for environment in ("dev", "prod"):
        tfvars = load_hcl(TERRAFORM_ROOT / "envs" / environment / "terraform.tfvars")
        assert tfvars["vpn_gateway_sku"] != "Basic"
        assert "vpn_azure_default_ipsec_policy" not in tfvars


def test_prod_refuses_the_budget_gateway(infra_tools: InfraTools, workspace: Path) -> None:
    result = plan_stack(
        infra_tools,
        workspace,
        "prod",
        "-var=vpn_gateway_sku=Basic",
        "-var=vpn_azure_default_ipsec_policy=true",
    )
    assert result.returncode != 0
    assert "refused outside dev" in result.stdout + result.stderr


def test_readme_prices_each_profile() -> None:
    readme = (TERRAFORM_ROOT / "README.md").read_text()
    table = readme.split("## Profiles and monthly cost", 1)[1].split("\n## ", 1)[0]
    header = next(line for line in table.splitlines() if line.startswith("| item |"))
    assert header.count("dev (secure)") == 1
    assert header.count("dev budget") == 1
    assert header.count("prod") == 1
    total = next(line for line in table.splitlines() if line.startswith("| **total** |"))
    assert "**~51-53**" in total  # the seeds' ~$53
    assert "security trade-off" in table
    budget = (TERRAFORM_ROOT / "envs" / "dev" / "budget.tfvars").read_text()
    assert "SECURITY TRADE-OFF" in budget
