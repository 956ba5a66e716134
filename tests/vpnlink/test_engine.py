"""A VpnLink's life end to end against the Azure simulator (no Kubernetes): down -> Degraded -> Down ->
reset -> buffering -> back -> direct, with every step in status, Events, metrics and the webhook."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from spyops.azuresim import AzureSim
from spyops.operator.vpnlink.conditions import cloud_link_ready, link_conditions
from spyops.operator.vpnlink.engine import EventType
from spyops.operator.vpnlink.metrics import VpnLinkMetrics
from spyops.operator.vpnlink.model import (
    ActionName,
    ActionResult,
    LinkHealth,
    OutboundState,
    VpnLinkSpec,
    VpnLinkStatus,
)
from tests.azuresim.fixtures import control
from tests.vpnlink.helpers import EngineFactory, secret_values, sim_settings, sim_spec

T0 = dt.datetime(2026, 11, 21, 15, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def tick(self, seconds: float = 30) -> None:
        self.now += dt.timedelta(seconds=seconds)


class CrashError(RuntimeError):
    pass


@dataclass
class RecordingEffects:
    """Stands in for the controller's Kubernetes writes; records what the engine asked for."""

    persisted: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[str, str, str]] = field(default_factory=list)
    switches: list[tuple[OutboundState, str | None]] = field(default_factory=list)
    crash_on_started: ActionName | None = None

    async def persist(self, status: VpnLinkStatus) -> None:
        self.persisted.append(status.model_dump(mode="json", by_alias=True))
        last = status.last_failover
        if last is not None and last.result is ActionResult.STARTED and last.action is self.crash_on_started:
            raise CrashError("operator killed right after persisting the Started record")

    async def event(self, type_: EventType, reason: str, message: str) -> None:
        self.events.append((type_, reason, message))

    async def switch_outbound(self, mode: OutboundState, backup_url: str | None) -> str:
        self.switches.append((mode, backup_url))
        return "2 strategies re-rendered"

    def reasons(self) -> list[str]:
        return [reason for _, reason, _ in self.events]


