"""kopf handlers: thin. Every watch event updates the cache and queues the object it concerns
(or the custom resource that owns it); the reconcilers do the work."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import kopf

from spyops.operator import metrics
from spyops.operator.api.common import GROUP, VERSION
from spyops.operator.builders.common import MANAGED_BY
from spyops.operator.reconcile import GATEWAY, STRATEGY, VPNLINK
from spyops.operator.state import Cache
from spyops.operator.workqueue import Key, WorkQueue

# (group, version, plural) of every kind of child the operator writes.
CHILD_RESOURCES: tuple[tuple[str, str, str], ...] = (
    ("", "v1", "configmaps"),
    ("", "v1", "services"),
    ("", "v1", "serviceaccounts"),
    ("", "v1", "persistentvolumeclaims"),
    ("apps", "v1", "deployments"),
    ("apps", "v1", "statefulsets"),
    ("rbac.authorization.k8s.io", "v1", "roles"),
    ("rbac.authorization.k8s.io", "v1", "rolebindings"),
    ("policy", "v1", "poddisruptionbudgets"),
    ("networking.k8s.io", "v1", "networkpolicies"),
    ("monitoring.coreos.com", "v1", "servicemonitors"),
)
MANAGED_SELECTOR = f"app.kubernetes.io/managed-by={MANAGED_BY}"
# The pods of the workloads (their templates carry the same label), watched into the cache so that
# saying why a workload is not Ready reads no pod or claim from the API server.
POD_RESOURCE = ("", "v1", "pods")


def _deleted(event: kopf.RawEvent) -> bool:
    return event.get("type") == "DELETED"


def _link_view(body: dict[str, Any]) -> tuple[Any, ...]:
    """What a strategy takes from its VpnLink: health, the outbound decision, the backup route."""
    status = body.get("status") or {}
    failover = (body.get("spec") or {}).get("failover") or {}
    return (status.get("health"), status.get("outbound"), failover.get("backupUrl"))


def register(
    registry: kopf.OperatorRegistry,
    cache: Cache,
    gateways: WorkQueue,
    strategies: WorkQueue,
    links: WorkQueue,
    link_deleted: Callable[[str, str], Awaitable[None]],
) -> None:
    # Links are checked on their own timer (the queue's requeue-after); a watch event starts a
    # check only for a new link or a new generation, not for the status writes the checks make.
    link_generations: dict[tuple[str, str], int] = {}

    @kopf.on.event(GROUP, VERSION, "tradingstrategies", registry=registry)
    async def strategy_event(event: kopf.RawEvent, namespace: str | None, name: str, **_: Any) -> None:
        namespace = namespace or ""
        key = Key(STRATEGY, namespace, name)
        if _deleted(event):
            cache.drop_resource(STRATEGY, namespace, name)
            cache.index_strategy(namespace, name, None)
            cache.forget_owner(str(event["object"].get("metadata", {}).get("uid", "")))
            strategies.forget(key)
            return
        body: dict[str, Any] = dict(event["object"])
        cache.put_resource(STRATEGY, body)
        cache.index_strategy(namespace, name, body.get("spec") or {})
        strategies.add(key)

    @kopf.on.event(GROUP, VERSION, "ibkrgateways", registry=registry)
    async def gateway_event(event: kopf.RawEvent, namespace: str | None, name: str, **_: Any) -> None:
        namespace = namespace or ""
        key = Key(GATEWAY, namespace, name)
        if _deleted(event):
            cache.drop_resource(GATEWAY, namespace, name)
            cache.forget_owner(str(event["object"].get("metadata", {}).get("uid", "")))
            gateways.forget(key)
        else:
            cache.put_resource(GATEWAY, dict(event["object"]))
            gateways.add(key)
        # Strategies render the gateway's address and wait for its readiness: look at them again.
        for strategy in cache.strategies_of_gateway(namespace, name):
            strategies.add(Key(STRATEGY, namespace, strategy))

    @kopf.on.event(GROUP, VERSION, "vpnlinks", registry=registry)
    async def vpnlink_event(event: kopf.RawEvent, namespace: str | None, name: str, **_: Any) -> None:
        namespace = namespace or ""
        key = Key(VPNLINK, namespace, name)
        if _deleted(event):
            cache.drop_resource(VPNLINK, namespace, name)
            link_generations.pop((namespace, name), None)
            links.forget(key)
            await link_deleted(namespace, name)
        else:
            body: dict[str, Any] = dict(event["object"])
            before = cache.resource(VPNLINK, namespace, name)
            cache.put_resource(VPNLINK, body)
            generation = int(body["metadata"].get("generation", 1))
            if link_generations.get((namespace, name)) != generation:
                link_generations[(namespace, name)] = generation
                links.add(key)
            if before is not None and _link_view(before) == _link_view(body):
                return  # a check's routine status write: nothing a strategy renders changed
        for strategy in cache.strategies_of_link(namespace, name):
            strategies.add(Key(STRATEGY, namespace, strategy))

    async def child_event(event: kopf.RawEvent, **_: Any) -> None:
        body: dict[str, Any] = dict(event["object"])
        if _deleted(event):
            cache.drop_child(body)
        elif cache.is_known_version(body):
            # Our own apply's echo (or a relist of what the cache holds): nothing to look at again.
            # The work queue folds most echoes into the reconcile that applied them anyway; the rest
            # were about one needless reconcile per strategy (19.4 -> 18.6 for 20 strategies to Ready).
            metrics.CHILD_EVENTS_ALREADY_SEEN.inc()
            return
        else:
            cache.put_child(body)
        meta = body.get("metadata") or {}
        for ref in meta.get("ownerReferences") or []:
            if not ref.get("controller") or not str(ref.get("apiVersion", "")).startswith(f"{GROUP}/"):
                continue
            if ref.get("kind") == STRATEGY:
                strategies.add(Key(STRATEGY, meta.get("namespace", ""), ref["name"]))
            elif ref.get("kind") == GATEWAY:
                gateways.add(Key(GATEWAY, meta.get("namespace", ""), ref["name"]))

    for group, version, plural in CHILD_RESOURCES:
        kopf.on.event(
            group,
            version,
            plural,
            id=f"child-{plural}",
            labels={"app.kubernetes.io/managed-by": MANAGED_BY},
            registry=registry,
        )(child_event)

    @kopf.on.event(*POD_RESOURCE, labels={"app.kubernetes.io/managed-by": MANAGED_BY}, registry=registry)
    async def pod_event(event: kopf.RawEvent, **_: Any) -> None:
        # Cache only: a pod's change reaches its owner through the Deployment's or StatefulSet's
        # counters, and its problems through the owner's periodic look while it is not Ready.
        body: dict[str, Any] = dict(event["object"])
        if _deleted(event):
            cache.drop_pod(body)
        else:
            cache.put_pod(body)


class NoDiffBase(kopf.DiffBaseStorage):
    """kopf builds a deep copy of every watched object (managedFields and status included) on every
    watch event, as the diff-base for high-level handlers' change detection. Only low-level handlers
    are registered here, which never read it: at 500 strategies that copy was 9 % of the operator's
    busy time (py-spy). An empty essence, never stored, keeps kopf's bookkeeping to nothing."""

    def build(self, *, body: kopf.Body, extra_fields: Any = None) -> kopf.BodyEssence:
        return kopf.BodyEssence()

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        return None


