"""The dashboard in real headless Chromium (Debian's, driven by playwright-core from Node)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import shutil
from pathlib import Path

import httpx
import pytest

from spyops.backend.app import create_app
from spyops.backend.store.sqlite import SqliteStore
from spyops.schemas import AnomalyKind, OrderSide, OrderStatus
from tests.backend.conftest import AUTH, TOKEN
from tests.backend.records import BASE_TIME, make_chain, make_execution, make_order_update, make_signal
from tests.backend.server import serving

REPO = Path(__file__).resolve().parents[2]
NODE_TOOLS = REPO / "tools" / "node"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")


# A fill whose commission IB reports a moment later (posted live by the browser script).
LATE_COMMISSION = make_execution("f2", OrderSide.SELL, 1, 1.45, strike=593.0, commission=0.65)


def dump(model: object) -> object:
    return json.loads(model.model_dump_json())  # type: ignore[attr-defined]


async def seed(http: httpx.AsyncClient, now: dt.datetime) -> None:
    """A realistic morning: a chain, a few signals on it, orders and fills that leave a position."""
    chain = make_chain(BASE_TIME, spot=590.2)  # 10:00 New York on the expiry day
    bumped = [
        q.model_copy(update={"bid": q.bid + 0.6, "ask": q.ask + 0.6})
        if (q.strike, q.right.value) == (593.0, "C")
        else q
        for q in chain.quotes
    ]
    assert (
        await http.post("/v1/chain", json=dump(chain.model_copy(update={"quotes": tuple(bumped)})))
    ).status_code == 200
    signals = [
        make_signal(100, seconds=0, strike=593.0, rule=AnomalyKind.IV_OUTLIER).model_copy(
            update={"event_time": now - dt.timedelta(minutes=2), "detected_at": now - dt.timedelta(minutes=2)}
        ),
        make_signal(101, seconds=0, strike=586.0, rule=AnomalyKind.BUTTERFLY).model_copy(
            update={"event_time": now - dt.timedelta(minutes=1), "detected_at": now - dt.timedelta(minutes=1)}
        ),
    ]
    assert (await http.post("/v1/signals", json=[dump(s) for s in signals])).status_code == 200
    orders = [
        make_order_update(1, OrderStatus.FILLED).model_copy(update={"time": now - dt.timedelta(seconds=50)}),
        make_order_update(2, OrderStatus.DENIED).model_copy(
            update={"time": now - dt.timedelta(seconds=40), "reason": "max open positions"}
        ),
    ]
    assert (await http.post("/v1/orders", json=[dump(o) for o in orders])).status_code == 200
    fills = [
        make_execution("f1", OrderSide.BUY, 3, 1.10, at=now - dt.timedelta(seconds=50), strike=593.0),
        LATE_COMMISSION.model_copy(update={"time": now - dt.timedelta(seconds=20), "commission": 0.0}),
    ]
    assert (await http.post("/v1/executions", json=[dump(f) for f in fills])).status_code == 200


@pytest.fixture
def node() -> str:
    """The node binary, once Chromium and playwright-core are known to be installed."""
    assert CHROMIUM.exists(), "Debian's chromium is missing: run `make chromium`"
    assert (NODE_TOOLS / "node_modules" / "playwright-core").exists(), "run `make node-tools`"
    found = shutil.which("node")
    assert found, "node is missing"
    for name in ("dashboard-en.png", "dashboard-es.png"):
        (ARTIFACTS / name).unlink(missing_ok=True)
    return found


def screenshot_sizes() -> list[int]:
    return [(ARTIFACTS / name).stat().st_size for name in ("dashboard-en.png", "dashboard-es.png")]


async def test_dashboard_live_signal_spanish_and_reconnect(tmp_path: Path, node: str) -> None:
    store_path = tmp_path / "ui.sqlite3"
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    live_signal = make_signal(102, strike=595.0, rule=AnomalyKind.PARITY).model_copy(
        update={"event_time": now, "detected_at": now}
    )
    after_restart = make_signal(103, strike=588.0, rule=AnomalyKind.CROSSED_QUOTE).model_copy(
        update={"event_time": now + dt.timedelta(seconds=1), "detected_at": now + dt.timedelta(seconds=1)}
    )
    live_orders = [  # one order's life, as the bot reports it: sent, then filled
        make_order_update(3, status).model_copy(
            update={
                "id": f"order-3:{status.value}:{filled}",
                "filled": filled,
                "time": now + dt.timedelta(seconds=k),
            }
        )
        for k, (status, filled) in enumerate(((OrderStatus.SUBMITTED, 0), (OrderStatus.FILLED, 1)))
    ]
    stderr = b""
    lines: list[str] = []
    async with contextlib.AsyncExitStack() as first_server:
        base = await first_server.enter_async_context(serving(create_app(SqliteStore(store_path), TOKEN)))
        port = int(base.rsplit(":", 1)[1])
        async with httpx.AsyncClient(base_url=base, headers=AUTH) as http:
            await seed(http, now)
        process = await asyncio.create_subprocess_exec(
            node,
            str(Path(__file__).with_name("dashboard_browser.cjs")),
            env={
                **os.environ,
                "BASE_URL": base,
                "TOKEN": TOKEN,
                "SIGNAL_JSON": live_signal.model_dump_json(),
                "SIGNAL_AFTER_RESTART_ID": after_restart.id,
                "ORDER_UPDATES_JSON": json.dumps([dump(o) for o in live_orders]),
                "COMMISSION_JSON": LATE_COMMISSION.model_copy(
                    update={"time": now - dt.timedelta(seconds=20)}
                ).model_dump_json(),
                "ARTIFACTS": str(ARTIFACTS),
                "NODE_TOOLS": str(NODE_TOOLS),
                "CHROMIUM": str(CHROMIUM),
            },
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        assert process.stderr is not None
        stderr_task = asyncio.create_task(process.stderr.read())
        try:
            async with asyncio.timeout(240):
                while raw := await process.stdout.readline():
                    lines.append(raw.decode().strip())
                    if json.loads(lines[-1]).get("event") == "restart-server":
                        await first_server.aclose()  # the backend goes down...
                        await asyncio.sleep(1.5)
                        restarted = serving(create_app(SqliteStore(store_path), TOKEN), port=port)
                        await first_server.enter_async_context(restarted)  # ...and comes back
                        async with httpx.AsyncClient(base_url=base, headers=AUTH) as http:
                            stored = await http.post("/v1/signals", json=dump(after_restart))
                            assert stored.status_code == 200
                await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            stderr = await stderr_task
    assert lines, f"no result from the browser script; stderr:\n{stderr.decode()[-3000:]}"
    result = json.loads(lines[-1])
    assert result["ok"], (
        f"{result.get('error')}\nsteps: {result.get('steps')}\nstderr: {stderr.decode()[-2000:]}"
    )
    assert result["history_rows"] == 2
    assert result["order_status"] == "Filled"
    assert result["order_rows"] == 3  # one row per order, its latest status
    assert result["commission_before"] == "0.00"
    assert result["commission_after"] == "0.65"
    assert result["signal_visible_ms"] <= 1000
    assert result["spanish"] == {
        "signals_title": "Señales",
        "connection": "En vivo",
        "rule": "Paridad put-call",
        "button": "EN",
    }
    assert result["steps"][-3:] == ["reconnecting", "live-again", "caught-up"]
    assert result["reconnecting_text"].startswith(("Reconectando", "Conectando"))
    assert result["console_errors"] == []
    assert all(size > 10_000 for size in screenshot_sizes())
