"""Real parts for the bot's integration tests: the gateway simulator, the signal stream, bot processes.

The simulator runs in the test's event loop on free loopback ports (the real TWS
protocol server); each bot is a real ``spyops bot`` process, so it can be killed
with SIGKILL; signals go through a real SignalLog served over HTTP, the same
transport the detector uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from spyops.common import metrics_text
from spyops.common.polling import until
from spyops.gatewaysim.gateway import GatewayConfig
from spyops.gatewaysim.model_source import build_model_source
from spyops.gatewaysim.server import GatewayServer, ServerSettings
from spyops.operator.render import lease_name
from spyops.schemas import (
    AnomalyKind,
    DetectorSettings,
    Leg,
    LegAction,
    OptionContract,
    OptionRight,
    OutboundSettings,
    QuoteRef,
    RuntimeConfig,
    Signal,
    SuggestedOrder,
)
from spyops.signalstream import SignalLog, add_signal_stream

SESSION = dt.date(2026, 11, 20)  # a Friday
STRATEGY = "demo/spy-0dte"


@contextlib.asynccontextmanager
async def simulator(seed: int = 7) -> AsyncIterator[GatewayServer]:
    source = build_model_source(seed, SESSION, dt.time(11, 0))
    server = GatewayServer(source, settings=ServerSettings(port=0, control_port=0), config=GatewayConfig())
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def signal_server() -> AsyncIterator[tuple[SignalLog, str]]:
    log = SignalLog()
    app = web.Application()
    add_signal_stream(app, log)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield log, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def runtime_config(
    gateway_port: int,
    stream_url: str,
    *,
    trading_state: str = "ACTIVE",
    risk: dict[str, Any] | None = None,
    execution: dict[str, Any] | None = None,
    lease_duration_seconds: int = 6,
    stale_after_ms: int = 5_000,
    strategy: str = STRATEGY,
) -> RuntimeConfig:
    return RuntimeConfig.model_validate(
        {
            "strategy": strategy,
            "gateway": {"host": "127.0.0.1", "port": gateway_port, "client_id_base": 100},
            "risk": {
                "max_open_positions": 20,
                "max_contracts_per_order": 10,
                "max_notional_per_order": 50_000.0,
                "max_daily_loss": 100_000.0,
                "max_orders_per_minute": 600,
                "trading_hours": {"timezone": "America/New_York", "start": "09:30:00", "end": "15:55:00"},
                **(risk or {}),
            },
            "execution": {"order_timeout_seconds": 3.0, "cooldown_seconds": 0.0, **(execution or {})},
            "detector": {"stale_after_ms": stale_after_ms},
            "trading_state": trading_state,
            # The Lease the operator renders for the strategy (its Role names exactly that one).
            "lease_name": lease_name(strategy.rpartition("/")[2]),
            "lease_duration_seconds": lease_duration_seconds,
            "detector_stream_url": stream_url,
        }
    )


def traded_through_backend(
    gateway_port: int, stream_url: str, strategy: str, backend_url: str, token_file: Path
) -> RuntimeConfig:
    """The config of the end-to-end tests: 60 market-data lines, orders that fill, the backend outbound."""
    return runtime_config(
        gateway_port,
        stream_url,
        strategy=strategy,
        execution={"limit_offset": 0.05, "order_timeout_seconds": 3.0},
    ).model_copy(
        update={
            "detector": DetectorSettings(max_market_data_lines=60),
            "outbound": OutboundSettings(backend_url=backend_url, token_file=str(token_file)),
        }
    )


async def wait_http_ok(url: str, within: float = 60.0) -> None:
    """Poll ``url`` until it answers 200 (a process's /ready)."""
    async with aiohttp.ClientSession() as http:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} did not answer 200 within {within} s")


