"""The operator's Kubernetes client for writes: lightkube's AsyncClient, dicts in and dicts out.

Every child is written with server-side apply under one field manager (``spyops-operator``,
forced, so a hand edit of a field we own is taken back). Kinds are addressed through
lightkube's generic resources built here without touching lightkube's global registry, so
manifests stay the plain dicts the builders produce (no model round trip).
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from lightkube import ApiError, AsyncClient, KubeConfig
from lightkube.core.exceptions import ConfigError
from lightkube.generic_resource import GenericGlobalResource, GenericNamespacedResource, create_api_info
from lightkube.types import PatchType

from spyops.common.retry import retry_after_from
from spyops.operator.builders.common import FIELD_MANAGER


class KubeConfigError(ValueError):
    """The kubeconfig (or in-cluster configuration) cannot be used; the message says which and why."""


def kube_config(kubeconfig: Path | None) -> KubeConfig:
    """The client configuration from ``kubeconfig``, else $KUBECONFIG, ~/.kube/config or in-cluster."""
    source = (
        str(kubeconfig) if kubeconfig is not None else "KUBECONFIG, ~/.kube/config or the in-cluster account"
    )
    try:
        return KubeConfig.from_file(kubeconfig) if kubeconfig is not None else KubeConfig.from_env()
    except (OSError, ValueError, KeyError, TypeError, AttributeError, yaml.YAMLError, ConfigError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        raise KubeConfigError(
            f"cannot use the kubeconfig from {source}: {' '.join(reason.split())[:300]}"
        ) from exc


@dataclass(frozen=True)
class KindRef:
    api_version: str
    kind: str
    plural: str
    namespaced: bool = True

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]


KINDS: dict[tuple[str, str], KindRef] = {
    (ref.api_version, ref.kind): ref
    for ref in (
        KindRef("v1", "ConfigMap", "configmaps"),
        KindRef("v1", "Service", "services"),
        KindRef("v1", "ServiceAccount", "serviceaccounts"),
        KindRef("v1", "Secret", "secrets"),
        KindRef("v1", "Namespace", "namespaces", namespaced=False),
        # Read only, to explain on the CR why a workload is not Ready (spyops.operator.podhealth).
        KindRef("v1", "Pod", "pods"),
        KindRef("v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
        KindRef("apps/v1", "Deployment", "deployments"),
        KindRef("apps/v1", "StatefulSet", "statefulsets"),
        KindRef("rbac.authorization.k8s.io/v1", "Role", "roles"),
        KindRef("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings"),
        KindRef("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets"),
        KindRef("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies"),
        KindRef("monitoring.coreos.com/v1", "ServiceMonitor", "servicemonitors"),
        KindRef("coordination.k8s.io/v1", "Lease", "leases"),
        KindRef("events.k8s.io/v1", "Event", "events"),
        KindRef("spyops.io/v1alpha1", "TradingStrategy", "tradingstrategies"),
        KindRef("spyops.io/v1alpha1", "IBKRGateway", "ibkrgateways"),
        KindRef("spyops.io/v1alpha1", "VpnLink", "vpnlinks"),
    )
}


def kind_ref(api_version: str, kind: str) -> KindRef:
    try:
        return KINDS[(api_version, kind)]
    except KeyError:
        raise KeyError(f"the operator does not manage {kind} ({api_version})") from None


@cache
def _resource(ref: KindRef) -> Any:
    """A lightkube generic resource class for ``ref`` (dict-backed), kept out of lightkube's registry."""
    base = GenericNamespacedResource if ref.namespaced else GenericGlobalResource
    info = create_api_info(ref.group, ref.version, ref.kind, ref.plural)
    return type(ref.kind, (base,), {"_api_info": info})


@cache
def _status_resource(ref: KindRef) -> Any:
    base = GenericNamespacedResource if ref.namespaced else GenericGlobalResource
    parent = create_api_info(ref.group, ref.version, ref.kind, ref.plural)
    from lightkube.core.resource import ApiInfo

    info = ApiInfo(
        resource=parent.resource,
        parent=parent.resource,
        plural=ref.plural,
        verbs=["get", "patch"],
        action="status",
    )
    return type(f"{ref.kind}Status", (base,), {"_api_info": info})


def _status_code(exc: BaseException) -> int | None:
    if isinstance(exc, ApiError):
        return int(exc.status.code) if exc.status.code is not None else None
    # lightkube's list iterators can surface the HTTP client's own status error.
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    return int(code) if isinstance(code, int) else None


def api_retry_after(exc: BaseException) -> float | None:
    """The Retry-After of an API server's 429 (too many requests, e.g. a watch cache still
    initializing) or 503, in seconds; None for other errors."""
    if _status_code(exc) not in (429, 503):
        return None
    headers = getattr(getattr(exc, "response", None), "headers", None)
    return retry_after_from(headers) if headers is not None else None