class ProbeTarget:
    """A TCP listener standing in for a service across the tunnel; can be taken down and brought back."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.port = 0

    async def up(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    @staticmethod
    async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()


@pytest.fixture
async def probe_target() -> AsyncIterator[ProbeTarget]:
    target = ProbeTarget()
    await target.up()
    try:
        yield target
    finally:
        await target.down()


@dataclass
class Alertmanager:
    url: str
    received: list[list[dict[str, Any]]]


@pytest.fixture
async def alertmanager() -> AsyncIterator[Alertmanager]:
    received: list[list[dict[str, Any]]] = []

    async def alerts(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.json_response({}, status=200)

    app = web.Application()
    app.router.add_post("/api/v2/alerts", alerts)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield Alertmanager(f"http://127.0.0.1:{port}", received)
    finally:
        await runner.cleanup()


def link_spec(sim: AzureSim, probe: ProbeTarget, webhook: str | None = None, **failover: Any) -> VpnLinkSpec:
    policy: dict[str, Any] = {
        "failureThreshold": 3,
        "recoveryThreshold": 2,
        "resetConnection": True,
        "resetGateway": False,
        "outboundAction": "buffering",
        "cooldownSeconds": 300,
        "maxActionsPerHour": 4,
        **failover,
    }
    if webhook:
        policy["webhookUrl"] = webhook
    return sim_spec(
        sim,
        secret=True,
        probes={"targets": [f"127.0.0.1:{probe.port}"], "intervalSeconds": 30, "timeoutSeconds": 2},
        failover=policy,
    )


async def test_link_down_failover_and_recovery(
    engines: EngineFactory,
    azure_sim: AzureSim,
    probe_target: ProbeTarget,
    alertmanager: Alertmanager,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = Clock()
    registry = CollectorRegistry()
    engine = engines(sim_settings(azure_sim), VpnLinkMetrics(registry), now=clock)
    spec = link_spec(azure_sim, probe_target, alertmanager.url)
    secrets = secret_values(azure_sim)
    effects = RecordingEffects()
    status = VpnLinkStatus()

    async def check() -> VpnLinkStatus:
        report = await engine.run_check("edge", "azure-link", spec, status, secrets, effects)
        clock.tick()
        return report.status

    status = await check()
    assert status.health is LinkHealth.HEALTHY
    assert status.azure.connection_status == "Connected"
    assert status.probes[0].ok
    assert effects.reasons() == ["LinkHealthy"]

    # The tunnel drops; a reset will bring it back.
    await control(azure_sim, "POST", "/control/connection", {"status": "NotConnected"})
    await control(
        azure_sim,
        "POST",
        "/control/reset-behavior",
        {"target": "connection", "polls": 2, "restoreAfterSeconds": 0},
    )
    await probe_target.down()
    status = await check()
    assert (status.health, status.consecutive_failures) == (LinkHealth.DEGRADED, 1)
    status = await check()
    assert (status.health, status.consecutive_failures) == (LinkHealth.DEGRADED, 2)
    assert (await control(azure_sim, "GET", "/control/state"))["resetsStarted"]["connection"] == 0
    status = await check()
    assert status.health is LinkHealth.DOWN
    assert [r.action for r in status.action_history] == [
        ActionName.RESET_CONNECTION,
        ActionName.SWITCH_OUTBOUND,
        ActionName.NOTIFY,
    ]
    assert all(r.result is ActionResult.SUCCEEDED for r in status.action_history)
    assert status.outbound is OutboundState.BUFFERING
    assert effects.switches == [(OutboundState.BUFFERING, None)]
    assert (await control(azure_sim, "GET", "/control/state"))["resetsStarted"]["connection"] == 1
    # The Started record reached the status before the reset ran.
    started = [p for p in effects.persisted if p["lastFailover"] and p["lastFailover"]["result"] == "Started"]
    assert started[0]["lastFailover"]["action"] == "ResetConnection"
    assert alertmanager.received[0][0]["labels"]["alertname"] == "SpyopsVpnLinkDown"
    assert "endsAt" not in alertmanager.received[0][0]
    assert {c.type: c.status for c in link_conditions(status)}["Ready"] == "False"
    assert cloud_link_ready("azure-link", status).status == "False"
    for reason in (
        "LinkDegraded",
        "LinkDown",
        "ResetConnectionSucceeded",
        "SwitchOutboundSucceeded",
        "LinkDownNotice",
    ):
        assert reason in effects.reasons()

    # The reset brought the link back; recovery needs two good checks.
    await probe_target.up()
    status = await check()
    assert status.health is LinkHealth.DOWN
    assert status.consecutive_successes == 1
    assert status.failover_held_back == "CooldownActive"
    assert status.outbound is OutboundState.BUFFERING
    status = await check()
    assert status.health is LinkHealth.HEALTHY
    assert status.outbound is OutboundState.DIRECT
    assert effects.switches[-1] == (OutboundState.DIRECT, None)
    assert status.last_failover is not None
    assert (status.last_failover.action, status.last_failover.target) == (ActionName.NOTIFY, "recovered")
    assert "endsAt" in alertmanager.received[-1][0]
    assert len(alertmanager.received) == 2
    assert cloud_link_ready("azure-link", status).status == "True"
    assert {"RestoreOutboundSucceeded", "LinkRecoveredNotice"} <= set(effects.reasons())
    # Steady again: no more actions.
    before = len(status.action_history)
    status = await check()
    assert len(status.action_history) == before
    assert (await control(azure_sim, "GET", "/control/state"))["resetsStarted"]["connection"] == 1

    metrics = registry.get_sample_value
    labels = {"namespace": "edge", "vpnlink": "azure-link"}
    assert metrics("spyops_vpnlink_up", labels) == 1
    assert (
        metrics(
            "spyops_vpnlink_failovers_total", {**labels, "action": "ResetConnection", "result": "Succeeded"}
        )
        == 1
    )
    probe_count = metrics(
        "spyops_vpnlink_probe_latency_seconds_count", {**labels, "target": spec.probes.targets[0]}
    )
    assert probe_count is not None
    assert probe_count >= 1

    # No secret in any log line, Event or status field.
    secret = azure_sim.config.client_secret
    everything = json.dumps(effects.persisted) + json.dumps(effects.events) + caplog.text
    assert secret not in everything


async def test_flapping_inside_the_window_takes_no_action(
    engines: EngineFactory, azure_sim: AzureSim, probe_target: ProbeTarget
) -> None:
    clock = Clock()
    engine = engines(sim_settings(azure_sim), VpnLinkMetrics(CollectorRegistry()), now=clock)
    spec = link_spec(azure_sim, probe_target)
    effects = RecordingEffects()
    status = VpnLinkStatus()
    for i in range(8):
        flap = "NotConnected" if i % 3 != 2 else "Connected"  # two failures, then one success, repeated
        await control(azure_sim, "POST", "/control/connection", {"status": flap})
        status = (await engine.run_check("edge", "l", spec, status, secret_values(azure_sim), effects)).status
        clock.tick()
        assert status.health is not LinkHealth.DOWN
    assert status.action_history == []
    assert effects.switches == []
    assert (await control(azure_sim, "GET", "/control/state"))["resetsStarted"]["connection"] == 0


async def test_restart_during_a_reset_does_not_repeat_it(
    engines: EngineFactory, azure_sim: AzureSim, probe_target: ProbeTarget
) -> None:
    clock = Clock()
    spec = link_spec(azure_sim, probe_target, failureThreshold=1)
    await control(azure_sim, "POST", "/control/connection", {"status": "NotConnected"})
    crashing = RecordingEffects(crash_on_started=ActionName.RESET_CONNECTION)
    first = engines(sim_settings(azure_sim), VpnLinkMetrics(CollectorRegistry()), now=clock)
    with pytest.raises(CrashError):
        await first.run_check("edge", "l", spec, VpnLinkStatus(), secret_values(azure_sim), crashing)
    # The new operator process starts from what the old one persisted.
    persisted = VpnLinkStatus.model_validate(crashing.persisted[-1])
    assert persisted.last_failover is not None
    assert persisted.last_failover.result is ActionResult.STARTED
    clock.tick(60)
    effects = RecordingEffects()
    second = engines(sim_settings(azure_sim), VpnLinkMetrics(CollectorRegistry()), now=clock)
    report = await second.run_check("edge", "l", spec, persisted, secret_values(azure_sim), effects)
    assert [a.action for a in report.actions] == [ActionName.SWITCH_OUTBOUND, ActionName.NOTIFY]
    assert report.status.failover_held_back == "CooldownActive"
    assert (await control(azure_sim, "GET", "/control/state"))["resetsStarted"]["connection"] == 0


async def test_cooldown_and_hourly_cap_hold_while_down(
    engines: EngineFactory, azure_sim: AzureSim, probe_target: ProbeTarget
) -> None:
    clock = Clock()
    spec = link_spec(azure_sim, probe_target, failureThreshold=1, cooldownSeconds=600, maxActionsPerHour=2)
    await control(azure_sim, "POST", "/control/connection", {"status": "NotConnected"})
    engine = engines(sim_settings(azure_sim), VpnLinkMetrics(CollectorRegistry()), now=clock)
    effects = RecordingEffects()
    status = VpnLinkStatus()
    # Every 5 minutes for 80 minutes: resets at 0 and 10 min, capped until 60 min, then again.
    resets_at: list[int] = []
    for minute in range(0, 80, 5):
        report = await engine.run_check("edge", "l", spec, status, secret_values(azure_sim), effects)
        status = report.status
        if any(a.action is ActionName.RESET_CONNECTION for a in report.actions):
            resets_at.append(minute)
        clock.tick(300)
    assert resets_at == [0, 10, 60, 70]
    assert "ActionCapReached" in effects.reasons()
    assert (await control(azure_sim, "GET", "/control/state"))["resetsStarted"]["connection"] == 4


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ({"status": 401}, "AzureAuthFailed"),
        ({"status": 403}, "AzureForbidden"),
        ({"status": 404}, "AzureNotFound"),
        ({"status": 429, "retryAfter": 45}, "AzureThrottled"),
        ({"status": 500}, "AzureServerError"),
    ],
)
async def test_azure_errors_become_conditions(
    engines: EngineFactory, azure_sim: AzureSim, probe_target: ProbeTarget, fault: dict[str, Any], reason: str
) -> None:
    await control(azure_sim, "POST", "/control/faults", {**fault, "count": 2})
    engine = engines(sim_settings(azure_sim), VpnLinkMetrics(CollectorRegistry()), now=Clock())
    effects = RecordingEffects()
    report = await engine.run_check(
        "edge", "l", link_spec(azure_sim, probe_target), VpnLinkStatus(), secret_values(azure_sim), effects
    )
    status = report.status
    assert status.azure.error_reason == reason
    conditions = {c.type: c for c in link_conditions(status)}
    assert conditions["AzureReachable"].status == "False"
    assert conditions["AzureReachable"].reason == reason
    assert conditions["AzureReachable"].message == status.azure.error_message
    assert (status.health, conditions["Ready"].status) == (LinkHealth.HEALTHY, "True")  # probes still pass
    assert ("Warning", reason) in [(t, r) for t, r, _ in effects.events]
    assert azure_sim.config.client_secret not in json.dumps(effects.events) + status.model_dump_json()
    assert report.next_check_in_seconds == (45.0 if reason == "AzureThrottled" else 30.0)


async def test_missing_secret_is_a_clear_condition(
    engines: EngineFactory, azure_sim: AzureSim, probe_target: ProbeTarget
) -> None:
    engine = engines(sim_settings(azure_sim), VpnLinkMetrics(CollectorRegistry()), now=Clock())
    report = await engine.run_check(
        "edge", "l", link_spec(azure_sim, probe_target), VpnLinkStatus(), None, RecordingEffects()
    )
    assert report.status.azure.error_reason == "AzureCredentialsInvalid"
    assert "azure-sp" in report.status.azure.error_message


async def test_clients_and_tokens_are_reused_until_the_secret_changes(
    engines: EngineFactory, azure_sim: AzureSim, probe_target: ProbeTarget
) -> None:
    engine = engines(sim_settings(azure_sim), VpnLinkMetrics(CollectorRegistry()), now=Clock())
    spec = link_spec(azure_sim, probe_target)
    status = VpnLinkStatus()
    for _ in range(3):
        status = (
            await engine.run_check("edge", "l", spec, status, secret_values(azure_sim), RecordingEffects())
        ).status
    log = (await control(azure_sim, "GET", "/control/requests"))["requests"]
    assert [r["operation"] for r in log].count("token") == 1
    assert [r["operation"] for r in log].count("getConnection") == 3
    # The Secret is rotated to a wrong value: a new client, a new token request, a clear condition.
    rotated = secret_values(azure_sim, clientSecret="rotated-but-wrong")
    report = await engine.run_check("edge", "l", spec, status, rotated, RecordingEffects())
    assert report.status.azure.error_reason == "AzureAuthFailed"
    await engine.forget("edge", "l")
    assert not engine._clients
