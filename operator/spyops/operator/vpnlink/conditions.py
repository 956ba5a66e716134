"""Conditions (pure) for the VpnLink itself and the ``CloudLinkReady`` condition of dependent strategies.

Only type / status / reason / message are decided here; the controller merges them
into ``status.conditions`` and keeps ``lastTransitionTime`` and ``observedGeneration``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from spyops.operator.vpnlink.model import LinkHealth, OutboundState, VpnLinkStatus


@dataclass(frozen=True)
class ConditionValue:
    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str
    message: str


def _first_reason(status: VpnLinkStatus, fallback: str) -> tuple[str, str]:
    if status.reasons:
        head = status.reasons[0]
        reason = head.partition(": ")[0]
        return (reason if reason.isalnum() else fallback), "; ".join(status.reasons)[:1024]
    return fallback, ""


def link_conditions(status: VpnLinkStatus) -> list[ConditionValue]:
    """Ready, LinkHealthy, AzureReachable and FailoverActive for the VpnLink."""
    health = status.health
    out: list[ConditionValue] = []
    if health is LinkHealth.UNKNOWN:
        out.append(ConditionValue("Ready", "Unknown", "NotYetChecked", "no check has produced evidence yet"))
        out.append(
            ConditionValue("LinkHealthy", "Unknown", "NotYetChecked", "no check has produced evidence yet")
        )
    elif health is LinkHealth.DOWN:
        reason, message = _first_reason(status, "LinkDown")
        out.append(ConditionValue("Ready", "False", "LinkDown", message or "the link is down"))
        out.append(ConditionValue("LinkHealthy", "False", reason, message or "the link is down"))
    else:
        out.append(ConditionValue("Ready", "True", "LinkUp", f"the link carries traffic ({health.value})"))
        if health is LinkHealth.HEALTHY:
            out.append(ConditionValue("LinkHealthy", "True", "Healthy", "Azure status and probes are good"))
        else:
            reason, message = _first_reason(status, "Degraded")
            out.append(ConditionValue("LinkHealthy", "False", reason, message or "the link is degraded"))
    az = status.azure
    if az.error_reason:
        out.append(ConditionValue("AzureReachable", "False", az.error_reason, az.error_message))
    elif az.observed_at is not None:
        out.append(
            ConditionValue("AzureReachable", "True", "AzureStatusRead", f"connection {az.connection_status}")
        )
    else:
        out.append(
            ConditionValue("AzureReachable", "Unknown", "NotYetChecked", "Azure has not been read yet")
        )
    if status.outbound is OutboundState.DIRECT:
        out.append(ConditionValue("FailoverActive", "False", "OutboundDirect", "strategies send directly"))
    else:
        out.append(
            ConditionValue(
                "FailoverActive",
                "True",
                "Outbound" + status.outbound.value.capitalize(),
                f"strategies' outbound path is {status.outbound.value}",
            )
        )
    return out


def cloud_link_ready(link_name: str, status: VpnLinkStatus | None) -> ConditionValue:
    """The ``CloudLinkReady`` condition a TradingStrategy shows for the link it depends on."""
    if status is None:
        return ConditionValue(
            "CloudLinkReady", "Unknown", "VpnLinkNotFound", f"VpnLink {link_name} not found"
        )
    if status.health is LinkHealth.UNKNOWN:
        return ConditionValue(
            "CloudLinkReady", "Unknown", "NotYetChecked", f"VpnLink {link_name} not checked yet"
        )
    if status.health is LinkHealth.DOWN:
        return ConditionValue(
            "CloudLinkReady",
            "False",
            "LinkDown",
            f"VpnLink {link_name} is Down; outbound path {status.outbound.value}",
        )
    return ConditionValue(
        "CloudLinkReady",
        "True",
        "Link" + status.health.value,
        f"VpnLink {link_name} is {status.health.value}",
    )
