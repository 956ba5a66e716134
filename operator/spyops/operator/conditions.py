"""Kubernetes-shaped conditions (metav1.Condition), as kstatus, Flux, Argo CD and `kubectl wait` read them.

Pure helpers: the handlers compute the wanted conditions, ``merge_conditions`` keeps each
condition's ``lastTransitionTime`` unless its status changed, so an unchanged reconcile
produces an identical status (and no write).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

READY = "Ready"
RECONCILING = "Reconciling"
STALLED = "Stalled"
GATEWAY_READY = "GatewayReady"
CLOUD_LINK_READY = "CloudLinkReady"
LEADER_ELECTED = "LeaderElected"
RISK_HALTED = "RiskHalted"
CREDENTIALS_AVAILABLE = "CredentialsAvailable"

TRUE = "True"
FALSE = "False"
UNKNOWN = "Unknown"


@dataclass(frozen=True)
class Wanted:
    """A condition as the reconciler decides it, before timestamps."""

    type: str
    status: str
    reason: str
    message: str = ""


def now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def merge_conditions(
    current: list[dict[str, Any]] | None, wanted: list[Wanted], generation: int, now: str | None = None
) -> list[dict[str, Any]]:
    """The new conditions list: wanted order, transition time kept when the status did not change."""
    stamp = now or now_rfc3339()
    previous = {c.get("type"): c for c in current or []}
    merged = []
    for want in wanted:
        old = previous.get(want.type)
        unchanged = old is not None and old.get("status") == want.status
        merged.append(
            {
                "type": want.type,
                "status": want.status,
                "reason": want.reason,
                "message": want.message,
                "lastTransitionTime": old["lastTransitionTime"] if unchanged and old else stamp,
                "observedGeneration": generation,
            }
        )
    return merged


def find(conditions: list[dict[str, Any]] | None, type_: str) -> dict[str, Any] | None:
    for condition in conditions or []:
        if condition.get("type") == type_:
            return condition
    return None


def is_true(conditions: list[dict[str, Any]] | None, type_: str) -> bool:
    found = find(conditions, type_)
    return found is not None and found.get("status") == TRUE


def kstatus_triplet(ready: bool, reason: str, message: str, stalled: bool = False) -> list[Wanted]:
    """Ready / Reconciling / Stalled, consistent with each other (abnormal-true for the last two)."""
    if stalled:
        return [
            Wanted(READY, FALSE, reason, message),
            Wanted(RECONCILING, FALSE, reason, message),
            Wanted(STALLED, TRUE, reason, message),
        ]
    if ready:
        return [
            Wanted(READY, TRUE, reason, message),
            Wanted(RECONCILING, FALSE, reason, message),
            Wanted(STALLED, FALSE, reason, message),
        ]
    return [
        Wanted(READY, FALSE, reason, message),
        Wanted(RECONCILING, TRUE, reason, message),
        Wanted(STALLED, FALSE, reason, message),
    ]


def transitions(
    before: list[dict[str, Any]] | None, after: list[dict[str, Any]]
) -> list[tuple[dict[str, Any] | None, dict[str, Any]]]:
    """(old, new) pairs of conditions whose status or reason changed: what deserves an Event."""
    old = {c.get("type"): c for c in before or []}
    changed = []
    for condition in after:
        prior = old.get(condition["type"])
        if (
            prior is None
            or prior.get("status") != condition["status"]
            or prior.get("reason") != condition["reason"]
        ):
            changed.append((prior, condition))
    return changed