def is_not_found(exc: BaseException) -> bool:
    return _status_code(exc) == 404


def _micro_time(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Kube:
    """Thin async wrapper: apply, get, delete, merge-patch status, post Events."""

    def __init__(self, client: AsyncClient, instance: str) -> None:
        self._client = client
        self._instance = instance
        self._api_cache: dict[str, tuple[float, bool]] = {}

    @classmethod
    def connect(cls, kubeconfig: Path | None, instance: str) -> Kube:
        return cls(AsyncClient(config=kube_config(kubeconfig), field_manager=FIELD_MANAGER), instance)

    @property
    def client(self) -> AsyncClient:
        """The lightkube client underneath, for code shared with the workloads (the Lease elector)."""
        return self._client

    async def close(self) -> None:
        await self._client.close()

    async def apply(self, manifest: dict[str, Any]) -> dict[str, Any]:
        ref = kind_ref(manifest["apiVersion"], manifest["kind"])
        meta = manifest["metadata"]
        result = await self._client.patch(
            _resource(ref),
            meta["name"],
            manifest,
            namespace=meta.get("namespace") if ref.namespaced else None,
            patch_type=PatchType.APPLY,
            field_manager=FIELD_MANAGER,
            force=True,
        )
        return dict(result)

    async def get(
        self, api_version: str, kind: str, namespace: str | None, name: str
    ) -> dict[str, Any] | None:
        ref = kind_ref(api_version, kind)
        try:
            found = await self._client.get(
                _resource(ref), name, namespace=namespace if ref.namespaced else None
            )
        except ApiError as exc:
            if is_not_found(exc):
                return None
            raise
        return dict(found)

    async def list(
        self, api_version: str, kind: str, namespace: str, labels: dict[str, Any]
    ) -> list[dict[str, Any]]:
        ref = kind_ref(api_version, kind)
        items = []
        async for item in self._client.list(_resource(ref), namespace=namespace, labels=labels):
            items.append(dict(item))
        return items

    async def delete(self, api_version: str, kind: str, namespace: str | None, name: str) -> bool:
        ref = kind_ref(api_version, kind)
        try:
            await self._client.delete(_resource(ref), name, namespace=namespace if ref.namespaced else None)
        except ApiError as exc:
            if is_not_found(exc):
                return False
            raise
        return True

    async def patch_status(
        self, api_version: str, kind: str, namespace: str, name: str, status: dict[str, Any]
    ) -> dict[str, Any]:
        """JSON merge patch of only the keys given: fields other writers own (the bots) are untouched."""
        ref = kind_ref(api_version, kind)
        result = await self._client.patch(
            _status_resource(ref), name, {"status": status}, namespace=namespace, patch_type=PatchType.MERGE
        )
        return dict(result)

    async def create(self, manifest: dict[str, Any]) -> dict[str, Any]:
        ref = kind_ref(manifest["apiVersion"], manifest["kind"])
        result = await self._client.create(_resource(ref)(manifest))
        return dict(result)

    async def api_available(self, api_version: str, kind: str, namespace: str, ttl: float = 60.0) -> bool:
        """Whether the API of ``kind`` is served (e.g. the Prometheus Operator's CRDs), cached for ``ttl``."""
        key = f"{api_version}/{kind}"
        cached = self._api_cache.get(key)
        now = time.monotonic()
        if cached is not None and now - cached[0] < ttl:
            return cached[1]
        ref = kind_ref(api_version, kind)
        try:
            async for _ in self._client.list(_resource(ref), namespace=namespace, chunk_size=1):
                break
            available = True
        except Exception as exc:
            if not is_not_found(exc):
                raise
            available = False
        self._api_cache[key] = (now, available)
        return available

    async def event(self, regarding: dict[str, Any], type_: str, reason: str, note: str, action: str) -> None:
        """Post an events.k8s.io/v1 Event about ``regarding`` (best effort: an Event must never fail a reconcile)."""
        meta = regarding["metadata"]
        now = dt.datetime.now(dt.UTC)
        event = {
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{secrets.token_hex(8)}", "namespace": meta["namespace"]},
            "eventTime": _micro_time(now),
            "reportingController": "spyops.io/operator",
            "reportingInstance": self._instance[:128],
            "action": action,
            "reason": reason,
            "note": note[:1024],
            "type": type_,
            "regarding": {
                "apiVersion": regarding["apiVersion"],
                "kind": regarding["kind"],
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta.get("uid", ""),
            },
        }
        try:
            await self.create(event)
        except ApiError:
            return
