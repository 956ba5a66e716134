"""Why a workload's pods are not Ready, in words a user can act on (pure: reads pod objects).

The rollout counters of a Deployment or StatefulSet say only "0/1 ready"; the pods say why: an image
that cannot be pulled, a container that crashes at start (with its exit code and last log line, which
the kubelet copies into the status because the containers use `FallbackToLogsOnError`), a volume
claim that never binds, a pod nothing can schedule.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

_PULL_FAILURES = frozenset({"ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull"})
_CONFIG_FAILURES = frozenset({"CreateContainerConfigError", "CreateContainerError", "RunContainerError"})
# A pod waits for its claim to bind in every normal start (the class binds at first consumer: the
# scheduler picks the node, then the provisioner makes the volume); only a wait this long is named on
# its owner. At 500 strategies starting at once on two cores, claims waited over a minute, and naming
# each wait cost two status writes and three Events per strategy (named, then passed); 30 s was too
# short there. The scheduler's verdict (PodScheduled=False) and container problems (image pull, crash,
# bad config) are named at once.
PENDING_GRACE_SECONDS = 120.0


@dataclass(frozen=True)
class PodProblem:
    reason: (
        str  # ImagePullBackOff, CrashLoopBackOff, CreateContainerConfigError, VolumePending, Unschedulable
    )
    message: str
    stalled: bool  # True when it will not resolve without a change by a person


_FRAME = " \t│┃|╭╮╰╯─━┌┐└┘"  # borders of boxed error panels (rich, typer) are not the message


def _last_line(text: str | None) -> str:
    for line in reversed((text or "").splitlines()):
        cleaned = line.strip(_FRAME)
        if any(ch.isalnum() for ch in cleaned):
            return cleaned[:300]
    return ""


def _container_problem(component: str, pod: str, status: dict[str, Any]) -> PodProblem | None:
    name = status.get("name", "?")
    waiting = (status.get("state") or {}).get("waiting") or {}
    reason = waiting.get("reason", "")
    where = f"{component} pod {pod}, container {name}"
    if reason in _PULL_FAILURES:
        detail = waiting.get("message") or ""
        return PodProblem(
            "ImagePullBackOff",
            f"{where}: image {status.get('image', '?')} cannot be pulled ({reason}){': ' + detail[:300] if detail else ''}",
            True,
        )
    terminated = (status.get("lastState") or {}).get("terminated") or {}
    crashed_before = bool(terminated) and terminated.get("exitCode", 0) != 0 and not status.get("ready")
    if reason == "CrashLoopBackOff" or crashed_before:
        exit_code = terminated.get("exitCode", "?")
        last = _last_line(terminated.get("message"))
        restarts = status.get("restartCount", 0)
        return PodProblem(
            "CrashLoopBackOff",
            f"{where} exits with code {exit_code} at start ({restarts} restarts)"
            + (f"; last log line: {last}" if last else ""),
            True,
        )
    if reason in _CONFIG_FAILURES:
        return PodProblem(reason, f"{where}: {waiting.get('message') or reason}"[:500], True)
    return None


def _pending_for(pod: dict[str, Any], now: float) -> float:
    """Seconds since the pod was created (its creationTimestamp, RFC 3339 in UTC); unknown: long ago."""
    created = pod["metadata"].get("creationTimestamp")
    try:
        moment = dt.datetime.strptime(str(created), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return float("inf")
    return now - moment.timestamp()


def _pending_problem(
    component: str, pod: dict[str, Any], claims: dict[str, dict[str, Any]], now: float
) -> PodProblem | None:
    meta, spec = pod["metadata"], pod.get("spec") or {}
    unbound = []
    for volume in spec.get("volumes") or []:
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        if claim:
            phase = ((claims.get(claim) or {}).get("status") or {}).get("phase", "missing")
            if phase != "Bound":
                unbound.append(f"{claim} ({phase})")
    if unbound and _pending_for(pod, now) >= PENDING_GRACE_SECONDS:
        return PodProblem(
            "VolumePending",
            f"{component} pod {meta['name']} waits for its volume claim(s) to bind: {', '.join(unbound)}",
            False,
        )
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            return PodProblem(
                condition.get("reason") or "Unschedulable",
                f"{component} pod {meta['name']} cannot be scheduled: {condition.get('message', '')}"[:500],
                False,
            )
    return None


def claims_to_check(pods: list[dict[str, Any]]) -> list[str]:
    """The volume claims `diagnose` reads: those of the pods still Pending and not being deleted.
    Fetching just these by name keeps a pod look O(own claims), not O(every claim in the namespace)."""
    names: set[str] = set()
    for pod in pods:
        if pod["metadata"].get("deletionTimestamp"):
            continue
        if (pod.get("status") or {}).get("phase", "Pending") != "Pending":
            continue
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if claim:
                names.add(claim)
    return sorted(names)


def pod_essentials(pod: dict[str, Any]) -> dict[str, Any]:
    """What `diagnose` and `claims_to_check` read of a pod: the operator keeps this much of every pod of
    its workloads in memory (not managedFields, not the containers' specs)."""
    meta = pod.get("metadata") or {}
    kept = {
        k: meta[k]
        for k in ("name", "namespace", "labels", "creationTimestamp", "deletionTimestamp")
        if k in meta
    }
    volumes = [v for v in (pod.get("spec") or {}).get("volumes") or [] if v.get("persistentVolumeClaim")]
    return {"metadata": kept, "spec": {"volumes": volumes}, "status": pod.get("status") or {}}


def diagnose(
    component: str,
    pods: list[dict[str, Any]],
    claims: dict[str, dict[str, Any]] | None = None,
    now: float | None = None,
) -> PodProblem | None:
    """The first problem among a workload's pods (stalled ones first), or None when nothing is wrong
    beyond starting up. ``claims`` maps (at least) the claims of `claims_to_check` by name; ``now``
    (seconds since the epoch; default: infinitely late, every wait is long) judges how long a Pending
    pod has waited (PENDING_GRACE_SECONDS)."""
    found: list[PodProblem] = []
    for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
        if pod["metadata"].get("deletionTimestamp"):
            continue
        status = pod.get("status") or {}
        for container in [
            *(status.get("initContainerStatuses") or []),
            *(status.get("containerStatuses") or []),
        ]:
            problem = _container_problem(component, pod["metadata"]["name"], container)
            if problem is not None:
                found.append(problem)
        if status.get("phase", "Pending") == "Pending":
            problem = _pending_problem(component, pod, claims or {}, float("inf") if now is None else now)
            if problem is not None:
                found.append(problem)
    found.sort(key=lambda p: not p.stalled)
    return found[0] if found else None
