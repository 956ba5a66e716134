"""The VpnLink controller: one engine check per link on a timer (the work queue's requeue-after),
with the engine's effects carried out through the operator's Kubernetes client.

- ``persist``: merge-patch the VpnLink's status (the engine's keys, its conditions,
  ``observedGeneration``); the engine calls it with a Started record before a reset runs.
- ``event``: a Kubernetes Event on the VpnLink.
- ``switch_outbound``: tell the dependent strategies (``spec.cloudLinkRef`` naming the link)
  their new outbound path, re-render them through their own work queue and wait until each
  strategy's ConfigMap carries it (the pods hot-reload the mounted file; no restart).

The status is read fresh from the API server at every check, so an operator that restarts
in the middle of a failover sees the Started record and the policy does not repeat the action.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightkube import ApiError
from pydantic import ValidationError

from spyops.operator import conditions as cond
from spyops.operator.api.common import API_VERSION
from spyops.operator.builders.strategy import config_map_name
from spyops.operator.kube import Kube, is_not_found
from spyops.operator.state import Cache
from spyops.operator.vpnlink.conditions import link_conditions
from spyops.operator.vpnlink.model import (
    OutboundState,
    VpnLinkSpec,
    VpnLinkStatus,
    engine_status,
)
from spyops.operator.workqueue import Key, WorkQueue
from spyops.schemas.runtime_config import CONFIG_FILE_NAME

if TYPE_CHECKING:
    # The Azure SDK is large: it is imported when the first VpnLink is checked, not at startup.
    from spyops.operator.vpnlink.engine import EventType, LinkEngine

log = logging.getLogger("spyops.operator.vpnlink")

VPNLINK = "VpnLink"
STRATEGY = "TradingStrategy"
SWITCH_TIMEOUT_SECONDS = 60.0
INVALID_SPEC_RECHECK_SECONDS = 300.0


class CaBundleError(ValueError):
    """``caBundleSecretRef`` names a Secret or key without a PEM certificate."""


def decode_secret(secret: dict[str, Any] | None) -> dict[str, str] | None:
    """A Secret's data as text (``stringData`` is write-only; ``data`` is base64)."""
    if secret is None:
        return None
    values: dict[str, str] = {}
    for key, encoded in (secret.get("data") or {}).items():
        try:
            values[key] = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            continue  # not text: cannot be a client id, secret or PEM; the engine names the missing key
    return values


def status_patch(status: VpnLinkStatus, previous: dict[str, Any], generation: int) -> dict[str, Any]:
    """The merge patch that writes the engine's status and its conditions."""
    body: dict[str, Any] = status.model_dump(mode="json", by_alias=True)
    wanted = [cond.Wanted(c.type, c.status, c.reason, c.message) for c in link_conditions(status)]
    wanted += [
        cond.Wanted(cond.RECONCILING, cond.FALSE, "Checked", "the link is checked on its interval"),
        cond.Wanted(cond.STALLED, cond.FALSE, "Checked", "the spec is valid"),
    ]
    body["conditions"] = cond.merge_conditions(previous.get("conditions"), wanted, generation)
    body["observedGeneration"] = generation
    return body


@dataclass
class _LinkEffects:
    """The engine's effects for one check of one VpnLink."""

    controller: VpnLinkController
    body: dict[str, Any]

    async def persist(self, status: VpnLinkStatus) -> None:
        self.body = await self.controller.write_status(self.body, status)

    async def event(self, type_: EventType, reason: str, message: str) -> None:
        await self.controller.kube.event(self.body, type_, reason, message, "VpnLinkCheck")

    async def switch_outbound(self, mode: OutboundState, backup_url: str | None) -> str:
        meta = self.body["metadata"]
        return await self.controller.switch_outbound(self.body, meta["namespace"], meta["name"], mode)


