"""Tick to order: a quote change at the gateway simulator to the bot's order arriving there.

What runs (all real, on loopback):
- the gateway simulator (``spyops.gatewaysim``, TWS protocol) in this process;
- a signal source: a real ib_async client subscribed to one option's market data. When
  armed, it turns the next quote change it receives into a signal (buy one contract 20 cents
  under the bid, so nothing fills and nothing accumulates) and publishes it on a real
  SignalLog served over HTTP, the detector's transport. It stands where the detector service
  will stand; it does not run the detector's rules (their scan cost is measured by the
  detector's own benchmark, well under a millisecond);
- one ``spyops bot --standalone`` process subscribed to that stream, connected to the
  simulator with its own client id: dedupe, risk checks, journal fsync, placeOrder.

Timestamps (one clock, this process): t0 when the simulator hands the quote change for the
contract to the sockets (its publish cycle), t1 when the signal is published, t2 when the
simulator has parsed the order frame. The quote change is matched to the order through the
bid/ask the signal carries.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import os
import signal as signals
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SEED_SIGNAL_MS = 350.0
SEED_EXECUTION_MS = 95.0
TARGET_P99_MS = 20.0
SESSION = dt.date(2026, 11, 20)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _summary(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    return {
        "p50_ms": round(_percentile(ms, 0.50), 3),
        "p99_ms": round(_percentile(ms, 0.99), 3),
        "mean_ms": round(statistics.fmean(ms), 3),
        "max_ms": round(max(ms), 3),
    }


async def _bot_decision_summary(log_path: Path) -> dict[str, float]:
    """Mean and bucket-bound p50/p99 of the bot's own decision time, from its /metrics."""
    import json

    import aiohttp

    port = None
    for raw in _read(log_path).splitlines():
        with contextlib.suppress(ValueError):
            line = json.loads(raw)
            if line.get("msg") == "bot starting":
                port = int(line["probe_port"])
    if port is None:
        return {}
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as response:
        body = await response.text()
    buckets: list[tuple[float, float]] = []
    total = count = 0.0
    for line in body.splitlines():
        if line.startswith("spyops_bot_decision_seconds_bucket"):
            bound = line.split('le="')[1].split('"')[0]
            buckets.append((float("inf") if bound == "+Inf" else float(bound), float(line.split()[-1])))
        elif line.startswith("spyops_bot_decision_seconds_sum"):
            total = float(line.split()[-1])
        elif line.startswith("spyops_bot_decision_seconds_count"):
            count = float(line.split()[-1])
    if not count:
        return {}

    def bound_for(q: float) -> float:
        return next(b for b, c in buckets if c >= q * count) * 1000

    return {
        "mean_ms": round(total / count * 1000, 3),
        "p50_le_ms": bound_for(0.5),
        "p99_le_ms": bound_for(0.99),
    }


def _read(path: Path) -> str:
    return path.read_text(errors="replace")


