"""Does an edge swanctl.conf (rendered, or edited by hand since) match Azure's connection?

Every problem is one line naming the setting, e.g.
``connections.azure-0.children.azure-0.esp_proposals: aes128gcm16-modp2048 is not Azure's policy``.
"""

from __future__ import annotations

import ipaddress

from spyops.tunnel.outputs import ADDRESS_SPACES, GATEWAY_IPS, TunnelOutputs
from spyops.tunnel.policy import AZURE_IKE_SA_LIFETIME_SECONDS, SA_LIFETIME_RANGE, TunnelConfigError
from spyops.tunnel.swanconf import Section, seconds, split_list


def _proposal_problem(value: str | None, expected: str, where: str, what: str) -> str | None:
    if value is None:
        return (
            f"{where} is missing: strongSwan's default {what} proposals are not Azure's policy ({expected})"
        )
    wanted = set(expected.split("-"))
    for proposal in split_list(value):
        if set(proposal.split("-")) != wanted:
            return f"{where}: {proposal} is not Azure's policy; Azure sends and accepts only {expected}"
    return None


def _selector_problems(value: str | None, spaces: tuple[str, ...], where: str, output: str) -> list[str]:
    if value is None:
        return [f"{where} is missing (the default is the peer's own address, not {', '.join(spaces)})"]
    problems = []
    networks = [ipaddress.IPv4Network(s) for s in spaces]
    for selector in split_list(value):
        try:
            network = ipaddress.IPv4Network(selector, strict=True)
        except ValueError:
            problems.append(f"{where}: {selector!r} is not an IPv4 CIDR block")
            continue
        if not any(network.subnet_of(space) for space in networks):
            problems.append(f"{where}: {selector} is outside {output} ({', '.join(spaces)})")
    return problems


def _str(section: Section, key: str) -> str | None:
    value = section.get(key)
    return value if isinstance(value, str) else None


def _child_problems(child: Section, outputs: TunnelOutputs, where: str) -> list[str]:
    policy = outputs.policy
    problems = []
    if problem := _proposal_problem(
        _str(child, "esp_proposals"), policy.esp_proposal(), f"{where}.esp_proposals", "ESP"
    ):
        problems.append(problem)
    low, high = SA_LIFETIME_RANGE
    life = _str(child, "life_time")
    if life is not None and not low <= seconds(life, f"{where}.life_time") <= high:
        problems.append(f"{where}.life_time: {life} is a lifetime Azure refuses ({low}..{high} s)")
    problems += _selector_problems(
        _str(child, "local_ts"), outputs.onprem_address_space, f"{where}.local_ts", f"{ADDRESS_SPACES}.onprem"
    )
    problems += _selector_problems(
        _str(child, "remote_ts"), outputs.azure_address_space, f"{where}.remote_ts", f"{ADDRESS_SPACES}.azure"
    )
    return problems


def _connection_problems(name: str, connection: Section, outputs: TunnelOutputs) -> list[str]:
    where = f"connections.{name}"
    policy = outputs.policy
    problems = []
    version = _str(connection, "version")
    if version != "2":
        problems.append(
            f"{where}.version: {version or 'missing (IKEv1 or v2)'}; Azure's connection is IKEv2, set 2"
        )
    if problem := _proposal_problem(
        _str(connection, "proposals"), policy.ike_proposal(), f"{where}.proposals", "IKE"
    ):
        problems.append(problem)
    rekey = _str(connection, "rekey_time")
    if rekey is not None and seconds(rekey, f"{where}.rekey_time") >= AZURE_IKE_SA_LIFETIME_SECONDS:
        problems.append(
            f"{where}.rekey_time: {rekey} is not before Azure's fixed IKE SA lifetime of {AZURE_IKE_SA_LIFETIME_SECONDS} s"
        )
    children = connection.get("children")
    if not isinstance(children, dict) or not children:
        problems.append(f"{where}.children is missing: no CHILD_SA, no traffic")
        return problems
    for child_name, child in children.items():
        if isinstance(child, dict):
            problems += _child_problems(child, outputs, f"{where}.children.{child_name}")
    return problems


def check_config(config: Section, outputs: TunnelOutputs) -> list[str]:
    """Every mismatch between the file's connections to Azure's gateways and the Terraform outputs."""
    connections = config.get("connections")
    if not isinstance(connections, dict):
        raise TunnelConfigError("connections: no connections section in the file")
    problems: list[str] = []
    covered: set[str] = set()
    for name, connection in connections.items():
        if not isinstance(connection, dict):
            continue
        peers = set(split_list(_str(connection, "remote_addrs") or ""))
        gateways = peers & set(outputs.gateway_ips)
        if not gateways:
            continue  # not a connection to Azure; not ours to judge
        covered |= gateways
        problems += _connection_problems(name, connection, outputs)
    for index, gateway in enumerate(outputs.gateway_ips):
        if gateway not in covered:
            problems.append(
                f"connections: none has remote_addrs = {gateway} ({GATEWAY_IPS}[{index}]); "
                "an active-active gateway needs a tunnel to each instance"
            )
    return problems
