"""Terraform outputs as `tofu output -json` prints them, for the tunnel tests (the seeds' policy)."""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.terraform.test_network_plan import SEEDS_POLICY as SEEDS_POLICY  # terraform/modules/vpn default


def tofu_outputs(
    gateway_ips: list[str],
    edge_ip: str,
    azure: list[str],
    onprem: list[str],
    policy: dict[str, Any] | None = None,
) -> dict[str, Any]:
    def wrap(value: Any, type_: Any) -> dict[str, Any]:
        return {"sensitive": False, "type": type_, "value": value}

    return {
        "vpn_gateway_public_ips": wrap(gateway_ips, ["list", "string"]),
        "vpn_edge_public_ip": wrap(edge_ip, "string"),
        "vpn_address_spaces": wrap({"azure": azure, "onprem": onprem}, ["object", {}]),
        "vpn_ipsec_policy": wrap(copy.deepcopy(policy or SEEDS_POLICY), ["object", {}]),
        "backend_url": wrap("https://app-spyops-prod.azurewebsites.net", "string"),
    }


def seeds_outputs_json(**overrides: Any) -> str:
    """The seeds' plan (10.0.0.0/16 <-> 192.168.1.0/24) with two documentation-range gateway IPs."""
    arguments: dict[str, Any] = {
        "gateway_ips": ["203.0.113.21", "203.0.113.22"],
        "edge_ip": "203.0.113.10",
        "azure": ["10.0.0.0/16"],
        "onprem": ["192.168.1.0/24"],
    }
    arguments.update(overrides)
    return json.dumps(tofu_outputs(**arguments))
