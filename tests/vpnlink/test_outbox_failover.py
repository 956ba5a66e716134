"""VPN outage end to end without Kubernetes: the VpnLink engine switches the strategies' rendered
config to buffering and back; the outbox, reloading that config, keeps everything while the link is
down and delivers exactly what was produced, in order, once it returns."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry

from spyops.azuresim import AzureSim
from spyops.common.polling import until
from spyops.operator.vpnlink.engine import EventType
from spyops.operator.vpnlink.metrics import VpnLinkMetrics
from spyops.operator.vpnlink.model import LinkHealth, OutboundState, VpnLinkStatus
from spyops.outbox import OutboxSender, OutboxStore, SenderSettings
from spyops.outbox.sender import OutboxMetrics
from spyops.schemas import GatewayEndpoint, OutboundMode, OutboundSettings, RuntimeConfig, load_runtime_config
from tests.azuresim.fixtures import control
from tests.outbox.backend import RecordingBackend
from tests.vpnlink.helpers import EngineFactory, sim_settings, sim_spec

TOKEN = "edge-to-backend-token-8c1e"


@dataclass
class RenderedConfigEffects:
    """The controller's side, reduced to its effect on one strategy: re-render config.json."""

    config_path: Path
    events: list[str] = field(default_factory=list)

    async def persist(self, status: VpnLinkStatus) -> None:
        return None

    async def event(self, type_: EventType, reason: str, message: str) -> None:
        self.events.append(reason)

    async def switch_outbound(self, mode: OutboundState, backup_url: str | None) -> str:
        current = load_runtime_config(self.config_path)
        outbound = current.outbound.model_copy(update={"mode": OutboundMode(mode.value)})
        rendered = current.model_copy(update={"outbound": outbound})
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(rendered.to_json(), encoding="utf-8")
        tmp.replace(self.config_path)  # atomic, like a ConfigMap volume update
        return "1 strategy re-rendered"


async def test_outage_buffers_and_replays_exactly_once_in_order(
    engines: EngineFactory, azure_sim: AzureSim, tmp_path: Path
) -> None:
    backend = RecordingBackend(token=TOKEN)
    await backend.start()
    token_file = tmp_path / "backend-token"
    token_file.write_text(TOKEN, encoding="utf-8")
    config_path = tmp_path / "config.json"
    config_path.write_text(
        RuntimeConfig(
            strategy="edge/spy-0dte",
            gateway=GatewayEndpoint(host="127.0.0.1", port=4002),
            lease_name="spy-0dte-leader",
            outbound=OutboundSettings(
                mode=OutboundMode.DIRECT, backend_url=backend.url, token_file=str(token_file)
            ),
        ).to_json(),
        encoding="utf-8",
    )
    store = OutboxStore(tmp_path / "outbox.db")
    sender = OutboxSender(
        store,
        load_runtime_config(config_path).outbound,
        SenderSettings(backoff_initial_seconds=0.05, backoff_max_seconds=0.2, idle_poll_seconds=0.2),
        OutboxMetrics(CollectorRegistry(), "bot"),
    )
    sender_task = asyncio.create_task(sender.run())

    def reload_config() -> None:  # what the workload's config watcher does on a change
        sender.set_outbound(load_runtime_config(config_path).outbound)

    now = [dt.datetime(2026, 11, 21, 15, 0, tzinfo=dt.UTC)]
    engine = engines(sim_settings(azure_sim), VpnLinkMetrics(CollectorRegistry()), now=lambda: now[0])
    # The probe target is the backend itself: the service across the tunnel.
    spec = sim_spec(
        azure_sim,
        probes={"targets": [f"127.0.0.1:{backend.port}"], "timeoutSeconds": 2},
        failover={"failureThreshold": 2, "recoveryThreshold": 2, "cooldownSeconds": 600},
    )
    effects = RenderedConfigEffects(config_path)
    status = VpnLinkStatus()
    expected: list[tuple[str, str]] = []
    counter = iter(range(1000))

    async def produce(n: int) -> None:
        for _ in range(n):
            i = next(counter)
            if i % 3 == 2:
                await sender.submit("execution", {"id": f"exec-{i:04d}", "n": i})
                expected.append(("executions", f"exec-{i:04d}"))
            else:
                await sender.submit("signal", {"id": f"{i:032x}", "n": i})
                expected.append(("signals", f"{i:032x}"))

    async def check() -> VpnLinkStatus:
        report = await engine.run_check("edge", "azure-link", spec, status, None, effects)
        reload_config()
        now[0] += dt.timedelta(seconds=30)
        return report.status

    try:
        status = await check()
        await produce(6)
        await until(lambda: backend.total() == 6)

        # The VPN drops: Azure says NotConnected and the backend cannot be reached.
        await control(azure_sim, "POST", "/control/connection", {"status": "NotConnected"})
        await control(azure_sim, "POST", "/control/reset-behavior", {"target": "connection", "polls": 1})
        await backend.stop()
        await produce(10)
        status = await check()
        assert status.health is LinkHealth.DEGRADED
        status = await check()
        assert status.health is LinkHealth.DOWN
        assert status.outbound is OutboundState.BUFFERING
        assert load_runtime_config(config_path).outbound.mode is OutboundMode.BUFFERING
        assert sender.outbound.mode.value == "buffering"
        await produce(10)  # still trading, still producing
        assert sum(store.pending_count().values()) == 20

        # The link returns; the backend is reachable again; recovery takes two good checks.
        await control(azure_sim, "POST", "/control/connection", {"status": "Connected"})
        await backend.start()
        await asyncio.sleep(0.5)
        assert backend.total() == 6  # buffering: nothing sent though the backend is up
        status = await check()
        assert status.outbound is OutboundState.BUFFERING
        status = await check()
        assert status.health is LinkHealth.HEALTHY
        assert status.outbound is OutboundState.DIRECT
        assert sender.outbound.mode.value == "direct"
        await until(lambda: backend.total() == 26)
        await until(lambda: sum(store.pending_count().values()) == 0)
    finally:
        sender.stop()
        await asyncio.wait_for(sender_task, 30)
        store.close()
        await backend.stop()
    assert backend.arrival == expected
    assert "SwitchOutboundSucceeded" in effects.events
    assert "RestoreOutboundSucceeded" in effects.events
