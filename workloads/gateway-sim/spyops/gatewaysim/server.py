"""The running simulator: the TWS API listener, the market loop and the control API.

Everything runs in one asyncio loop. The market loop steps the model in fixed session
time steps (so a seed and a scenario replay the same day), fires scenario events as the
session clock reaches them, matches working orders after every step and publishes quote
changes to subscribers about every 100 ms of wall time.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from spyops.common.probes import ProbeServer
from spyops.gatewaysim.control import build_control_server
from spyops.gatewaysim.gateway import Gateway, GatewayConfig
from spyops.gatewaysim.market import QuoteSource, SessionClock
from spyops.gatewaysim.messages import EASTERN
from spyops.gatewaysim.scenario import (
    ConnectivityLost,
    ConnectivityRestored,
    DropConnections,
    InjectAnomaly,
    PauseMarketData,
    Restart,
    ResumeMarketData,
    Scenario,
    ScenarioEvent,
    event_time,
)
from spyops.market import MarketClosedError

log = logging.getLogger("spyops.gatewaysim.server")


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 4002
    control_host: str = "127.0.0.1"
    control_port: int = 4080
    speed: float = 1.0


class GatewayServer:
    def __init__(
        self,
        source: QuoteSource,
        *,
        settings: ServerSettings | None = None,
        config: GatewayConfig | None = None,
        scenario: Scenario | None = None,
    ) -> None:
        self.settings = settings or ServerSettings()
        self.source = source
        self.gateway = Gateway(source, config=config)
        self.scenario = scenario or Scenario()
        session_date = source.now.astimezone(EASTERN).date()
        self._pending_events: deque[tuple[dt.datetime, ScenarioEvent]] = deque(
            (event_time(event, session_date, EASTERN), event) for event in self.scenario.events
        )
        self.clock: SessionClock | None = None
        self._server: asyncio.Server | None = None
        self._control: ProbeServer | None = None
        self._market_task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self.port = self.settings.port
        self.control_port = self.settings.control_port
        self.restarting = False
        self.restarts = 0
        self.last_restart: float | None = None
        self.last_cycle_wall = time.monotonic()
        self.events_fired: list[dict[str, object]] = []

    # lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.clock = SessionClock(self.source.now, self.settings.speed, loop.time())
        await self._listen()
        self._control = build_control_server(self)
        self.control_port = await self._control.start(self.settings.control_host, self.settings.control_port)
        self._market_task = asyncio.create_task(self._market_loop(), name="gatewaysim-market")
        log.info(
            "gateway simulator listening on %s:%d (control %s:%d), session %s",
            self.settings.host,
            self.port,
            self.settings.control_host,
            self.control_port,
            self.source.now.isoformat(),
        )

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        port = self.port
        self._server = await loop.create_server(
            self.gateway.new_session, self.settings.host, port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._market_task is not None:
            self._market_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._market_task
        for task in list(self._background):
            task.cancel()
        if self._server is not None:
            self._server.close()
        self.gateway.drop_all_connections()
        if self._control is not None:
            await self._control.stop()

    @property
    def listening(self) -> bool:
        return self._server is not None and self._server.is_serving()

    # control actions ------------------------------------------------------------------
    async def restart(self, downtime_seconds: float) -> None:
        """Simulate a gateway restart: stop listening, drop every connection, come back.

        Orders, executions, positions and order-id sequences are kept, like IB Gateway
        keeps them across its daily restart.
        """
        if self.restarting:
            return
        self.restarting = True
        log.info("restarting: down for %.1f s", downtime_seconds)
        try:
            if self._server is not None:
                self._server.close()
            self.gateway.drop_all_connections()
            await asyncio.sleep(downtime_seconds)
            await self._listen()
            self.restarts += 1
            self.last_restart = time.time()
        finally:
            self.restarting = False
        log.info("restarted; listening on %s:%d", self.settings.host, self.port)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def apply_event(self, event: ScenarioEvent) -> None:
        record: dict[str, object] = {"at": event.at.isoformat(), "action": event.action}
        if isinstance(event, InjectAnomaly):
            try:
                injected = self.gateway.inject(
                    event.kind,
                    strike=event.strike,
                    right=event.right,
                    size=event.size,
                    duration_seconds=event.duration_seconds,
                )
            except ValueError as exc:  # the model cannot place it now; the day goes on
                record["error"] = str(exc)
                log.warning("scenario anomaly at %s not injected: %s", event.at.isoformat(), exc)
            else:
                record["injected"] = describe(injected)
        elif isinstance(event, DropConnections):
            record["dropped"] = self.gateway.drop_all_connections()
        elif isinstance(event, ConnectivityLost):
            self.gateway.set_connectivity(False)
        elif isinstance(event, ConnectivityRestored):
            self.gateway.set_connectivity(True, data_lost=event.data_lost)
        elif isinstance(event, PauseMarketData):
            self.gateway.set_market_data_paused(True)
        elif isinstance(event, ResumeMarketData):
            self.gateway.set_market_data_paused(False)
        elif isinstance(event, Restart):
            self.spawn(self.restart(event.downtime_seconds))
        self.events_fired.append(record)
        log.info(
            "scenario event %s at %s", event.action, event.at.isoformat(), extra={"scenario_event": record}
        )

    # market loop ----------------------------------------------------------------------
    def step_until(self, target: dt.datetime) -> int:
        """Step the model to ``target`` in fixed steps, firing due events first."""
        config = self.gateway.config
        step = dt.timedelta(seconds=config.step_seconds)
        steps = 0
        while steps < config.max_steps_per_cycle and not self.gateway.market_closed:
            next_time = self.source.now + step
            if next_time > target:
                break
            while self._pending_events and self._pending_events[0][0] <= next_time:
                _, event = self._pending_events.popleft()
                self.apply_event(event)
            try:
                arrays = self.source.step(config.step_seconds)
            except MarketClosedError:
                self.gateway.close_market()
                break
            changed = self.gateway.market.apply(arrays)
            self.gateway.on_snapshot_applied(changed)
            steps += 1
        return steps

    async def _market_loop(self) -> None:
        loop = asyncio.get_running_loop()
        config = self.gateway.config
        metrics = self.gateway.metrics
        assert self.clock is not None
        interval = config.publish_interval_seconds
        next_cycle = loop.time()
        while True:
            started = loop.time()
            try:
                target = self.clock.at(started)
                self.step_until(target)
                self.gateway.publish(started)
                self.gateway.flush_account_updates()
                metrics.session_time.set(self.source.now.timestamp())
                metrics.market_lag.set(max((target - self.source.now).total_seconds(), 0.0))
            except Exception:
                log.exception("market cycle failed")
            finished = loop.time()
            metrics.cycle_seconds.observe(finished - started)
            self.last_cycle_wall = time.monotonic()
            next_cycle += interval
            if next_cycle < finished:
                next_cycle = finished  # behind: do not try to catch up publish cycles
            await asyncio.sleep(next_cycle - finished)


def describe(value: object) -> object:
    """JSON-friendly view of what the market model returned for an injection."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    if hasattr(value, "__dataclass_fields__"):
        import dataclasses

        return {
            k: (v.isoformat() if isinstance(v, dt.datetime | dt.date) else v)
            for k, v in dataclasses.asdict(value).items()  # type: ignore[call-overload]
        }
    return repr(value)
