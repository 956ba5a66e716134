"""One check of one VpnLink: observe, judge, act, record. The kopf controller calls :func:`run_check`
on a timer (``spec.probes.intervalSeconds``) and persists the returned status.

I/O the controller owns is passed in through :class:`LinkEffects` (status writes,
Kubernetes Events, switching the dependent strategies' rendered config), so this
module needs no Kubernetes and is tested against the Azure simulator alone.

Crash safety: before an action runs, its Started record is handed to
``effects.persist``; a restarted operator reads it back from the status and the
policy does not repeat the action inside its cooldown.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

from spyops.operator.vpnlink import failover, health, notify
from spyops.operator.vpnlink.azure_client import (
    AzureClientSettings,
    AzureError,
    AzureErrorReason,
    AzureLinkClient,
    AzureObservation,
    CredentialsError,
    OperationOutcome,
    open_link_client,
)
from spyops.operator.vpnlink.metrics import VpnLinkMetrics
from spyops.operator.vpnlink.model import (
    ActionName,
    ActionRecord,
    ActionResult,
    LinkHealth,
    OutboundState,
    ProbeStatus,
    TunnelStatus,
    VpnLinkSpec,
    VpnLinkStatus,
)
from spyops.operator.vpnlink.probes import ProbeResult, probe_all

log = logging.getLogger("spyops.operator.vpnlink")

MAX_ACTIONS_PER_CHECK = 6
EventType = Literal["Normal", "Warning"]


class LinkEffects(Protocol):
    """What the controller does on the engine's behalf."""

    async def persist(self, status: VpnLinkStatus) -> None:
        """Write the status now (before an action runs, so a restart sees it)."""

    async def event(self, type_: EventType, reason: str, message: str) -> None:
        """Emit a Kubernetes Event on the VpnLink."""

    async def switch_outbound(self, mode: OutboundState, backup_url: str | None) -> str:
        """Re-render every dependent strategy's config with this outbound mode; return a summary.

        Raise to report failure; the message of the exception is shown (keep secrets out of it).
        """


@dataclass(frozen=True)
class LinkObservation:
    azure: AzureObservation
    probes: list[ProbeResult]
    observed_at: dt.datetime


@dataclass
class CheckReport:
    status: VpnLinkStatus
    verdict: health.HealthVerdict
    actions: list[ActionRecord] = field(default_factory=list)
    next_check_in_seconds: float = 30.0  # the probe interval, or longer when Azure asked us to back off


def next_check_delay(spec: VpnLinkSpec, azure: AzureObservation) -> float:
    """The probe interval, stretched to a throttling response's Retry-After."""
    interval = float(spec.probes.interval_seconds)
    retry_after = azure.error.retry_after_seconds if azure.error is not None else None
    return max(interval, retry_after) if retry_after is not None else interval


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def observe_link(
    spec: VpnLinkSpec,
    secret_values: Mapping[str, str] | None,
    settings: AzureClientSettings,
    now: Callable[[], dt.datetime] = _utcnow,
    client: AzureLinkClient | None = None,
) -> LinkObservation:
    """Read Azure and run the probes concurrently; never raises for Azure or network failures."""

    async def read_azure() -> AzureObservation:
        if client is not None:
            return await client.read()
        try:
            opened = open_link_client(spec.azure, secret_values, settings)
        except CredentialsError as exc:
            return AzureObservation(None, None, AzureError(AzureErrorReason.CREDENTIALS_INVALID, str(exc)))
        async with opened:
            return await opened.read()

    azure, probes = await asyncio.gather(
        read_azure(), probe_all(spec.probes.targets, spec.probes.timeout_seconds)
    )
    return LinkObservation(azure=azure, probes=probes, observed_at=now())


def apply_observation(
    status: VpnLinkStatus, observation: LinkObservation, spec: VpnLinkSpec
) -> tuple[VpnLinkStatus, health.HealthVerdict]:
    """Pure: the status after one observation (health, counters, Azure and probe fields)."""
    now = observation.observed_at
    previous = health.HealthState(
        status.health, status.health_since, status.consecutive_failures, status.consecutive_successes
    )
    thresholds = health.Thresholds(spec.failover.failure_threshold, spec.failover.recovery_threshold)
    verdict = health.evaluate(previous, observation.azure, observation.probes, thresholds, now)
    az = observation.azure
    azure_status = status.azure.model_copy()
    if az.connection is not None:
        c = az.connection
        azure_status = azure_status.model_copy(
            update={
                "connection_status": c.connection_status,
                "tunnels": [
                    TunnelStatus(
                        name=t.name,
                        connection_status=t.connection_status,
                        ingress_bytes=t.ingress_bytes,
                        egress_bytes=t.egress_bytes,
                        last_connection_established=t.last_connection_established,
                    )
                    for t in c.tunnels
                ],
                "ingress_bytes": c.ingress_bytes,
                "egress_bytes": c.egress_bytes,
                "observed_at": now,
            }
        )
    if az.gateway is not None:
        azure_status = azure_status.model_copy(
            update={"gateway_provisioning_state": az.gateway.provisioning_state, "observed_at": now}
        )
    azure_status = azure_status.model_copy(
        update={
            "error_reason": az.error.reason.value if az.error else "",
            "error_message": az.error.message if az.error else "",
        }
    )
    probes = [
        ProbeStatus(
            target=p.target,
            ok=p.ok,
            latency_ms=round(p.latency_seconds * 1000, 3) if p.latency_seconds is not None else None,
            error=p.error,
        )
        for p in observation.probes
    ]
    state = verdict.state
    new_status = status.model_copy(
        update={
            "azure": azure_status,
            "probes": probes,
            "health": state.health,
            "health_since": state.since,
            "consecutive_failures": state.consecutive_failures,
            "consecutive_successes": state.consecutive_successes,
            "reasons": list(verdict.reasons),
            "last_check": now,
        }
    )
    return new_status, verdict