def write_config(path: Path, config: RuntimeConfig) -> None:
    """Replace the file atomically, as a kubelet-updated ConfigMap appears to a reader."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(config.to_json())
    os.replace(tmp, path)


def contract(strike: float, right: OptionRight = OptionRight.CALL) -> OptionContract:
    return OptionContract(underlying="SPY", expiry=SESSION, strike=strike, right=right)


def book(server: GatewayServer, c: OptionContract) -> tuple[float, float, int, int]:
    spec = server.gateway.catalog.option(c.strike, c.right.value)
    assert spec is not None, f"{c.key} is not listed at the simulator"
    top = server.gateway.market.books[spec.con_id]
    return top.bid, top.ask, top.bid_size, top.ask_size


def atm_strikes(server: GatewayServer, n: int) -> list[float]:
    books = server.gateway.market.books
    spot = server.gateway.market.mark(server.gateway.catalog.stock.con_id) or 0.0
    strikes = sorted(server.gateway.catalog.strikes, key=lambda s: abs(s - spot))
    usable = [
        s
        for s in strikes
        if (spec := server.gateway.catalog.option(s, "C")) is not None
        and spec.con_id in books
        and books[spec.con_id].bid > 0.2
    ]
    return usable[:n]


def make_signal(
    server: GatewayServer,
    n: int,
    legs: list[tuple[OptionContract, LegAction]],
    *,
    marketable: bool = True,
    quantity: int = 1,
    strategy: str = STRATEGY,
) -> Signal:
    """A signal on the simulator's current quotes: legs at the touch (marketable) or 20 cents away."""
    now_market = server.gateway.now()
    suggested: list[Leg] = []
    quotes: list[QuoteRef] = []
    for c, action in legs:
        bid, ask, bid_size, ask_size = book(server, c)
        if marketable:
            price = ask + 0.05 if action is LegAction.BUY else max(0.01, bid - 0.05)
        else:
            price = max(0.01, bid - 0.20) if action is LegAction.BUY else ask + 0.20
        suggested.append(Leg(contract=c, action=action, ratio=1, limit_price=round(price, 2)))
        quotes.append(
            QuoteRef(contract=c, bid=bid, ask=ask, bid_size=bid_size, ask_size=ask_size, quote_ts=now_market)
        )
    first = legs[0][0]
    return Signal(
        id=hashlib.blake2b(f"test-signal-{n}-{time.time_ns()}".encode(), digest_size=16).hexdigest(),
        strategy=strategy,
        event_time=now_market,
        detected_at=dt.datetime.now(dt.UTC),
        underlying="SPY",
        expiry=SESSION,
        culprit=first,
        rule=AnomalyKind.VERTICAL_SPREAD,
        edge=10.0,
        score=2.0,
        quotes=tuple(quotes),
        suggested_order=SuggestedOrder(legs=tuple(suggested), quantity=quantity, net_price=0.0),
    )


