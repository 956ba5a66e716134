"""Benchmark of the gateway simulator (``spyops bench gateway-sim``), printed as JSON.

The simulator runs as its own process (``spyops gateway-sim``), as in the demo, so its
CPU use is measured alone. Two measurements, each next to its baseline from the same run:

- Quote fan-out: N clients each stream ~100 option tickers plus SPY. Lightweight socket
  clients count the tick messages they receive (they do not decode, so the client side
  is not the bottleneck). A quote update is one ticker refreshed (one or more tick
  messages). Baseline: IB's ceiling at its 100 ms option cadence, every ticker refreshed
  10 times a second. Run at speed 1 (the real rate of quote changes) and at higher
  speeds, which multiply the quote changes the simulator must compute and send; the
  market lag shows whether it keeps up.
- Order round trip: the real ib_async client places marketable limit orders; the time
  from ``placeOrder`` to the fill (execDetails) reaching the client, p50/p99. Baseline:
  a request/response round trip on the same loopback (reqCurrentTime), same client.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import statistics
import struct
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from spyops.common import metrics_text
from spyops.gatewaysim.contracts import UNDERLYING_CON_ID, occ_symbol, option_con_id
from spyops.gatewaysim.protocol import In
from spyops.gatewaysim.wire import encode

SESSION = dt.date(2026, 11, 20)
_LEN = struct.Struct(">I")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class GatewayBenchConfig:
    clients: int = 5
    tickers_per_client: int = 100
    seconds: float = 10.0
    speeds: tuple[float, ...] = (1.0, 10.0, 30.0)
    orders: int = 200
    seed: int = 7


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class SimulatorProcess:
    def __init__(self, speed: float, seed: int, lines: int) -> None:
        self.port = _free_port()
        self.control_port = _free_port()
        self.args = [
            sys.executable, "-m", "spyops", "gateway-sim",
            "--port", str(self.port), "--control-port", str(self.control_port),
            "--seed", str(seed), "--session-date", SESSION.isoformat(), "--start-time", "10:00:00",
            "--speed", str(speed), "--market-data-lines", str(lines), "--log-level", "warning",
        ]  # fmt: skip
        self.process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> SimulatorProcess:
        self.process = await asyncio.create_subprocess_exec(
            *self.args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient(timeout=30.0) as client:
            while True:
                if self.process.returncode is not None:
                    stderr = (await self.process.stderr.read()).decode() if self.process.stderr else ""
                    raise RuntimeError(f"gateway-sim exited with {self.process.returncode}: {stderr[-2000:]}")
                try:
                    if (await client.get(f"http://127.0.0.1:{self.control_port}/ready")).status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("gateway-sim did not become ready within 30 s")
                await asyncio.sleep(0.1)

    async def __aexit__(self, *exc: object) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    def cpu_seconds(self) -> float:
        assert self.process is not None
        with open(f"/proc/{self.process.pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    async def metric(self, name: str) -> float:
        async with httpx.AsyncClient(timeout=30.0) as client:
            text = (await client.get(f"http://127.0.0.1:{self.control_port}/metrics")).text
        found = metrics_text.value(text, name)
        if found is None:
            raise KeyError(name)
        return found


def _mkt_data_request(req_id: int, con_id: int, local_symbol: str, sec_type: str) -> bytes:
    return encode(
        [In.REQ_MKT_DATA, 11, req_id, con_id, "SPY", sec_type, "", 0.0, "", "", "SMART", "", "USD", local_symbol, "",
         False, "", False, False, ""]
    )  # fmt: skip


class CountingClient:
    """A TWS API client that subscribes and counts the messages it receives."""

    def __init__(self, client_id: int) -> None:
        self.client_id = client_id
        self.messages = 0
        self.bytes = 0
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None

    async def connect(self, port: int, contracts: Sequence[tuple[int, str, str]]) -> None:
        self._reader, self._writer = await asyncio.open_connection("127.0.0.1", port)
        self._writer.write(b"API\0" + _LEN.pack(9) + b"v157..178")
        self._writer.write(encode([In.START_API, 2, self.client_id, ""]))
        for req_id, (con_id, local_symbol, sec_type) in enumerate(contracts, start=1):
            self._writer.write(_mkt_data_request(req_id, con_id, local_symbol, sec_type))
            if req_id % 40 == 0:  # stay under 50 messages per second
                await self._writer.drain()
                await asyncio.sleep(1.0)
        await self._writer.drain()
        self._task = asyncio.create_task(self._count())

    async def _count(self) -> None:
        assert self._reader is not None
        buffer = b""
        while True:
            chunk = await self._reader.read(1 << 16)
            if not chunk:
                return
            self.bytes += len(chunk)
            buffer += chunk
            offset = 0
            while len(buffer) - offset >= 4:
                (length,) = _LEN.unpack_from(buffer, offset)
                if len(buffer) - offset - 4 < length:
                    break
                offset += 4 + length
                self.messages += 1
            buffer = buffer[offset:]

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._writer is not None:
            self._writer.close()


def _contracts(count: int) -> list[tuple[int, str, str]]:
    from spyops.market import MarketConfig

    config = MarketConfig()
    strikes = [
        config.spot + config.strike_step * k
        for k in range(-config.strikes_each_side, config.strikes_each_side + 1)
    ]
    strikes.sort(key=lambda k: abs(k - config.spot))
    options = [
        (option_con_id(SESSION, strike, right), occ_symbol("SPY", SESSION, strike, right), "OPT")
        for strike in strikes
        for right in ("C", "P")
    ]
    return [(UNDERLYING_CON_ID, "SPY", "STK"), *options[:count]]


async def _quote_fanout(config: GatewayBenchConfig, speed: float) -> dict[str, Any]:
    contracts = _contracts(config.tickers_per_client)
    async with SimulatorProcess(speed, config.seed, lines=len(contracts)) as sim:
        clients = [CountingClient(200 + n) for n in range(config.clients)]
        await asyncio.gather(*(client.connect(sim.port, contracts) for client in clients))
        await asyncio.sleep(1.0)  # let initial snapshots pass
        start_messages = [c.messages for c in clients]
        start_ticks = await sim.metric("gatewaysim_ticks_sent_total")
        start_updates = await sim.metric("gatewaysim_quote_updates_sent_total")
        cpu_start = sim.cpu_seconds()
        wall_start = time.monotonic()
        lag_samples = []
        while time.monotonic() - wall_start < config.seconds:
            await asyncio.sleep(0.5)
            lag_samples.append(await sim.metric("gatewaysim_market_lag_seconds"))
        elapsed = time.monotonic() - wall_start
        cpu = sim.cpu_seconds() - cpu_start
        ticks = await sim.metric("gatewaysim_ticks_sent_total") - start_ticks
        updates = await sim.metric("gatewaysim_quote_updates_sent_total") - start_updates
        received = [c.messages - s for c, s in zip(clients, start_messages, strict=True)]
        for client in clients:
            await client.close()
    tickers = config.clients * len(contracts)
    return {
        "speed": speed,
        "clients": config.clients,
        "tickers_per_client": len(contracts),
        "quote_updates_per_second_sent": round(updates / elapsed),
        "baseline_ib_cadence_ceiling_quote_updates_per_second": tickers * 10,
        "tick_messages_per_second_sent": round(ticks / elapsed),
        "tick_messages_per_second_received_per_client": [round(r / elapsed) for r in received],
        "server_cpu_percent": round(100 * cpu / elapsed, 1),
        "market_lag_seconds_max": round(max(lag_samples), 3),
    }


async def _order_round_trip(config: GatewayBenchConfig) -> dict[str, Any]:
    from ib_async import IB, LimitOrder, Option

    async with SimulatorProcess(1.0, config.seed, lines=100) as sim:
        ib = IB()
        await ib.connectAsync("127.0.0.1", sim.port, clientId=300, timeout=10)
        try:
            option = Option("SPY", SESSION.strftime("%Y%m%d"), 590.0, "C", "SMART")
            await ib.qualifyContractsAsync(option)
            ticker = ib.reqMktData(option)
            for _ in range(200):
                if ticker.ask > 0:
                    break
                await asyncio.sleep(0.05)
            else:
                raise RuntimeError("no quote for the benchmark's option within 10 s")
            fills: list[float] = []
            echoes: list[float] = []
            for index in range(config.orders):
                started = time.perf_counter()
                await ib.reqCurrentTimeAsync()
                echoes.append(time.perf_counter() - started)
                action = "BUY" if index % 2 == 0 else "SELL"
                price = (
                    round(ticker.ask + 1.0, 2) if action == "BUY" else max(round(ticker.bid - 1.0, 2), 0.01)
                )
                started = time.perf_counter()
                trade = ib.placeOrder(option, LimitOrder(action, 1, price))
                await asyncio.wait_for(trade.fillEvent, 10)
                fills.append(time.perf_counter() - started)
                await asyncio.sleep(0.05)  # two messages per iteration: stay under the pacing limit
            async with httpx.AsyncClient(timeout=30.0) as client:
                state = (await client.get(f"http://127.0.0.1:{sim.control_port}/state")).json()
        finally:
            ib.disconnect()

    def percentiles(samples: list[float]) -> dict[str, float]:
        ordered = sorted(samples)
        q = statistics.quantiles(ordered, n=100, method="inclusive")
        return {
            "p50_ms": round(q[49] * 1000, 3),
            "p99_ms": round(q[98] * 1000, 3),
            "max_ms": round(ordered[-1] * 1000, 3),
        }

    server_side = state["orderToFillMs"]
    return {
        "orders": config.orders,
        "client": "ib_async (unmodified), same machine, loopback",
        "place_order_to_fill": percentiles(fills),
        "baseline_request_round_trip": percentiles(echoes),
        "server_side_place_order_to_fill_written": {
            "p50_ms": server_side["p50"],
            "p99_ms": server_side["p99"],
            "max_ms": server_side["max"],
        },
    }


async def _run(config: GatewayBenchConfig) -> dict[str, Any]:
    fanout = [await _quote_fanout(config, speed) for speed in config.speeds]
    orders = await _order_round_trip(config)
    return {
        "benchmark": "gateway-sim",
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "quote_fanout": fanout,
        "order_round_trip": orders,
    }


def run_gateway_benchmark(config: GatewayBenchConfig) -> dict[str, Any]:
    return asyncio.run(_run(config))
