"""What the operator has seen on its watches: the custom resources, the children, who depends on whom."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

ChildKey = tuple[str, str, str, str]  # apiVersion, kind, namespace, name
ObjectKey = tuple[str, str]  # namespace, name


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

    def put_child(self, body: dict[str, Any]) -> None:
        self.children[child_key(body)] = body

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