@dataclass
class BotProcess:
    name: str
    workdir: Path
    config_path: Path
    kubeconfig: Path | None
    namespace: str = "demo"
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    probe_port: int | None = None
    starts: int = 0
    _log_offset: int = 0

    @property
    def journal_path(self) -> Path:
        return self.workdir / f"{self.name}.journal.sqlite"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self, **env: str) -> None:
        args = [
            sys.executable,
            "-m",
            "spyops",
            "bot",
            "--config",
            str(self.config_path),
            "--journal",
            str(self.journal_path),
            "--probe-host",
            "127.0.0.1",
            "--probe-port",
            "0",
        ]
        args += ["--kubeconfig", str(self.kubeconfig)] if self.kubeconfig else ["--standalone"]
        environment = {
            **os.environ,
            "POD_NAME": self.name,
            "POD_NAMESPACE": self.namespace,
            **self.extra_env,
            **env,
        }
        self.starts += 1
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log_file = self.log_path.open("ab")
        self.process = subprocess.Popen(args, stdout=log_file, stderr=log_file, env=environment)
        log_file.close()
        self.probe_port = None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)

    def log_lines(self, *, current_run_only: bool = False) -> list[dict[str, Any]]:
        lines = []
        with self.log_path.open("rb") as handle:
            handle.seek(self._log_offset if current_run_only else 0)
            text = handle.read().decode(errors="replace")
        for raw in text.splitlines():
            with contextlib.suppress(ValueError):
                lines.append(json.loads(raw))
        return lines

    def _find_probe_port(self) -> int | None:
        if self.probe_port is None:
            for line in reversed(self.log_lines(current_run_only=True)):
                if line.get("msg") == "bot starting":
                    self.probe_port = int(line["probe_port"])
                    break
        return self.probe_port

    async def get(self, path: str) -> tuple[int, str]:
        port = self._find_probe_port()
        if port is None:
            return 0, "not started"
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http,
                http.get(f"http://127.0.0.1:{port}{path}") as response,
            ):
                return response.status, await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            return 0, repr(exc)

    async def metric(self, name: str, labels: dict[str, str] | None = None) -> float | None:
        status, body = await self.get("/metrics")
        if status != 200:
            return None
        return metrics_text.value(body, name, labels)

    async def wait_metric(
        self,
        name: str,
        labels: dict[str, str] | None,
        predicate: Callable[[float], bool],
        within: float = 20.0,
    ) -> float:
        """Poll /metrics until ``predicate(value)`` holds; returns the value."""
        started = time.monotonic()
        while True:
            value = await self.metric(name, labels)
            if value is not None and predicate(value):
                return value
            if not self.alive():
                raise AssertionError(f"{self.name} exited: {self.log_path.read_text()[-3000:]}")
            if time.monotonic() - started > within:
                raise AssertionError(f"{self.name}: {name}{labels or ''} is {value} after {within}s")
            await asyncio.sleep(0.05)

    async def wait_ready(self, within: float = 60.0) -> None:
        await until(lambda: self._ready_cache, within, poll=self._poll_ready, what=f"{self.name} ready")

    _ready_cache: bool = False

    async def _poll_ready(self) -> None:
        if not self.alive():
            raise AssertionError(f"{self.name} exited: {self.log_path.read_text()[-3000:]}")
        status, _ = await self.get("/ready")
        self._ready_cache = status == 200


def gateway_orders(server: GatewayServer, order_ref: str | None = None) -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = server.gateway.orders_json(order_ref)
    return orders


def our_gateway_orders(server: GatewayServer, strategy: str = STRATEGY) -> list[dict[str, Any]]:
    from spyops.bot import order_refs

    return [o for o in gateway_orders(server) if order_refs.belongs_to(str(o.get("orderRef", "")), strategy)]


@dataclass
class DetectorProcess:
    """A real ``spyops detector`` process (the detector service) on free loopback ports."""

    workdir: Path
    config_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / "detector.log"

    def start(self) -> None:
        args = [
            sys.executable, "-m", "spyops", "detector", "--config", str(self.config_path),
            "--probe-port", "0", "--stream-port", "0", "--host", "127.0.0.1",
            "--outbox", str(self.workdir / "detector-outbox.sqlite3"),
        ]  # fmt: skip
        log_file = self.log_path.open("ab")
        self.process = subprocess.Popen(
            args, stdout=log_file, stderr=log_file, env={**os.environ, "POD_NAME": "detector-0"}
        )
        log_file.close()

    def started(self) -> dict[str, Any] | None:
        if not self.log_path.exists():
            return None
        for raw in self.log_path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                line = json.loads(raw)
                if line.get("msg") == "detector started":
                    return dict(line)
        return None

    async def wait_started(self, within: float = 60.0) -> dict[str, Any]:
        found: dict[str, Any] = {}

        def check() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"the detector exited: {self.log_path.read_text()[-3000:]}")
            line = self.started()
            if line is not None:
                found.update(line)
            return bool(found)

        await until(check, within, what="detector started")
        return found

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
