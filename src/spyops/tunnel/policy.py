"""Azure's custom IPsec/IKE policy, checked and translated into strongSwan proposal keywords.

Azure sends and accepts only the proposal of a connection's custom policy, so the edge must
offer exactly that one; anything else is refused here, naming the field, before strongSwan
would fail at negotiation time with a NO_PROPOSAL_CHOSEN that names nothing. The floor (no
DES/3DES, MD5/SHA1, DH groups 1/2, no PFS) is the one ``terraform/modules/vpn`` enforces.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Azure's IKE SA lifetime is fixed at 28,800 s; only the child (ESP) SA lifetime is a setting.
AZURE_IKE_SA_LIFETIME_SECONDS = 28_800
SA_LIFETIME_RANGE = (300, 172_799)  # seconds, what the azurerm provider and Azure accept
SA_DATASIZE_MIN_KB = 1_024

_ENCRYPTION = {
    "AES256": "aes256",
    "AES192": "aes192",
    "AES128": "aes128",
    "GCMAES256": "aes256gcm16",
    "GCMAES192": "aes192gcm16",
    "GCMAES128": "aes128gcm16",
}
_IKE_INTEGRITY = {"SHA256": "sha256", "SHA384": "sha384", "GCMAES256": "", "GCMAES128": ""}
_IPSEC_INTEGRITY = {"SHA256": "sha256", "GCMAES256": "", "GCMAES192": "", "GCMAES128": ""}
# DHGroup24/PFS24 is the RFC 5114 2048-bit group with a 256-bit subgroup.
_DH_GROUP = {
    "DHGroup14": "modp2048",
    "DHGroup2048": "modp2048",
    "DHGroup24": "modp2048s256",
    "ECP256": "ecp256",
    "ECP384": "ecp384",
}
_PFS_GROUP = {
    "PFS2048": "modp2048",
    "PFS14": "modp2048",
    "PFS24": "modp2048s256",
    "ECP256": "ecp256",
    "ECP384": "ecp384",
}
# Values Azure itself accepts but the edge refuses as too weak (or absent).
_WEAK = {
    "ike_encryption": {"DES", "DES3"},
    "ike_integrity": {"SHA1", "MD5"},
    "dh_group": {"DHGroup1", "DHGroup2", "None"},
    "ipsec_encryption": {"DES", "DES3", "None"},
    "ipsec_integrity": {"SHA1", "MD5"},
    "pfs_group": {"PFS1", "PFS2", "PFSMM", "None"},
}
_ALLOWED: dict[str, Mapping[str, str]] = {
    "ike_encryption": {k: v for k, v in _ENCRYPTION.items() if k != "GCMAES192"},
    "ike_integrity": _IKE_INTEGRITY,
    "dh_group": _DH_GROUP,
    "ipsec_encryption": _ENCRYPTION,
    "ipsec_integrity": _IPSEC_INTEGRITY,
    "pfs_group": _PFS_GROUP,
}
FIELDS = (*_ALLOWED, "sa_lifetime", "sa_datasize")


class TunnelConfigError(ValueError):
    """A refused input; the message is one line naming the field."""


@dataclass(frozen=True)
class AzureIpsecPolicy:
    """The connection's ``ipsec_policy`` as Terraform outputs it (Azure's value names)."""

    ike_encryption: str
    ike_integrity: str
    dh_group: str
    ipsec_encryption: str
    ipsec_integrity: str
    pfs_group: str
    sa_lifetime: int
    sa_datasize: int

    def ike_proposal(self) -> str:
        """strongSwan's IKE proposal: encryption, integrity (or an explicit PRF for AEAD), group."""
        encryption = _ENCRYPTION[self.ike_encryption]
        integrity = _IKE_INTEGRITY[self.ike_integrity]
        # An AEAD IKE proposal carries no integrity and needs its PRF spelled out.
        middle = integrity if integrity else "prfsha256"
        return f"{encryption}-{middle}-{_DH_GROUP[self.dh_group]}"

    def esp_proposal(self) -> str:
        """strongSwan's ESP proposal; the group in it is PFS for every rekey."""
        encryption = _ENCRYPTION[self.ipsec_encryption]
        integrity = _IPSEC_INTEGRITY[self.ipsec_integrity]
        parts = [encryption, integrity] if integrity else [encryption]
        return "-".join([*parts, _PFS_GROUP[self.pfs_group]])


