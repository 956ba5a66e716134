"""What the operator writes and reads while hundreds of strategies roll out (pure parts): which status
changes wait, the pods it keeps, when a Pending pod is worth naming."""

from __future__ import annotations

import datetime as dt
from typing import Any

from spyops.operator.podhealth import PENDING_GRACE_SECONDS, diagnose, pod_essentials
from spyops.operator.state import Cache
from spyops.operator.status_change import Change, classify, progress_delay

OWNED = ("observedGeneration", "conditions", "phase", "replicas", "readyReplicas", "readyBots")
PROGRESS = ("replicas", "readyReplicas", "readyBots")


def _condition(type_: str, status: str, reason: str, message: str) -> dict[str, Any]:
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": "2026-01-01T00:00:00Z",
        "observedGeneration": 1,
    }


def _status(
    ready: str, reason: str, message: str, replicas: int, phase: str = "Progressing"
) -> dict[str, Any]:
    return {
        "observedGeneration": 1,
        "phase": phase,
        "conditions": [_condition("Ready", ready, reason, message)],
        "replicas": replicas,
        "readyReplicas": 0,
        "readyBots": "0/1",
    }


def test_a_rollouts_counters_and_messages_are_progress() -> None:
    before = _status("False", "RollingOut", "bots 0/1 ready, detector not ready", 0)
    after = _status("False", "RollingOut", "bots 0/1 ready, detector ready", 1)
    assert classify(before, after, OWNED, PROGRESS) is Change.PROGRESS
    assert classify(before, dict(before), OWNED, PROGRESS) is Change.NONE


def test_a_condition_phase_or_generation_change_is_meaningful() -> None:
    before = _status("False", "RollingOut", "bots 0/1 ready", 0)
    ready = _status("True", "Running", "detector and 1/1 bots ready", 1, phase="Running")
    problem = _status("False", "ImagePullBackOff", "bot pod x: image y cannot be pulled", 1)
    new_generation = {**before, "observedGeneration": 2}
    for after in (ready, problem, new_generation):
        assert classify(before, after, OWNED, PROGRESS) is Change.MEANINGFUL
    # A first status (nothing written yet) is meaningful too.
    assert classify({}, before, OWNED, PROGRESS) is Change.MEANINGFUL


def test_one_progress_write_per_interval() -> None:
    assert progress_delay(None, 100.0, 10.0) is None  # never written: at once
    assert progress_delay(85.0, 100.0, 10.0) is None
    assert progress_delay(97.0, 100.0, 10.0) == 7.0


def _pod(name: str, created: str, phase: str = "Pending", **status: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": "ns",
            "creationTimestamp": created,
            "labels": {
                "app.kubernetes.io/instance": "s1",
                "app.kubernetes.io/component": "bot",
                "spyops.io/strategy": "s1",
            },
            "managedFields": [{"manager": "kube-controller-manager"}],
        },
        "spec": {
            "containers": [{"name": "bot", "image": "img"}],
            "volumes": [
                {"name": "state", "persistentVolumeClaim": {"claimName": "s1-bot-state"}},
                {"name": "tmp", "emptyDir": {}},
            ],
        },
        "status": {"phase": phase, **status},
    }


def _stamp(seconds_ago: float, now: float) -> str:
    return dt.datetime.fromtimestamp(now - seconds_ago, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_pending_pod_is_named_only_after_the_grace() -> None:
    now = 1_800_000_000.0
    claims = {"s1-bot-state": {"status": {"phase": "Pending"}}}
    young = _pod("s1-bot-a", _stamp(5, now))
    old = _pod("s1-bot-a", _stamp(PENDING_GRACE_SECONDS + 5, now))
    assert diagnose("bot", [young], claims, now) is None
    problem = diagnose("bot", [old], claims, now)
    assert problem is not None
    assert problem.reason == "VolumePending"


def test_the_schedulers_verdict_is_named_at_once() -> None:
    now = 1_800_000_000.0
    verdict = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/1 nodes"}
    pod = _pod("s1-bot-a", _stamp(1, now), conditions=[verdict])
    problem = diagnose("bot", [pod], {"s1-bot-state": {"status": {"phase": "Bound"}}}, now)
    assert problem is not None
    assert problem.reason == "Unschedulable"


def test_a_container_problem_is_named_at_once() -> None:
    now = 1_800_000_000.0
    waiting = {"name": "bot", "image": "img", "state": {"waiting": {"reason": "ImagePullBackOff"}}}
    pod = _pod("s1-bot-a", _stamp(1, now), containerStatuses=[waiting])
    problem = diagnose("bot", [pod], {"s1-bot-state": {"status": {"phase": "Bound"}}}, now)
    assert problem is not None
    assert problem.reason == "ImagePullBackOff"


def test_the_cache_keeps_what_diagnosis_reads_of_a_pod_by_workload() -> None:
    cache = Cache()
    pod = _pod("s1-bot-a", "2026-01-01T00:00:00Z")
    cache.put_pod(pod)
    cache.put_pod({**pod, "metadata": {**pod["metadata"], "name": "s1-bot-b"}})
    other = {**pod, "metadata": {**pod["metadata"], "name": "s2-bot-a", "labels": {
        **pod["metadata"]["labels"], "app.kubernetes.io/instance": "s2", "spyops.io/strategy": "s2"}}}  # fmt: skip
    cache.put_pod(other)
    selector = {
        "app.kubernetes.io/instance": "s1",
        "app.kubernetes.io/component": "bot",
        "spyops.io/strategy": "s1",
    }
    found = sorted(p["metadata"]["name"] for p in cache.pods("ns", selector))
    assert found == ["s1-bot-a", "s1-bot-b"]
    kept = cache.pods("ns", selector)[0]
    assert kept == pod_essentials(pod)
    assert "managedFields" not in kept["metadata"]
    assert "containers" not in kept["spec"]
    assert kept["spec"]["volumes"] == [pod["spec"]["volumes"][0]]  # only the claims
    cache.drop_pod(pod)
    assert [p["metadata"]["name"] for p in cache.pods("ns", selector)] == ["s1-bot-b"]
    assert cache.pods("other-ns", selector) == []


def test_children_seen_tells_a_new_owner_from_one_whose_children_went() -> None:
    cache = Cache()
    assert not cache.children_seen("uid-1")
    child = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "c",
            "namespace": "ns",
            "ownerReferences": [{"uid": "uid-1", "controller": True}],
        },
    }
    cache.put_child(child)
    cache.drop_child(child)
    assert cache.children_seen("uid-1")  # its child is gone: a GET must tell whether it is too
    cache.forget_owner("uid-1")
    assert not cache.children_seen("uid-1")
