"""The tunnel's inputs, read from the Terraform outputs (``spyops infra output --env <env>``)."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spyops.tunnel.policy import AzureIpsecPolicy, TunnelConfigError, parse_policy

GATEWAY_IPS = "vpn_gateway_public_ips"
POLICY = "vpn_ipsec_policy"
ADDRESS_SPACES = "vpn_address_spaces"
EDGE_PUBLIC_IP = "vpn_edge_public_ip"
REQUIRED = (GATEWAY_IPS, POLICY, ADDRESS_SPACES, EDGE_PUBLIC_IP)


@dataclass(frozen=True)
class TunnelOutputs:
    """What the edge needs: Azure's peers, the policy, and the traffic selectors of both sides."""

    gateway_ips: tuple[str, ...]  # one per gateway instance: two when active-active
    edge_public_ip: str  # the edge's IKE identity (the local network gateway's address)
    onprem_address_space: tuple[str, ...]  # behind the edge: local traffic selectors
    azure_address_space: tuple[str, ...]  # the VNet: remote traffic selectors
    policy: AzureIpsecPolicy


def _ipv4(value: object, where: str) -> str:
    if isinstance(value, str):
        try:
            return str(ipaddress.IPv4Address(value))
        except ipaddress.AddressValueError:
            pass
    raise TunnelConfigError(f"{where}: {value!r} is not an IPv4 address")


def _prefixes(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise TunnelConfigError(f"{where}: expected a non-empty list of IPv4 CIDR blocks, got {value!r}")
    found: list[str] = []
    for index, item in enumerate(value):
        try:
            network = ipaddress.IPv4Network(item, strict=True) if isinstance(item, str) else None
        except ValueError:
            network = None
        if network is None:
            raise TunnelConfigError(
                f"{where}[{index}]: {item!r} is not an IPv4 CIDR block (e.g. 10.0.0.0/16)"
            )
        found.append(str(network))
    return tuple(found)


def _values(document: object) -> dict[str, Any]:
    """``tofu output -json`` wraps each output as ``{"value": ..., "type": ..., "sensitive": ...}``."""
    if not isinstance(document, Mapping):
        raise TunnelConfigError("Terraform outputs: expected the JSON object of `tofu output -json`")
    values: dict[str, Any] = {}
    for name, entry in document.items():
        wrapped = isinstance(entry, Mapping) and "value" in entry and "type" in entry
        values[str(name)] = entry["value"] if wrapped else entry
    return values


def parse_outputs(document: object) -> TunnelOutputs:
    """Check the outputs the tunnel needs; a refusal names the output and field."""
    values = _values(document)
    for name in REQUIRED:
        if name not in values:
            raise TunnelConfigError(
                f"{name} is missing from the Terraform outputs (apply terraform/stack for the environment at "
                "this version, then `spyops infra output --env <env>`)"
            )
    raw_ips = values[GATEWAY_IPS]
    if not isinstance(raw_ips, list) or not 1 <= len(raw_ips) <= 2:
        raise TunnelConfigError(
            f"{GATEWAY_IPS}: expected one or two addresses (two when active-active), got {raw_ips!r}"
        )
    gateway_ips = tuple(_ipv4(ip, f"{GATEWAY_IPS}[{i}]") for i, ip in enumerate(raw_ips))
    if len(set(gateway_ips)) != len(gateway_ips):
        raise TunnelConfigError(
            f"{GATEWAY_IPS}: the two gateway instances have the same address {gateway_ips[0]}"
        )
    spaces = values[ADDRESS_SPACES]
    if not isinstance(spaces, Mapping):
        raise TunnelConfigError(f"{ADDRESS_SPACES}: expected an object with azure and onprem, got {spaces!r}")
    for side in ("azure", "onprem"):
        if side not in spaces:
            raise TunnelConfigError(f"{ADDRESS_SPACES}.{side} is missing")
    azure = _prefixes(spaces["azure"], f"{ADDRESS_SPACES}.azure")
    onprem = _prefixes(spaces["onprem"], f"{ADDRESS_SPACES}.onprem")
    for a in azure:
        for o in onprem:
            if ipaddress.IPv4Network(a).overlaps(ipaddress.IPv4Network(o)):
                raise TunnelConfigError(
                    f"{ADDRESS_SPACES}: azure {a} overlaps onprem {o}; the tunnel cannot route both"
                )
    return TunnelOutputs(
        gateway_ips=gateway_ips,
        edge_public_ip=_ipv4(values[EDGE_PUBLIC_IP], EDGE_PUBLIC_IP),
        onprem_address_space=onprem,
        azure_address_space=azure,
        policy=parse_policy(values[POLICY], POLICY),
    )


def load_outputs(text: str, source: str) -> TunnelOutputs:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TunnelConfigError(
            f"{source}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    return parse_outputs(document)
