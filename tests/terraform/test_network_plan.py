"""The seeds' network plan, read from the parsed configuration: changing it must be deliberate.

VNet 10.0.0.0/16 with GatewaySubnet, an app and a container subnet; NSGs that
admit HTTPS from the on-premises network 192.168.1.0/24 only; a route-based
gateway with one IKEv2 connection to the edge under the seeds' crypto policy.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import pytest

from tests.terraform.conftest import ENVIRONMENTS, TERRAFORM_ROOT, load_dir, load_hcl

SEEDS_POLICY = {
    "ike_encryption": "AES256",
    "ike_integrity": "SHA256",
    "dh_group": "DHGroup14",
    "ipsec_encryption": "GCMAES256",
    "ipsec_integrity": "GCMAES256",
    "pfs_group": "PFS2048",
    "sa_lifetime": 27000,
    "sa_datasize": 102400000,
}
ONPREM = ["192.168.1.0/24"]
_VAR_REF = re.compile(r"^\$\{var\.([a-z0-9_]+)\}$")


def _variables(module: str) -> dict[str, dict[str, Any]]:
    parsed = load_dir(TERRAFORM_ROOT / "modules" / module)
    return {name: body for block in parsed["variable"] for name, body in block.items()}


def _resources(directory: str) -> dict[tuple[str, str], dict[str, Any]]:
    parsed = load_dir(TERRAFORM_ROOT / directory)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for block in parsed.get("resource", []):
        for kind, named in block.items():
            for name, body in named.items():
                found[(kind, name)] = body
    return found


def _resolve(value: Any, variables: dict[str, dict[str, Any]]) -> Any:
    """Replace a whole-value `${var.x}` (also inside lists) by the variable's default."""
    if isinstance(value, list):
        resolved = [_resolve(item, variables) for item in value]
        # [var.list] stays a list of the list's items when the variable is itself a list
        if len(resolved) == 1 and isinstance(resolved[0], list):
            return resolved[0]
        return resolved
    if isinstance(value, str):
        match = _VAR_REF.match(value)
        if match:
            return variables[match.group(1)]["default"]
        tostring = re.match(r"^\$\{tostring\(var\.([a-z0-9_]+)\)\}$", value)
        if tostring:
            return str(variables[tostring.group(1)]["default"])
    return value


@pytest.fixture(scope="module")
def networking() -> tuple[dict[str, dict[str, Any]], dict[tuple[str, str], dict[str, Any]]]:
    return _variables("networking"), _resources("modules/networking")


def test_address_plan_defaults_are_the_seeds(networking: Any) -> None:
    variables, _ = networking
    assert variables["address_space"]["default"] == ["10.0.0.0/16"]
    assert variables["gateway_subnet_prefix"]["default"] == "10.0.0.0/27"
    assert variables["app_subnet_prefix"]["default"] == "10.0.1.0/24"
    assert variables["container_subnet_prefix"]["default"] == "10.0.2.0/24"
    assert variables["onprem_address_space"]["default"] == ONPREM
    assert variables["https_port"]["default"] == 443


def test_subnets_fit_the_vnet_and_do_not_overlap(networking: Any) -> None:
    variables, resources = networking
    vnet = ipaddress.IPv4Network(variables["address_space"]["default"][0])
    subnets = {
        name: ipaddress.IPv4Network(
            _resolve(resources[("azurerm_subnet", name)]["address_prefixes"], variables)[0]
        )
        for name in ("gateway", "app", "containers")
    }
    for name, subnet in subnets.items():
        assert subnet.subnet_of(vnet), f"{name} subnet {subnet} is outside {vnet}"
    pairs = [(a, b) for a in subnets for b in subnets if a < b]
    for a, b in pairs:
        assert not subnets[a].overlaps(subnets[b]), f"{a} and {b} overlap"
    onprem = ipaddress.IPv4Network(ONPREM[0])
    assert not onprem.overlaps(vnet), "the on-premises network must not overlap the VNet"


def test_subnet_roles(networking: Any) -> None:
    _, resources = networking
    gateway = resources[("azurerm_subnet", "gateway")]
    assert gateway["name"] == "GatewaySubnet"
    assert "delegation" not in gateway
    delegations = {
        name: resources[("azurerm_subnet", name)]["delegation"][0]["service_delegation"][0]["name"]
        for name in ("app", "containers")
    }
    assert delegations == {
        "app": "Microsoft.Web/serverFarms",
        "containers": "Microsoft.ContainerInstance/containerGroups",
    }