def _name(prefix: str, field: str) -> str:
    return f"{prefix}.{field}" if prefix else field


def _choice(raw: Mapping[str, Any], field: str, prefix: str) -> str:
    value = raw[field]
    allowed = _ALLOWED[field]
    where = _name(prefix, field)
    if not isinstance(value, str):
        raise TunnelConfigError(f"{where}: expected a string, got {value!r}")
    if value in _WEAK[field]:
        raise TunnelConfigError(
            f"{where}: {value} is weaker than the edge accepts; use one of {', '.join(allowed)}"
        )
    if value not in allowed:
        raise TunnelConfigError(f"{where}: {value!r} is not an Azure value; use one of {', '.join(allowed)}")
    return value


def _whole_number(raw: Mapping[str, Any], field: str, prefix: str) -> int:
    value = raw[field]
    # bool is an int in Python; JSON true is not a lifetime.
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise TunnelConfigError(f"{_name(prefix, field)}: expected a whole number, got {value!r}")
    return int(value)


def parse_policy(raw: object, prefix: str = "vpn_ipsec_policy") -> AzureIpsecPolicy:
    """Check a Terraform ``ipsec_policy`` object against what Azure and the edge accept."""
    if not isinstance(raw, Mapping):
        raise TunnelConfigError(f"{prefix}: expected an object with {', '.join(FIELDS)}, got {raw!r}")
    for field in FIELDS:
        if field not in raw:
            raise TunnelConfigError(
                f"{_name(prefix, field)} is missing (Azure's custom policy sets every field)"
            )
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise TunnelConfigError(f"{_name(prefix, unknown[0])}: unknown field; expected {', '.join(FIELDS)}")
    choices = {field: _choice(raw, field, prefix) for field in _ALLOWED}
    lifetime = _whole_number(raw, "sa_lifetime", prefix)
    low, high = SA_LIFETIME_RANGE
    if not low <= lifetime <= high:
        raise TunnelConfigError(
            f"{_name(prefix, 'sa_lifetime')}: {lifetime} s is a lifetime Azure refuses ({low}..{high} s)"
        )
    datasize = _whole_number(raw, "sa_datasize", prefix)
    if datasize < SA_DATASIZE_MIN_KB:
        raise TunnelConfigError(
            f"{_name(prefix, 'sa_datasize')}: {datasize} KB is below Azure's minimum of {SA_DATASIZE_MIN_KB} KB"
        )
    ike_gcm = choices["ike_encryption"].startswith("GCM")
    if ike_gcm != choices["ike_integrity"].startswith("GCM"):
        raise TunnelConfigError(
            f"{_name(prefix, 'ike_integrity')}: {choices['ike_integrity']} does not go with ike_encryption "
            f"{choices['ike_encryption']} (GCMAES integrity only with GCMAES encryption, and vice versa)"
        )
    ipsec_gcm = choices["ipsec_encryption"].startswith("GCM") or choices["ipsec_integrity"].startswith("GCM")
    if ipsec_gcm and choices["ipsec_encryption"] != choices["ipsec_integrity"]:
        raise TunnelConfigError(
            f"{_name(prefix, 'ipsec_integrity')}: {choices['ipsec_integrity']} must equal ipsec_encryption "
            f"{choices['ipsec_encryption']} (Azure requires the same GCMAES value for both)"
        )
    return AzureIpsecPolicy(**choices, sa_lifetime=lifetime, sa_datasize=datasize)
