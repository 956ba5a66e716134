"""What the operator has seen on its watches: the custom resources, the children, who depends on whom."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from spyops.operator.podhealth import pod_essentials

ChildKey = tuple[str, str, str, str]  # apiVersion, kind, namespace, name
ObjectKey = tuple[str, str]  # namespace, name
PodGroup = tuple[str, str, str]  # namespace, app.kubernetes.io/instance, app.kubernetes.io/component
INSTANCE_LABEL = "app.kubernetes.io/instance"
COMPONENT_LABEL = "app.kubernetes.io/component"


def _pod_group(pod: dict[str, Any]) -> PodGroup:
    meta = pod["metadata"]
    labels = meta.get("labels") or {}
    return (meta.get("namespace", ""), labels.get(INSTANCE_LABEL, ""), labels.get(COMPONENT_LABEL, ""))


def child_key(body: dict[str, Any]) -> ChildKey:
    meta = body["metadata"]
    return (body["apiVersion"], body["kind"], meta.get("namespace", ""), meta["name"])


@dataclass
class Cache:
    resources: dict[str, dict[ObjectKey, dict[str, Any]]] = field(default_factory=lambda: defaultdict(dict))
    children: dict[ChildKey, dict[str, Any]] = field(default_factory=dict)
    _by_gateway: dict[ObjectKey, set[str]] = field(default_factory=lambda: defaultdict(set))
    _by_link: dict[ObjectKey, set[str]] = field(default_factory=lambda: defaultdict(set))
    _refs: dict[ObjectKey, tuple[str | None, str | None]] = field(default_factory=dict)
    # What the VpnLink controller has told each link's strategies (namespace, link) -> outbound mode.
    # Set before the strategies are re-rendered, so it leads the link's persisted status.outbound,
    # which is what counts after an operator restart.
    link_outbound: dict[ObjectKey, str] = field(default_factory=dict)
    # The pods of the workloads (what podhealth reads of them), by owner and component: a look at a
    # workload's pods is a dictionary lookup, not a LIST per reconcile.
    _pods: dict[PodGroup, dict[str, dict[str, Any]]] = field(default_factory=lambda: defaultdict(dict))
    # Owners (uid) with at least one child seen: only their children can be gone while they are too.
    _owners_seen: set[str] = field(default_factory=set)

    def put_resource(self, kind: str, body: dict[str, Any]) -> None:
        meta = body["metadata"]
        self.resources[kind][(meta["namespace"], meta["name"])] = body

    def drop_resource(self, kind: str, namespace: str, name: str) -> None:
        self.resources[kind].pop((namespace, name), None)

    def resource(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.resources[kind].get((namespace, name))

    def index_strategy(self, namespace: str, name: str, spec: dict[str, Any] | None) -> None:
        """Remember which gateway and link a strategy depends on (None spec: it is gone)."""
        key = (namespace, name)
        old_gateway, old_link = self._refs.pop(key, (None, None))
        if old_gateway:
            self._by_gateway[(namespace, old_gateway)].discard(name)
        if old_link:
            self._by_link[(namespace, old_link)].discard(name)
        if spec is None:
            return
        gateway = (spec.get("gatewayRef") or {}).get("name")
        link = (spec.get("cloudLinkRef") or {}).get("name")
        if gateway:
            self._by_gateway[(namespace, gateway)].add(name)
        if link:
            self._by_link[(namespace, link)].add(name)
        self._refs[key] = (gateway, link)

    def strategies_of_gateway(self, namespace: str, gateway: str) -> list[str]:
        return sorted(self._by_gateway.get((namespace, gateway), ()))

    def strategies_of_link(self, namespace: str, link: str) -> list[str]:
        return sorted(self._by_link.get((namespace, link), ()))

    def is_known_version(self, body: dict[str, Any]) -> bool:
        """Whether the cached child is this very version (the watch's echo of our own apply, whose
        answer went into the cache: the reconcile that applied it has seen it already)."""
        cached = self.child(body)
        version = body["metadata"].get("resourceVersion")
        return (
            cached is not None
            and version is not None
            and cached["metadata"].get("resourceVersion") == version
        )

    def put_child(self, body: dict[str, Any]) -> None:
        self.children[child_key(body)] = body
        for ref in body["metadata"].get("ownerReferences") or []:
            if ref.get("controller") and ref.get("uid"):
                self._owners_seen.add(ref["uid"])

    def children_seen(self, owner_uid: str) -> bool:
        """Whether any child of this owner was ever seen (since start, listed or watched)."""
        return owner_uid in self._owners_seen

    def forget_owner(self, owner_uid: str) -> None:
        self._owners_seen.discard(owner_uid)

    def put_pod(self, body: dict[str, Any]) -> None:
        pod = pod_essentials(body)
        self._pods[_pod_group(pod)][pod["metadata"]["name"]] = pod

    def drop_pod(self, body: dict[str, Any]) -> None:
        group = _pod_group(body)
        pods = self._pods.get(group)
        if pods is not None:
            pods.pop(body["metadata"]["name"], None)
            if not pods:
                del self._pods[group]

    def pods(self, namespace: str, selector: dict[str, str]) -> list[dict[str, Any]]:
        """The cached pods in ``namespace`` whose labels include ``selector`` (which names the instance
        and the component, as the workloads' selectors do)."""
        group = (namespace, selector.get(INSTANCE_LABEL, ""), selector.get(COMPONENT_LABEL, ""))
        return [
            pod
            for pod in self._pods.get(group, {}).values()
            if all(pod["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())
        ]

    def drop_child(self, body: dict[str, Any]) -> None:
        self.children.pop(child_key(body), None)

    def child(self, desired: dict[str, Any]) -> dict[str, Any] | None:
        return self.children.get(child_key(desired))

    def phases(self, kind: str) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for _, _, phase in self.object_phases(kind):
            counts[phase] += 1
        return dict(counts)

    def object_phases(self, kind: str) -> list[tuple[str, str, str]]:
        """(namespace, name, phase) of every object of a kind, sorted; "Unknown" before a first status."""
        return sorted(
            (namespace, name, (body.get("status") or {}).get("phase") or "Unknown")
            for (namespace, name), body in self.resources[kind].items()
        )