def _effective_rules(nsg: dict[str, Any], variables: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    assert "dynamic" not in nsg, "NSG rules are static blocks so that this test reads them all"
    rules = []
    for rule in nsg["security_rule"]:
        rules.append({key: _resolve(value, variables) for key, value in rule.items()})
    return sorted(rules, key=lambda rule: int(rule["priority"]))


def test_nsgs_admit_https_from_onprem_only_and_deny_the_rest(networking: Any) -> None:
    variables, resources = networking
    app_prefix = variables["app_subnet_prefix"]["default"]
    container_prefix = variables["container_subnet_prefix"]["default"]
    expected = {
        "app": [
            ("Allow", 100, "Tcp", "443", ONPREM, app_prefix),
            ("Deny", 4096, "*", "*", "*", "*"),
        ],
        "containers": [
            ("Allow", 100, "Tcp", "443", ONPREM, container_prefix),
            ("Allow", 110, "Tcp", "443", [app_prefix], container_prefix),
            ("Deny", 4096, "*", "*", "*", "*"),
        ],
    }
    for name, rules in expected.items():
        effective = _effective_rules(resources[("azurerm_network_security_group", name)], variables)
        assert all(rule["direction"] == "Inbound" for rule in effective)
        actual = [
            (
                rule["access"],
                int(rule["priority"]),
                rule["protocol"],
                rule["destination_port_range"],
                rule.get("source_address_prefixes", rule.get("source_address_prefix")),
                rule["destination_address_prefix"],
            )
            for rule in effective
        ]
        assert actual == rules, f"NSG {name}"


def test_no_nsg_on_gateway_subnet(networking: Any) -> None:
    _, resources = networking
    associations = {
        body["subnet_id"]
        for (kind, _), body in resources.items()
        if kind == "azurerm_subnet_network_security_group_association"
    }
    assert associations == {"${azurerm_subnet.app.id}", "${azurerm_subnet.containers.id}"}


def test_the_seeds_policy_is_the_vpn_default() -> None:
    variables = _variables("vpn")
    assert variables["ipsec_policy"]["default"] == SEEDS_POLICY
    assert "the seeds' policy" in variables["ipsec_policy"]["description"]
    assert variables["onprem_address_space"]["default"] == ONPREM


def test_vpn_is_route_based_ikev2_with_the_policy() -> None:
    resources = _resources("modules/vpn")
    gateway = resources[("azurerm_virtual_network_gateway", "this")]
    assert (gateway["type"], gateway["vpn_type"]) == ("Vpn", "RouteBased")
    local = resources[("azurerm_local_network_gateway", "onprem")]
    assert local["gateway_address"] == "${var.onprem_public_ip}"
    assert local["address_space"] == "${var.onprem_address_space}"
    connection = resources[("azurerm_virtual_network_gateway_connection", "onprem")]
    assert connection["type"] == "IPsec"
    assert connection["connection_protocol"] == "IKEv2"
    assert connection["local_network_gateway_id"] == "${azurerm_local_network_gateway.onprem.id}"
    assert connection["shared_key"] == "${data.azurerm_key_vault_secret.shared_key.value}"
    # One policy block, from var.ipsec_policy, unless Azure's defaults are asked for (Basic).
    dynamic = connection["dynamic"][0]["ipsec_policy"]
    assert dynamic["for_each"] == "${var.azure_default_ipsec_policy ? [] : [var.ipsec_policy]}"
    assert dynamic["content"][0] == {field: f"${{ipsec_policy.value.{field}}}" for field in SEEDS_POLICY}
    assert _variables("vpn")["azure_default_ipsec_policy"]["default"] is False


def test_environments_keep_the_plan() -> None:
    parsed = load_dir(TERRAFORM_ROOT / "stack")
    modules = {name: body for block in parsed["module"] for name, body in block.items()}
    networking_args = set(modules["networking"]) - {"source"}
    # The stack may only choose names, region, tags and the on-prem prefix; the
    # VNet and subnet prefixes come from the module's seeded defaults.
    assert networking_args == {"name_prefix", "location", "onprem_address_space", "tags"}
    assert "ipsec_policy" not in modules["vpn"], "the environments use the seeds' policy unchanged"
    for environment in ENVIRONMENTS:
        tfvars = load_hcl(TERRAFORM_ROOT / "envs" / environment / "terraform.tfvars")
        assert tfvars["onprem_address_space"] == ONPREM, environment
        ipaddress.ip_address(tfvars["onprem_public_ip"])