class NoProgress(kopf.ProgressStorage):
    """kopf clears its progress records out of a copy of every watched object on every event, before
    diffing it for high-level handlers (1.9 % of the operator's busy time at 500 strategies, py-spy).
    With only low-level handlers there is no progress to keep: nothing is read, stored or cleared."""

    def fetch(self, *, key: kopf.HandlerId, body: kopf.Body) -> kopf.ProgressRecord | None:
        return None

    def store(
        self, *, key: kopf.HandlerId, record: kopf.ProgressRecord, body: kopf.Body, patch: kopf.Patch
    ) -> None:
        return None

    def purge(self, *, key: kopf.HandlerId, body: kopf.Body, patch: kopf.Patch) -> None:
        return None

    def touch(self, *, body: kopf.Body, patch: kopf.Patch, value: str | None) -> None:
        return None

    def clear(self, *, essence: kopf.BodyEssence) -> kopf.BodyEssence:
        return essence


def configure_settings(settings: kopf.OperatorSettings, identity: str) -> None:
    """kopf settings for hundreds of objects on a small box."""
    # Watch only what we made (server-side selector), not every Deployment in the cluster.
    for group, _version, plural in (*CHILD_RESOURCES, POD_RESOURCE):
        selector: Any = (group, plural) if group else plural
        settings.watching.label_selectors[selector] = MANAGED_SELECTOR
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.watching.connect_timeout = 10
    settings.watching.chunk_size = 500
    settings.networking.request_timeout = 60
    settings.networking.connect_timeout = 10
    # Per-object workers in kopf only hand events to our queue; keep their number bounded.
    settings.queueing.worker_limit = 200
    settings.queueing.idle_timeout = 5.0
    # kopf's own events (handler failures) only at WARNING and above; ours are posted explicitly.
    settings.posting.level = 30
    settings.posting.reporting_component = "spyops-operator"
    settings.posting.reporting_instance = identity[:128]
    # Only low-level (on.event) handlers are registered, so kopf adds no finalizer and stores no
    # progress or diff-base on our objects: deletion never waits for the operator.
    settings.persistence.diffbase_storage = NoDiffBase()
    settings.persistence.progress_storage = NoProgress()