def _start_bot(config_path: Path, workdir: Path, log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log_file:
        return subprocess.Popen(
            [
                sys.executable, "-m", "spyops", "bot", "--standalone",
                "--config", str(config_path), "--journal", str(workdir / "journal.sqlite"),
                "--probe-host", "127.0.0.1", "--probe-port", "0", "--log-level", "info",
            ],
            stdout=log_file,
            stderr=log_file,
            env={**os.environ, "POD_NAME": "bench-bot"},
        )  # fmt: skip


def _journal_commit_baseline(workdir: Path, commits: int = 200) -> dict[str, float]:
    """What one durable SQLite commit (WAL, synchronous=FULL) costs on the journal's disk, now."""
    import sqlite3

    db = sqlite3.connect(str(workdir / "fsync-baseline.sqlite"), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)")
    times = []
    for _ in range(commits):
        started = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t (b) VALUES ('x')")
        db.execute("COMMIT")
        times.append(time.perf_counter() - started)
    db.close()
    return _summary(times)


async def run(samples: int = 200, seed: int = 7) -> dict[str, Any]:
    try:
        from spyops.gatewaysim.gateway import GatewayConfig
        from spyops.gatewaysim.model_source import build_model_source
        from spyops.gatewaysim.server import GatewayServer, ServerSettings
    except ImportError as exc:  # pragma: no cover - depends on what is installed
        raise RuntimeError(
            f"the tick-to-order benchmark needs the gateway simulator (spyops.gatewaysim): {exc}"
        ) from exc
    from aiohttp import web
    from ib_async import IB, Option, Ticker

    from spyops.schemas import (
        AnomalyKind,
        Leg,
        LegAction,
        OptionContract,
        OptionRight,
        QuoteRef,
        RuntimeConfig,
        Signal,
        SuggestedOrder,
    )
    from spyops.signalstream import SignalLog, add_signal_stream

    strategy = "bench/tick-to-order"
    source = build_model_source(seed, SESSION, dt.time(11, 0))
    server = GatewayServer(source, settings=ServerSettings(port=0, control_port=0), config=GatewayConfig())
    await server.start()
    gateway = server.gateway
    spot = gateway.market.mark(gateway.catalog.stock.con_id) or 0.0
    strike = min(
        (
            s
            for s in gateway.catalog.strikes
            if (o := gateway.catalog.option(s, "C")) and o.con_id in gateway.market.books
        ),
        key=lambda s: abs(s - spot),
    )
    spec = gateway.catalog.option(strike, "C")
    assert spec is not None
    watched = spec.con_id

    # Simulator-side instrumentation: when each quote of the watched contract went out, and
    # when each order frame was parsed.
    publishes: list[tuple[float, float, float]] = []  # (t0, bid, ask) when the quote changed
    arrivals: dict[str, float] = {}
    original_publish = gateway.publish
    original_frame = gateway.handle_frame

    order_arrived = asyncio.Event()

    def publish(wall: float) -> int:
        was_dirty = watched in gateway.dirty
        sent = int(original_publish(wall))
        if was_dirty and watched not in gateway.dirty:
            book = gateway.market.books[watched]
            if not publishes or (publishes[-1][1], publishes[-1][2]) != (book.bid, book.ask):
                publishes.append((time.perf_counter(), book.bid, book.ask))
        return sent

    def handle_frame(session: Any, payload: bytes) -> None:
        before = len(gateway.orders_by_perm)
        original_frame(session, payload)
        if len(gateway.orders_by_perm) > before:
            now = time.perf_counter()
            for order in list(gateway.orders_by_perm.values())[before:]:
                arrivals.setdefault(order.order_ref, now)
            order_arrived.set()

    # Instance attributes shadow the methods; the simulator calls them through the instance.
    object.__setattr__(gateway, "publish", publish)
    object.__setattr__(gateway, "handle_frame", handle_frame)
    pending: set[asyncio.Future[int]] = set()

    log = SignalLog()
    app = web.Application()
    add_signal_stream(app, log)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    stream_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    workdir = Path(tempfile.mkdtemp(prefix="spyops-bench-"))
    config = RuntimeConfig.model_validate(
        {
            "strategy": strategy,
            "gateway": {"host": "127.0.0.1", "port": server.port, "client_id_base": 100},
            "risk": {
                "max_open_positions": 10_000,
                "max_orders_per_minute": 100_000,
                "max_notional_per_order": 1_000_000.0,
                "trading_hours": {"timezone": "America/New_York", "start": "00:00:00", "end": "23:59:59"},
            },
            "execution": {"order_timeout_seconds": 1.0, "cooldown_seconds": 0.0},
            "lease_name": "bench",
            "detector_stream_url": f"http://127.0.0.1:{stream_port}",
        }
    )
    config_path = workdir / "config.json"
    config_path.write_text(config.to_json())
    log_path = workdir / "bot.log"
    bot = _start_bot(config_path, workdir, log_path)
    ib = IB()
    contract = OptionContract(underlying="SPY", expiry=SESSION, strike=strike, right=OptionRight.CALL)
    armed = asyncio.Event()
    published: dict[str, tuple[float, float, float]] = {}  # orderRef -> (t1, bid, ask)
    try:
        from spyops.bot.order_refs import order_ref

        await ib.connectAsync("127.0.0.1", server.port, clientId=7, timeout=15)
        [qualified] = await ib.qualifyContractsAsync(
            Option("SPY", SESSION.strftime("%Y%m%d"), strike, "C", "SMART", "100", "USD")
        )
        assert qualified is not None
        ticker: Ticker = ib.reqMktData(qualified, "", False, False)  # type: ignore[arg-type]
        last_seen: list[tuple[float, float]] = []

        def on_tick(changed: set[Ticker]) -> None:
            if ticker not in changed or not (ticker.bid > 0 and ticker.ask > 0):
                return
            pair = (ticker.bid, ticker.ask)
            if last_seen and last_seen[-1] == pair:
                return
            last_seen.append(pair)
            if not armed.is_set():
                return
            armed.clear()
            now_market = gateway.now()
            signal_id = hashlib.blake2b(f"bench-{time.time_ns()}".encode(), digest_size=16).hexdigest()
            signal = Signal(
                id=signal_id,
                strategy=strategy,
                event_time=now_market,
                detected_at=dt.datetime.now(dt.UTC),
                underlying="SPY",
                expiry=SESSION,
                culprit=contract,
                rule=AnomalyKind.SPREAD_BLOWOUT,
                edge=0.0,
                score=1.0,
                quotes=(
                    QuoteRef(
                        contract=contract,
                        bid=ticker.bid,
                        ask=ticker.ask,
                        bid_size=int(ticker.bidSize or 0),
                        ask_size=int(ticker.askSize or 0),
                        quote_ts=now_market,
                    ),
                ),
                suggested_order=SuggestedOrder(
                    legs=(
                        Leg(
                            contract=contract,
                            action=LegAction.BUY,
                            ratio=1,
                            limit_price=round(max(0.01, ticker.bid - 0.20), 2),
                        ),
                    ),
                    quantity=1,
                    net_price=0.0,
                ),
            )
            published[order_ref(strategy, signal_id, 0)] = (time.perf_counter(), ticker.bid, ticker.ask)
            task = asyncio.ensure_future(log.append(signal))
            pending.add(task)
            task.add_done_callback(pending.discard)

        ib.pendingTickersEvent += on_tick

        # Wait until the bot traded a first (warm-up) signal: connected, reconciled, subscribed.
        deadline = time.monotonic() + 60
        warmups = 0
        while not arrivals:
            if bot.poll() is not None:
                raise RuntimeError(f"the bot exited: {_read(log_path)[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"no order from the bot within 60 s: {_read(log_path)[-2000:]}")
            armed.set()
            warmups += 1
            await asyncio.sleep(0.5)
        arrivals.clear()
        published.clear()

        for _ in range(samples):
            order_arrived.clear()
            armed.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(order_arrived.wait(), 10)
            await asyncio.sleep(0.05)

        tick_to_order: list[float] = []
        tick_to_signal: list[float] = []
        signal_to_order: list[float] = []
        for ref, t2 in arrivals.items():
            if ref not in published:
                continue
            t1, bid, ask = published[ref]
            candidates = [t0 for t0, b, a in publishes if (b, a) == (bid, ask) and t0 <= t1]
            if not candidates:
                continue
            t0 = candidates[-1]
            tick_to_order.append(t2 - t0)
            tick_to_signal.append(t1 - t0)
            signal_to_order.append(t2 - t1)
        bot_own = await _bot_decision_summary(log_path)
        fsync = _journal_commit_baseline(workdir)
        if len(tick_to_order) < samples // 2:
            raise RuntimeError(f"only {len(tick_to_order)} of {samples} samples could be matched")
        total = _summary(tick_to_order)
        return {
            "benchmark": "tick_to_order",
            "what": (
                "quote change published by the gateway simulator -> ib_async market data -> signal on the "
                "SignalLog HTTP stream -> spyops bot (dedupe, risk, journal fsync, placeOrder) -> order "
                "parsed by the simulator; loopback, one bot process; the signal source reacts to every "
                "quote change without running the detector's rules"
            ),
            "samples": len(tick_to_order),
            "tick_to_order": total,
            "tick_to_signal": _summary(tick_to_signal),
            "signal_to_order": _summary(signal_to_order),
            "bot_own_code_signal_to_placeorder": bot_own,
            "baseline_journal_fsync_commit_same_disk": fsync,
            "baseline_seed_design": {
                "signal_ms": SEED_SIGNAL_MS,
                "execution_ms": SEED_EXECUTION_MS,
                "tick_to_order_ms": SEED_SIGNAL_MS + SEED_EXECUTION_MS,
            },
            "target_p99_ms": TARGET_P99_MS,
            "meets_target": total["p99_ms"] < TARGET_P99_MS,
            "speedup_vs_seed_p50": round(
                (SEED_SIGNAL_MS + SEED_EXECUTION_MS) / max(total["p50_ms"], 1e-6), 1
            ),
        }
    finally:
        with contextlib.suppress(Exception):
            ib.disconnect()
        if bot.poll() is None:
            bot.send_signal(signals.SIGTERM)
            try:
                bot.wait(timeout=20)
            except subprocess.TimeoutExpired:
                bot.kill()
                bot.wait(timeout=20)
        await runner.cleanup()
        await server.stop()
