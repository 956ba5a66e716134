"""The pure parts of the scale benchmark and tests: audit log parsing, the profile's top, when a
Deployment counts as available."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, cast

from spyops.cluster.audit import parse_requests, parse_writes, per_object, summarize
from spyops.operator.bench_scale import deployment_available, strategy_ready
from spyops.operator.profile_summary import summarize_collapsed
from spyops.operator.workqueue import Key

USER = "system:serviceaccount:spyops-audited:op"


def _event(verb: str, resource: str, stage: str = "ResponseComplete", user: str = USER, **ref: str) -> str:
    return json.dumps(
        {
            "stage": stage,
            "verb": verb,
            "user": {"username": user},
            "objectRef": {"resource": resource, "namespace": "ns", "name": "x", **ref},
            "responseStatus": {"code": 200},
        }
    )


def test_only_the_users_completed_writes_count() -> None:
    lines = [
        _event("patch", "configmaps"),
        _event("patch", "tradingstrategies", subresource="status"),
        _event("get", "configmaps"),  # a read
        _event("patch", "configmaps", stage="ResponseStarted"),  # the same request, another stage
        _event("create", "configmaps", user="someone-else"),
        "",
    ]
    writes = parse_writes(lines, USER)
    assert summarize(writes) == {"patch configmaps": 1, "patch tradingstrategies/status": 1}


def test_requests_count_once_each_a_watch_when_it_starts() -> None:
    lines = [
        _event("get", "tradingstrategies"),
        _event("list", "pods"),
        _event("watch", "pods", stage="ResponseStarted"),
        _event("watch", "pods"),  # the same watch, when it ended
        _event("patch", "configmaps"),
    ]
    requests = parse_requests(lines, USER)
    assert summarize(requests) == {
        "get tradingstrategies": 1,
        "list pods": 1,
        "patch configmaps": 1,
        "watch pods": 1,
    }
    assert per_object(requests, 2) == {
        "get tradingstrategies": 0.5,
        "list pods": 0.5,
        "patch configmaps": 0.5,
        "watch pods": 0.5,
        "total": 2.0,
    }


def test_the_profile_top_sums_lines_of_one_function() -> None:
    stacks = [
        "run (asyncio/runners.py:118);reconcile (spyops/operator/reconcile.py:10) 6",
        "run (asyncio/runners.py:118);reconcile (spyops/operator/reconcile.py:12) 2",
        "run (asyncio/runners.py:118);dumps (/x/site-packages/json/__init__.py:231) 2",
        "run (asyncio/runners.py:118);EpollSelector.select (selectors.py:468) 30",
    ]
    top = summarize_collapsed(stacks)
    assert (top["busy_samples"], top["idle_samples"]) == (10, 30)
    assert top["top_self"][0] == {"function": "reconcile (spyops/operator/reconcile.py)", "percent": 80.0}
    assert top["top_self"][1]["function"] == "dumps (json/__init__.py)"
    # The entry frame on every stack says nothing; what is under it does.
    assert top["top_total"][0] == {"function": "reconcile (spyops/operator/reconcile.py)", "percent": 80.0}


def _deployment(**status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "d", "generation": 2}, "spec": {"replicas": 1}, "status": status}


def test_a_deployment_is_available_only_when_its_rollout_is_complete() -> None:
    done = {"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}
    assert deployment_available(_deployment(**done))
    assert not deployment_available(_deployment(**{**done, "observedGeneration": 1}))
    assert not deployment_available(_deployment(**{**done, "availableReplicas": 0}))
    assert not deployment_available(_deployment(**{**done, "replicas": 2}))  # an old pod still there


def test_a_strategy_is_ready_only_for_its_current_generation() -> None:
    ready = {"type": "Ready", "status": "True"}
    body = {
        "metadata": {"name": "s", "generation": 3},
        "status": {"observedGeneration": 3, "conditions": [ready]},
    }
    assert strategy_ready(body)
    assert not strategy_ready({**body, "status": {"observedGeneration": 2, "conditions": [ready]}})
    assert not strategy_ready({**body, "status": {"observedGeneration": 3, "conditions": []}})


def test_only_low_level_handlers_so_kopf_keeps_no_diff_base() -> None:
    """NoDiffBase stands in for kopf's diff-base storage; a high-level handler (on.create, on.update,
    a daemon or timer) would need the real one."""
    import kopf

    from spyops.operator import handlers
    from spyops.operator.state import Cache
    from spyops.operator.workqueue import WorkQueue

    async def reconcile(_key: Key) -> None:
        return None

    async def forget(_namespace: str, _name: str) -> None:
        return None

    queue = WorkQueue("t-handlers", reconcile, workers=1)
    registry = kopf.OperatorRegistry()
    handlers.register(registry, Cache(), queue, queue, queue, forget)
    assert registry._watching.get_all_handlers()
    assert not registry._changing.get_all_handlers()
    assert not registry._spawning.get_all_handlers()
    settings = kopf.OperatorSettings()
    handlers.configure_settings(settings, "me")
    assert isinstance(settings.persistence.diffbase_storage, handlers.NoDiffBase)
    assert isinstance(settings.persistence.progress_storage, handlers.NoProgress)


def test_the_echo_of_the_operators_own_apply_queues_nothing() -> None:
    """The answer to the operator's apply goes into its cache; the watch event of that same version
    that follows looks at nothing again. A newer version (a controller's status write) is cached and
    queues its owner."""
    import asyncio
    import copy

    import kopf

    from spyops.operator import handlers
    from spyops.operator.state import Cache
    from spyops.operator.workqueue import WorkQueue

    async def reconcile(_key: Key) -> None:
        return None

    async def forget(_namespace: str, _name: str) -> None:
        return None

    cache = Cache()
    strategies = WorkQueue("t-echo-strategies", reconcile, workers=1)
    others = WorkQueue("t-echo-others", reconcile, workers=1)
    registry = kopf.OperatorRegistry()
    handlers.register(registry, cache, others, strategies, others, forget)
    handler = next(h for h in registry._watching.get_all_handlers() if h.id == "child-deployments")
    on_deployment = cast(Callable[..., Awaitable[None]], handler.fn)
    owner = {"apiVersion": "spyops.io/v1alpha1", "kind": "TradingStrategy", "name": "s", "controller": True}
    applied: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"namespace": "ns", "name": "s-bot", "resourceVersion": "7", "ownerReferences": [owner]},
    }
    cache.put_child(applied)

    async def deliver(body: dict[str, Any]) -> None:
        await on_deployment(event={"type": "MODIFIED", "object": body})

    asyncio.run(deliver(copy.deepcopy(applied)))
    assert strategies.depth == 0

    rolled = copy.deepcopy(applied)
    rolled["metadata"]["resourceVersion"] = "8"
    rolled["status"] = {"readyReplicas": 1}
    asyncio.run(deliver(rolled))
    assert strategies.depth == 1
    assert cache.children[("apps/v1", "Deployment", "ns", "s-bot")]["status"] == {"readyReplicas": 1}
    assert others.depth == 0


def test_pods_are_watched_with_the_managed_label_on_the_server() -> None:
    """The operator watches its workloads' pods into its cache; a selector on the server keeps every
    other pod of the cluster off the stream."""
    import kopf

    from spyops.operator import handlers

    settings = kopf.OperatorSettings()
    handlers.configure_settings(settings, "me")
    assert handlers.MANAGED_SELECTOR in settings.watching.label_selectors.collect(
        kopf.Resource("", "v1", "pods")
    )
