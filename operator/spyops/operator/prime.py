"""Fill the cache from one list per kind before the first reconcile.

kopf starts a watch per kind, each with its own initial list, in no particular order. A strategy
reconciled before its children's list arrived sees no children and applies all of them again: after
a restart that is a write per child for nothing (and wakes every watcher). Listing first makes the
first reconcile of every object compare against what exists.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from spyops.common.retry import Backoff, retry_async
from spyops.operator.api.common import API_VERSION
from spyops.operator.builders.common import MANAGED_BY
from spyops.operator.kube import KINDS, Kube, api_retry_after, is_not_found
from spyops.operator.state import Cache

log = logging.getLogger(__name__)
ALL_NAMESPACES = "*"  # lightkube's spelling of a cluster-wide list
CUSTOM_KINDS = ("TradingStrategy", "IBKRGateway", "VpnLink")


_LIST_BACKOFF = Backoff(base=0.2, cap=5.0)


async def _list(
    kube: Kube, api_version: str, kind: str, namespace: str, labels: dict[str, Any], patience: float = 60.0
) -> list[dict[str, Any]]:
    # The API server answers 429 (with a Retry-After) while a kind's watch cache (re)initializes,
    # e.g. just after its CRD was installed; that and a dropped connection pass, so retry them for a while.
    async def attempt() -> list[dict[str, Any]] | None:
        try:
            return await kube.list(api_version, kind, namespace, labels)
        except Exception as exc:
            if is_not_found(exc):
                return None  # an optional API (ServiceMonitor) that this cluster does not serve
            raise

    def retrying(exc: BaseException, delay: float) -> None:
        log.warning(
            "listing failed, retrying",
            extra={"kind": kind, "error": str(exc)[:200], "retry_in_s": round(delay, 2)},
        )

    items = await retry_async(
        attempt,
        _LIST_BACKOFF,
        retryable=lambda _exc: True,
        patience=patience,
        retry_after=api_retry_after,
        on_retry=retrying,
    )
    # List items carry no apiVersion/kind; the cache keys children by both.
    return [{**item, "apiVersion": api_version, "kind": kind} for item in items or []]


async def prime_cache(
    kube: Kube, cache: Cache, namespaces: Sequence[str], child_kinds: Sequence[tuple[str, str]]
) -> int:
    """List the custom resources and the managed children of ``child_kinds`` ((apiVersion, kind)) in
    ``namespaces`` (empty: all) into ``cache``; return how many objects it holds now."""
    scopes = list(namespaces) or [ALL_NAMESPACES]
    labels = {"app.kubernetes.io/managed-by": MANAGED_BY}
    custom = [(kind, ns, _list(kube, API_VERSION, kind, ns, {})) for kind in CUSTOM_KINDS for ns in scopes]
    children = [_list(kube, v, k, ns, labels) for v, k in child_kinds for ns in scopes]
    pods = [_list(kube, "v1", "Pod", ns, labels) for ns in scopes]
    listed = await asyncio.gather(*(c for _, _, c in custom), *children, *pods)
    count = 0
    for (kind, _, _), items in zip(custom, listed[: len(custom)], strict=True):
        for body in items:
            cache.put_resource(kind, body)
            if kind == "TradingStrategy":
                meta = body["metadata"]
                cache.index_strategy(meta["namespace"], meta["name"], body.get("spec") or {})
            count += 1
    for items in listed[len(custom) : len(custom) + len(children)]:
        for body in items:
            cache.put_child(body)
            count += 1
    # The pods too: a strategy stuck on a pod problem says the same after a restart (no write).
    for items in listed[len(custom) + len(children) :]:
        for body in items:
            cache.put_pod(body)
            count += 1
    return count


def child_kinds(plurals: Sequence[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """(apiVersion, kind) of the watched child resources ((group, version, plural))."""
    by_plural = {(ref.group, ref.plural): ref for ref in KINDS.values()}
    return [(by_plural[(g, p)].api_version, by_plural[(g, p)].kind) for g, _v, p in plurals]