_HEALTH_EVENTS: dict[LinkHealth, tuple[EventType, str]] = {
    LinkHealth.HEALTHY: ("Normal", "LinkHealthy"),
    LinkHealth.DEGRADED: ("Warning", "LinkDegraded"),
    LinkHealth.DOWN: ("Warning", "LinkDown"),
    LinkHealth.UNKNOWN: ("Normal", "LinkUnknown"),
}


@dataclass
class LinkEngine:
    """Runs checks for VpnLinks; one instance per operator, shared across links.

    Azure clients (and so their credentials' token caches) are kept per link between checks and
    replaced when the link's Azure section or its Secret changes; call :meth:`forget` when a
    VpnLink is deleted and :meth:`close` at shutdown.
    """

    settings: AzureClientSettings
    metrics: VpnLinkMetrics
    now: Callable[[], dt.datetime] = _utcnow
    webhook_timeout_seconds: float = 5.0
    _clients: dict[tuple[str, str], tuple[str, AzureLinkClient]] = field(default_factory=dict, repr=False)

    @staticmethod
    def _client_key(
        spec: VpnLinkSpec, secret_values: Mapping[str, str] | None, settings: AzureClientSettings
    ) -> str:
        digest = hashlib.sha256(spec.azure.model_dump_json().encode())
        digest.update(repr(settings).encode())
        for key, value in sorted((secret_values or {}).items()):
            digest.update(b"\0" + key.encode() + b"\0" + value.encode())
        return digest.hexdigest()

    async def _client_for(
        self,
        namespace: str,
        name: str,
        spec: VpnLinkSpec,
        secret_values: Mapping[str, str] | None,
        settings: AzureClientSettings,
    ) -> AzureLinkClient | None:
        """The cached client, a fresh one after a change, or None when the credentials are unusable."""
        key = self._client_key(spec, secret_values, settings)
        cached = self._clients.get((namespace, name))
        if cached is not None and cached[0] == key:
            return cached[1]
        await self.forget(namespace, name)
        try:
            client = open_link_client(spec.azure, secret_values, settings)
        except CredentialsError:
            return None
        self._clients[(namespace, name)] = (key, client)
        return client

    async def forget(self, namespace: str, name: str) -> None:
        """Close a link's client (the VpnLink was deleted or changed)."""
        cached = self._clients.pop((namespace, name), None)
        if cached is not None:
            await cached[1].close()

    async def close(self) -> None:
        for namespace, name in list(self._clients):
            await self.forget(namespace, name)

    async def run_check(
        self,
        namespace: str,
        name: str,
        spec: VpnLinkSpec,
        status: VpnLinkStatus,
        secret_values: Mapping[str, str] | None,
        effects: LinkEffects,
        connection_verify: bool | str | None = None,
    ) -> CheckReport:
        """One check. ``connection_verify`` overrides the operator-wide TLS trust for this link's
        Azure endpoint (its ``caBundleSecretRef``, as a file path)."""
        settings = (
            self.settings
            if connection_verify is None
            else replace(self.settings, connection_verify=connection_verify)
        )
        client = await self._client_for(namespace, name, spec, secret_values, settings)
        observation = await observe_link(spec, secret_values, settings, self.now, client)
        new_status, verdict = apply_observation(status, observation, spec)
        await self._report_observation(namespace, name, status, new_status, verdict, observation, effects)
        report = CheckReport(
            new_status, verdict, next_check_in_seconds=next_check_delay(spec, observation.azure)
        )
        await self._act(namespace, name, spec, report, client, effects)
        return report

    async def _report_observation(
        self,
        namespace: str,
        name: str,
        before: VpnLinkStatus,
        after: VpnLinkStatus,
        verdict: health.HealthVerdict,
        observation: LinkObservation,
        effects: LinkEffects,
    ) -> None:
        m = self.metrics
        m.observe_health(namespace, name, after.health, after.consecutive_failures)
        m.observe_probes(namespace, name, observation.probes)
        conn = observation.azure.connection
        if conn is not None:
            up = sum(1 for t in conn.tunnels if t.connection_status == "Connected")
            m.observe_azure(
                namespace, name, conn.connection_status, up, conn.ingress_bytes, conn.egress_bytes
            )
        error = observation.azure.error
        if error is not None:
            m.azure_error(namespace, name, error.reason.value)
        if error is not None and error.reason.value != before.azure.error_reason:
            await effects.event("Warning", error.reason.value, error.message)
        elif error is None and before.azure.error_reason:
            await effects.event("Normal", "AzureReachable", "Azure status can be read again")
        if verdict.changed:
            type_, reason = _HEALTH_EVENTS[after.health]
            detail = "; ".join(verdict.reasons) or "all checks passed"
            message = (
                f"{before.health.value} -> {after.health.value} after {verdict.outcome.value} check: {detail}"
            )
            await effects.event(type_, reason, message[:1024])
        log.info(
            "vpnlink checked",
            extra={
                "namespace": namespace,
                "vpnlink": name,
                "health": after.health.value,
                "outcome": verdict.outcome.value,
                "failures": after.consecutive_failures,
                "successes": after.consecutive_successes,
                "reasons": list(verdict.reasons),
            },
        )

    async def _act(
        self,
        namespace: str,
        name: str,
        spec: VpnLinkSpec,
        report: CheckReport,
        client: AzureLinkClient | None,
        effects: LinkEffects,
    ) -> None:
        policy = spec.failover
        for _ in range(MAX_ACTIONS_PER_CHECK):
            status = report.status
            state = health.HealthState(
                status.health, status.health_since, status.consecutive_failures, status.consecutive_successes
            )
            now = self.now()
            decision = failover.decide(state, status.outbound, policy, status.action_history, now)
            if decision.action is None:
                if decision.held_back != status.failover_held_back:
                    report.status = status.model_copy(update={"failover_held_back": decision.held_back})
                    if decision.held_back:
                        await effects.event(
                            "Normal", decision.held_back, f"reset held back: {decision.message}"
                        )
                return
            history, started = failover.begin_action(status.action_history, decision.action, now)
            report.status = status.model_copy(update={"action_history": history, "last_failover": started})
            await effects.persist(report.status)
            result, message, outbound = await self._execute(
                namespace, name, spec, report.status, decision, client, effects
            )
            history, done = failover.finish_action(report.status.action_history, started, result, message)
            update: dict[str, object] = {"action_history": history, "last_failover": done}
            if outbound is not None:
                update["outbound"] = outbound
            report.status = report.status.model_copy(update=update)
            report.actions.append(done)
            self.metrics.failover(namespace, name, done.action.value, done.result.value)
            type_: EventType = "Normal" if result is ActionResult.SUCCEEDED else "Warning"
            await effects.event(type_, f"{done.action.value}{done.result.value}", message[:1024])
            await effects.persist(report.status)
        log.warning("vpnlink: action limit per check reached", extra={"vpnlink": name})

    async def _execute(
        self,
        namespace: str,
        name: str,
        spec: VpnLinkSpec,
        status: VpnLinkStatus,
        decision: failover.Decision,
        client: AzureLinkClient | None,
        effects: LinkEffects,
    ) -> tuple[ActionResult, str, OutboundState | None]:
        assert decision.action is not None
        action = decision.action
        if action.action in (ActionName.RESET_CONNECTION, ActionName.RESET_GATEWAY):
            if client is None:
                return ActionResult.FAILED, "no Azure credentials to reset with", None
            outcome: OperationOutcome = (
                await client.reset_connection()
                if action.action is ActionName.RESET_CONNECTION
                else await client.reset_gateway()
            )
            return (ActionResult.SUCCEEDED if outcome.ok else ActionResult.FAILED), outcome.message, None
        if action.action in (ActionName.SWITCH_OUTBOUND, ActionName.RESTORE_OUTBOUND):
            mode = OutboundState(action.target)
            try:
                summary = await effects.switch_outbound(mode, spec.failover.backup_url)
            except Exception as exc:  # the controller's failure, reported as the action's result
                return ActionResult.FAILED, f"switching outbound to {mode.value} failed: {exc}", None
            return ActionResult.SUCCEEDED, f"outbound switched to {mode.value}: {summary}", mode
        # NOTIFY
        firing = action.target == failover.NOTICE_DOWN
        text = (
            f"VpnLink {namespace}/{name} is Down: {'; '.join(status.reasons)}"
            if firing
            else f"VpnLink {namespace}/{name} recovered"
        )
        await effects.event(
            "Warning" if firing else "Normal", "LinkDownNotice" if firing else "LinkRecoveredNotice", text
        )
        url = spec.failover.webhook_url
        if not url:
            return ActionResult.SUCCEEDED, "notified through an Event (no webhook configured)", None
        alerts = notify.build_alert(
            link=name,
            namespace=namespace,
            firing=firing,
            summary=f"VPN link {namespace}/{name} is {'down' if firing else 'back up'}",
            description=text[:1000],
            started_at=status.health_since or self.now(),
            now=self.now(),
        )
        sent = await notify.send_alert(
            url, alerts, self.webhook_timeout_seconds, self.settings.connection_verify
        )
        return (ActionResult.SUCCEEDED if sent.ok else ActionResult.FAILED), sent.message, None
