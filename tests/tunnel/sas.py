"""Reading `swanctl --list-sas`: the IKE SAs, their proposal, and their CHILD_SAs with proposal and counters."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_IKE = re.compile(r"^(?P<name>[\w.-]+): #(?P<id>\d+), (?P<state>[A-Z_]+), IKEv(?P<version>\d)")
_CHILD = re.compile(
    r"^  (?P<name>[\w.-]+): #(?P<id>\d+), reqid \d+, (?P<state>[A-Z_]+), (?P<mode>[\w-]+), (?P<proposal>\S+)"
)
_COUNTER = re.compile(
    r"^    (?P<dir>in|out) +[0-9a-f]+(?:_i)?(?:\(\w+\))?, +(?P<bytes>\d+) bytes, +(?P<packets>\d+) packets"
)
_LIFETIME = re.compile(r"expires in (?P<seconds>\d+)s")


@dataclass
class ChildSa:
    name: str
    state: str
    mode: str
    proposal: str  # e.g. ESP:AES_GCM_16-256/MODP_2048 (the group only after a PFS rekey)
    bytes_in: int = 0
    bytes_out: int = 0
    expires_in: int | None = None


@dataclass
class IkeSa:
    name: str
    state: str
    version: int
    proposal: str = ""  # e.g. AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048
    children: list[ChildSa] = field(default_factory=list)


def parse_list_sas(text: str) -> list[IkeSa]:
    sas: list[IkeSa] = []
    for line in text.splitlines():
        if match := _IKE.match(line):
            sas.append(IkeSa(match["name"], match["state"], int(match["version"])))
        elif sas and (match := _CHILD.match(line)):
            sas[-1].children.append(ChildSa(match["name"], match["state"], match["mode"], match["proposal"]))
        elif sas and sas[-1].children and (match := _COUNTER.match(line)):
            child = sas[-1].children[-1]
            if match["dir"] == "in":
                child.bytes_in = int(match["bytes"])
            else:
                child.bytes_out = int(match["bytes"])
        elif sas and line.startswith("  ") and not line.startswith("    "):
            stripped = line.strip()
            # The IKE proposal is the only two-space line of algorithm names joined by '/'.
            if "/" in stripped and " " not in stripped and not sas[-1].children:
                sas[-1].proposal = stripped
        elif sas and sas[-1].children and (match := _LIFETIME.search(line)):
            sas[-1].children[-1].expires_in = int(match["seconds"])
    return sas


def established(sas: list[IkeSa]) -> dict[str, IkeSa]:
    """IKE SAs that are ESTABLISHED and carry at least one INSTALLED CHILD_SA, by connection name."""
    return {
        sa.name: sa
        for sa in sas
        if sa.state == "ESTABLISHED" and any(child.state == "INSTALLED" for child in sa.children)
    }