class VpnLinkController:
    """Runs :class:`LinkEngine` checks for the VpnLinks the operator watches."""

    def __init__(
        self,
        kube: Kube,
        cache: Cache,
        make_engine: Callable[[], LinkEngine],
        strategies: WorkQueue,
        ca_dir: Path,
    ) -> None:
        self.kube = kube
        self.cache = cache
        self._make_engine = make_engine
        self._engine: LinkEngine | None = None
        self.strategies = strategies
        self._ca_dir = ca_dir

    @property
    def engine(self) -> LinkEngine:
        if self._engine is None:
            self._engine = self._make_engine()
        return self._engine

    # -- the timer ------------------------------------------------------------------------------

    async def reconcile(self, key: Key) -> float | None:
        """One check; returns when to check again (the probe interval, longer when throttled)."""
        body = await self.kube.get(API_VERSION, VPNLINK, key.namespace, key.name)
        if body is None or body["metadata"].get("deletionTimestamp"):
            await self.forget(key.namespace, key.name)
            return None
        self.cache.put_resource(VPNLINK, body)
        meta = body["metadata"]
        generation = int(meta.get("generation", 1))
        try:
            spec = VpnLinkSpec.model_validate(body.get("spec") or {})
        except ValidationError as exc:
            message = "; ".join(
                f"spec.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            await self._blocked(body, generation, "InvalidSpec", message, stalled=True)
            return INVALID_SPEC_RECHECK_SECONDS
        status = engine_status(body.get("status"))
        self.cache.link_outbound.setdefault((key.namespace, key.name), status.outbound.value)
        secret_values = await self._secret_values(key.namespace, spec)
        try:
            connection_verify = await self._connection_verify(key.namespace, spec)
        except CaBundleError as exc:
            await self._blocked(body, generation, "CABundleInvalid", str(exc), stalled=False)
            return float(spec.probes.interval_seconds)
        effects = _LinkEffects(self, body)
        try:
            report = await self.engine.run_check(
                key.namespace, key.name, spec, status, secret_values, effects, connection_verify
            )
            await effects.persist(report.status)
        except ApiError as exc:
            if not is_not_found(exc):
                raise
            # Deleted during the check: its status has nowhere to go.
            await self.forget(key.namespace, key.name)
            return None
        before_health, before_outbound = status.health, status.outbound
        if (report.status.health, report.status.outbound) != (before_health, before_outbound):
            # Their CloudLinkReady condition follows the link's health.
            for strategy in self.cache.strategies_of_link(key.namespace, key.name):
                self.strategies.add(Key(STRATEGY, key.namespace, strategy))
        return report.next_check_in_seconds

    async def forget(self, namespace: str, name: str) -> None:
        """The VpnLink is gone: drop its Azure client and what strategies were told."""
        if self._engine is not None:
            await self._engine.forget(namespace, name)
        self.cache.link_outbound.pop((namespace, name), None)
        self.cache.drop_resource(VPNLINK, namespace, name)
        for strategy in self.cache.strategies_of_link(namespace, name):
            self.strategies.add(Key(STRATEGY, namespace, strategy))

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.close()

    # -- status ---------------------------------------------------------------------------------

    async def write_status(self, body: dict[str, Any], status: VpnLinkStatus) -> dict[str, Any]:
        meta = body["metadata"]
        current = body.get("status") or {}
        patch = status_patch(status, current, int(meta.get("generation", 1)))
        if all(current.get(k) == patch.get(k) for k in patch):
            return body
        updated = await self.kube.patch_status(API_VERSION, VPNLINK, meta["namespace"], meta["name"], patch)
        self.cache.put_resource(VPNLINK, updated)
        return updated

    async def _blocked(
        self, body: dict[str, Any], generation: int, reason: str, message: str, stalled: bool
    ) -> None:
        """No check can run: say why in Ready/Reconciling/Stalled and (once per reason) an Event."""
        message = message[:1024]
        current = body.get("status") or {}
        ready = cond.find(current.get("conditions"), cond.READY) or {}
        if ready.get("reason") != reason or current.get("observedGeneration") != generation:
            await self.kube.event(body, "Warning", reason, message, "VpnLinkCheck")
        wanted = cond.kstatus_triplet(False, reason, message, stalled=stalled)
        patch = {
            "observedGeneration": generation,
            "conditions": cond.merge_conditions(current.get("conditions"), wanted, generation),
        }
        meta = body["metadata"]
        updated = await self.kube.patch_status(API_VERSION, VPNLINK, meta["namespace"], meta["name"], patch)
        self.cache.put_resource(VPNLINK, updated)

    # -- credentials ----------------------------------------------------------------------------

    async def _secret_values(self, namespace: str, spec: VpnLinkSpec) -> dict[str, str] | None:
        ref = spec.azure.credentials_secret_ref
        if ref is None:
            return None
        return decode_secret(await self.kube.get("v1", "Secret", namespace, ref.name))

    async def _connection_verify(self, namespace: str, spec: VpnLinkSpec) -> bool | str | None:
        """The CA bundle of ``caBundleSecretRef`` as a file (None: the operator-wide setting)."""
        ref = spec.azure.ca_bundle_secret_ref
        if ref is None:
            return None
        values = decode_secret(await self.kube.get("v1", "Secret", namespace, ref.name)) or {}
        pem = values.get(ref.key, "")
        if "-----BEGIN CERTIFICATE-----" not in pem:
            # Trust nothing rather than fall back to the public roots for a private endpoint.
            raise CaBundleError(
                f"Secret {ref.name} (spec.azure.caBundleSecretRef) has no PEM certificate under key {ref.key!r}"
            )
        digest = hashlib.sha256(pem.encode()).hexdigest()[:32]
        path = self._ca_dir / f"ca-{digest}.pem"
        if not path.exists():
            self._ca_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(pem, encoding="utf-8")
            tmp.replace(path)
        return str(path)

    # -- outbound switching ---------------------------------------------------------------------

    async def switch_outbound(
        self, link: dict[str, Any], namespace: str, name: str, mode: OutboundState
    ) -> str:
        """Re-render every dependent strategy with ``mode``; return what happened, raise if it did not."""
        self.cache.link_outbound[(namespace, name)] = mode.value
        dependents = self.cache.strategies_of_link(namespace, name)
        if not dependents:
            return "no TradingStrategy names this VpnLink in spec.cloudLinkRef"
        for strategy in dependents:
            self.strategies.add(Key(STRATEGY, namespace, strategy))
        deadline = time.monotonic() + SWITCH_TIMEOUT_SECONDS
        pending = set(dependents)
        unrendered: set[str] = set()
        while pending:
            for strategy in sorted(pending):
                rendered = self._rendered_outbound(namespace, strategy)
                if rendered == mode.value:
                    pending.discard(strategy)
                elif rendered is None and self._waiting_for_gateway(namespace, strategy):
                    pending.discard(strategy)
                    unrendered.add(strategy)
            if not pending:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"ConfigMap not re-rendered within {SWITCH_TIMEOUT_SECONDS:g} s for: {', '.join(sorted(pending))}"
                )
            await asyncio.sleep(0.1)
        switched = sorted(set(dependents) - unrendered)
        verb = "OutboundRestored" if mode is OutboundState.DIRECT else "OutboundSwitched"
        for strategy in switched:
            body = self.cache.resource(STRATEGY, namespace, strategy)
            if body is not None:
                await self.kube.event(
                    body,
                    "Normal" if mode is OutboundState.DIRECT else "Warning",
                    verb,
                    f"VpnLink {name}: outbound path is now {mode.value} (config hot-reloaded)",
                    "VpnLinkFailover",
                )
        summary = f"{len(switched)} strategies re-rendered ({', '.join(switched) or 'none'})"
        if unrendered:
            summary += f"; {len(unrendered)} without config yet ({', '.join(sorted(unrendered))})"
        return summary

    def _rendered_outbound(self, namespace: str, strategy: str) -> str | None:
        """The outbound mode in the strategy's ConfigMap as last applied (None: no ConfigMap)."""
        config_map = self.cache.child(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"namespace": namespace, "name": config_map_name(strategy)},
            }
        )
        if config_map is None:
            return None
        try:
            config = json.loads((config_map.get("data") or {}).get(CONFIG_FILE_NAME, "{}"))
        except json.JSONDecodeError:
            return None
        mode = (config.get("outbound") or {}).get("mode")
        return str(mode) if mode is not None else None

    def _waiting_for_gateway(self, namespace: str, strategy: str) -> bool:
        """A strategy whose gateway does not exist renders no ConfigMap: nothing to switch yet."""
        body = self.cache.resource(STRATEGY, namespace, strategy)
        if body is None:
            return True
        gateway = ((body.get("spec") or {}).get("gatewayRef") or {}).get("name", "")
        return self.cache.resource("IBKRGateway", namespace, gateway) is None
