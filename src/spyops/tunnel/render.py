"""swanctl.conf for the edge: one IKEv2 connection per Azure gateway instance, plus its secrets.

The connections and the secrets are two texts so that only the secrets file holds the
pre-shared key (written 0600, never printed). Both are the same whether ESP runs in the
kernel (production) or in strongSwan's kernel-libipsec plugin (the namespace test): that
choice lives in strongswan.conf, not here.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

from spyops.tunnel.outputs import TunnelOutputs
from spyops.tunnel.policy import AZURE_IKE_SA_LIFETIME_SECONDS, TunnelConfigError

# The edge rekeys its IKE SA well before Azure's fixed 28,800 s lifetime runs out.
IKE_REKEY_SECONDS = AZURE_IKE_SA_LIFETIME_SECONDS // 2
DEFAULT_DPD_SECONDS = 30  # Azure's DPD timeout is 45 s by default; probe more often than that
PSK_MAX_BYTES = 128  # Azure's shared key limit


def connection_name(index: int) -> str:
    """``azure-0``, ``azure-1``: the same name for the IKE connection and its child."""
    return f"azure-{index}"


def _block(name: str, lines: Iterable[str], indent: int) -> list[str]:
    pad = "  " * indent
    return [f"{pad}{name} {{", *(f"{pad}  {line}" for line in lines), f"{pad}}}"]


def _connection(outputs: TunnelOutputs, index: int, gateway_ip: str, dpd_seconds: int) -> list[str]:
    policy = outputs.policy
    name = connection_name(index)
    lifetime = policy.sa_lifetime
    life_bytes = policy.sa_datasize * 1024
    child = [
        f"local_ts = {', '.join(outputs.onprem_address_space)}",
        f"remote_ts = {', '.join(outputs.azure_address_space)}",
        f"esp_proposals = {policy.esp_proposal()}",
        # Rekey at 90% so the edge, as initiator, renews before Azure's lifetime ends.
        f"rekey_time = {lifetime * 9 // 10}s",
        f"life_time = {lifetime}s",
        f"rekey_bytes = {life_bytes * 9 // 10}",
        f"life_bytes = {life_bytes}",
        # The edge initiates (Azure cannot reach an edge behind NAT) and brings the tunnel
        # back by itself when Azure closes it or stops answering.
        "start_action = start",
        "dpd_action = restart",
        "close_action = start",
    ]
    body = [
        "version = 2",
        f"remote_addrs = {gateway_ip}",
        f"proposals = {policy.ike_proposal()}",
        f"rekey_time = {IKE_REKEY_SECONDS}s",
        f"dpd_delay = {dpd_seconds}s",
        "keyingtries = 0",
        "mobike = no",
        *_block("local", ["auth = psk", f"id = {outputs.edge_public_ip}"], 0),
        *_block("remote", ["auth = psk", f"id = {gateway_ip}"], 0),
        *_block("children", _block(name, child, 0), 0),
    ]
    return _block(name, body, 1)


def render_connections(outputs: TunnelOutputs, dpd_seconds: int = DEFAULT_DPD_SECONDS) -> str:
    """The ``connections`` section: both gateways of an active-active gateway, or the one."""
    if not 1 <= dpd_seconds <= 3600:
        raise TunnelConfigError(f"dpd delay: {dpd_seconds} s is outside 1..3600 s")
    lines = [
        "# Rendered by `spyops tunnel render` from the Terraform outputs; edit those, not this file.",
        f"# Azure policy: IKE {outputs.policy.ike_proposal()}, ESP {outputs.policy.esp_proposal()}, "
        f"child SA lifetime {outputs.policy.sa_lifetime} s.",
        "connections {",
    ]
    for index, gateway_ip in enumerate(outputs.gateway_ips):
        lines += _connection(outputs, index, gateway_ip, dpd_seconds)
    lines.append("}")
    return "\n".join(lines) + "\n"


def normalize_psk(raw: bytes, source: str) -> bytes:
    """The key as Key Vault or a Secret holds it; one trailing newline (from ``az ... -o tsv``) is dropped."""
    psk = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1] if raw.endswith(b"\n") else raw
    if not psk:
        raise TunnelConfigError(f"{source}: the pre-shared key is empty")
    if b"\n" in psk or b"\r" in psk:
        raise TunnelConfigError(f"{source}: the pre-shared key spans several lines (expected the key alone)")
    if len(psk) > PSK_MAX_BYTES:
        raise TunnelConfigError(
            f"{source}: the pre-shared key is {len(psk)} bytes; Azure allows {PSK_MAX_BYTES}"
        )
    return psk


def render_secrets(outputs: TunnelOutputs, psk: bytes) -> str:
    """The ``secrets`` section: the key for each gateway identity, base64 (``0s``) so no byte needs quoting."""
    encoded = "0s" + base64.b64encode(psk).decode("ascii")
    lines = [
        "# Rendered by `spyops tunnel render`: the IPsec pre-shared key. Keep this file 0600.",
        "secrets {",
    ]
    for index, gateway_ip in enumerate(outputs.gateway_ips):
        lines += _block(f"ike-{connection_name(index)}", [f"id-1 = {gateway_ip}", f"secret = {encoded}"], 1)
    lines.append("}")
    return "\n".join(lines) + "\n"
