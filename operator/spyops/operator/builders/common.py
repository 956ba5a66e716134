"""Labels, owner references, security contexts and resources every child shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spyops.operator.api.common import API_VERSION, Resources

FIELD_MANAGER = "spyops-operator"
MANAGED_BY = "spyops-operator"
PART_OF = "spyops"
# Pods labeled so may reach a gateway's API port (NetworkPolicy).
TRADING_CLIENT_LABEL = "spyops.io/trading-client"
STRATEGY_LABEL = "spyops.io/strategy"
GATEWAY_LABEL = "spyops.io/gateway"
WORKLOAD_UID = 10001


@dataclass(frozen=True)
class Owner:
    """The custom resource that owns a child."""

    kind: str
    name: str
    namespace: str
    uid: str

    def reference(self) -> dict[str, Any]:
        return {
            "apiVersion": API_VERSION,
            "kind": self.kind,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }


def base_labels(owner: Owner, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "spyops",
        "app.kubernetes.io/instance": owner.name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


def metadata(owner: Owner, name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": owner.namespace,
        "labels": dict(labels),
        "ownerReferences": [owner.reference()],
    }


def pod_security_context(uid: int = WORKLOAD_UID) -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context(read_only_root: bool = True) -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": read_only_root,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }


def resources(given: Resources | None, default: Resources) -> dict[str, Any]:
    chosen = given if given is not None else default
    return chosen.to_wire()


def http_probe(
    path: str, port: str, period: int, failure_threshold: int, initial_delay: int = 0
) -> dict[str, Any]:
    probe: dict[str, Any] = {
        "httpGet": {"path": path, "port": port, "scheme": "HTTP"},
        "periodSeconds": period,
        "timeoutSeconds": 2,
        "failureThreshold": failure_threshold,
        "successThreshold": 1,
    }
    if initial_delay:
        probe["initialDelaySeconds"] = initial_delay
    return probe


def env_from_field(name: str, field_path: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": field_path}}}
