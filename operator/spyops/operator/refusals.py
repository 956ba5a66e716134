"""Children the API server refuses: what the owner's status says about them.

A refusal (a 4xx answer to the apply other than a conflict or throttling) does not go away by
retrying alone: a quota, an admission policy, RBAC or a value the API server judges invalid must
change first. The owner shows it as ``Stalled`` with the API server's reason and message, so
``kubectl get``, kstatus and Flux see it, not only the operator's log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lightkube import ApiError

REASON = "ChildRefused"
# Retry anyway: what fixes a refusal (a quota, a policy, a Role) is not something we watch.
RECHECK_SECONDS = 10.0
# Not refusals: a timeout, a conflict, throttling, and a 404 (something the child depends on is not
# there yet, e.g. the Role a RoleBinding names); the work queue's backoff retries them.
_TRANSIENT = frozenset({404, 408, 409, 429})


@dataclass(frozen=True)
class Refusal:
    kind: str
    name: str
    code: int
    reason: str
    message: str

    def describe(self) -> str:
        return (
            f"{self.kind} {self.name} refused by the API server ({self.code} {self.reason}): {self.message}"
        )


def is_refusal(code: int | None) -> bool:
    """A 4xx that retrying without a change will not fix."""
    return code is not None and 400 <= code < 500 and code not in _TRANSIENT


def refusal_of(child: dict[str, Any], exc: ApiError) -> Refusal | None:
    """The refusal ``exc`` means for ``child``, or None when it is not one (5xx, conflict, throttling)."""
    status = exc.status
    code = int(status.code) if status.code is not None else None
    if code is None or not is_refusal(code):
        return None
    return Refusal(
        kind=child["kind"],
        name=child["metadata"]["name"],
        code=code,
        reason=status.reason or "Refused",
        message=status.message or str(exc),
    )


def summary(refusals: Sequence[Refusal]) -> str:
    """One message for the owner's conditions and Event, naming every refused child."""
    return "; ".join(r.describe() for r in refusals)
