"""End to end: an anomaly injected at the gateway simulator becomes a signal, an order, a fill,
and numbers in the TradingStrategy's status.

Real parts: the simulator (TWS protocol, its HTTP control API for the injection), the
detector service (``spyops detector``, its own process and gateway client id) and its signal
stream, one ``spyops bot`` process holding the Lease on the real API server under the bot's
Role, and the TradingStrategy status subresource.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import aiohttp
import httpx
import pytest

from spyops.bot import order_refs
from spyops.cluster.testing import KubeCluster
from spyops.common.polling import until
from spyops.schemas import AnomalyKind, RuntimeConfig, Signal
from spyops.signalstream import subscribe
from tests.backend_process import BackendProcess, _free_port
from tests.bot.harness import (
    BotProcess,
    DetectorProcess,
    gateway_orders,
    simulator,
    traded_through_backend,
    wait_http_ok,
    write_config,
)
from tests.bot.kube import bot_kubeconfig, create_strategy, ensure_crd, strategy_status

pytestmark = pytest.mark.cluster

NAME = "spy-0dte"
BACKEND_TOKEN = "edge-backend-token-5d1e8a77c0b2"


async def test_injected_anomaly_to_signal_order_fill_and_status(
    kube_cluster: KubeCluster, namespace: str, tmp_path: Path
) -> None:
    token_file = tmp_path / "backend-token"
    token_file.write_text(BACKEND_TOKEN + "\n", encoding="utf-8")
    backend = BackendProcess(_free_port(), tmp_path / "history.sqlite3", token_file, tmp_path / "backend.log")
    await backend.start()
    try:
        await _trade_through_everything(kube_cluster, namespace, tmp_path, backend)
    finally:
        await backend.stop()


async def _trade_through_everything(
    kube_cluster: KubeCluster, namespace: str, tmp_path: Path, backend: BackendProcess
) -> None:
    ensure_crd(kube_cluster)
    create_strategy(kube_cluster, namespace, NAME)
    kubeconfig = bot_kubeconfig(kube_cluster, namespace, NAME, tmp_path / "bot.kubeconfig")
    strategy = f"{namespace}/{NAME}"
    async with simulator() as server:
        config_path = tmp_path / "config.json"

        def config_for(stream_url: str) -> RuntimeConfig:
            return traded_through_backend(server.port, stream_url, strategy, backend.url, backend.token_file)

        write_config(config_path, config_for(""))
        detector = DetectorProcess(tmp_path, config_path)
        bot = BotProcess("bot-0", tmp_path, config_path, kubeconfig=kubeconfig, namespace=namespace)
        signals: list[Signal] = []
        reader: asyncio.Task[None] | None = None
        try:
            detector.start()
            started = await detector.wait_started()
            stream_url = f"http://127.0.0.1:{started['stream_port']}"
            write_config(config_path, config_for(stream_url))  # the one ConfigMap both read

            async def read_signals() -> None:
                async for envelope in subscribe(stream_url):
                    signals.append(envelope.signal)

            reader = asyncio.create_task(read_signals())
            bot.start()
            await bot.wait_ready(60)
            await bot.wait_metric("spyops_bot_leader", None, lambda v: v == 1.0, within=30)
            await wait_http_ok(f"http://127.0.0.1:{started['probe_port']}/ready")

            async with (
                aiohttp.ClientSession() as http,
                http.post(
                    f"http://127.0.0.1:{server.control_port}/anomalies",
                    json={"kind": AnomalyKind.VERTICAL_SPREAD.value, "duration_seconds": 5.0},
                ) as response,
            ):
                assert response.status == 201, await response.text()
                injected = (await response.json())["injected"]

            def matching() -> list[Signal]:
                return [
                    s
                    for s in signals
                    if s.rule is AnomalyKind.VERTICAL_SPREAD
                    and s.suggested_order is not None
                    and any(
                        leg.contract.strike == injected["strike"]
                        and leg.contract.right.value == injected["right"]
                        for leg in s.suggested_order.legs
                    )
                ]

            await until(
                lambda: bool(matching()), 30, what="a vertical-spread signal on the injected contract"
            )
            signal = matching()[0]
            assert signal.suggested_order is not None
            refs = [
                order_refs.order_ref(strategy, signal.id, i) for i in range(len(signal.suggested_order.legs))
            ]
            await until(
                lambda: all(gateway_orders(server, r) for r in refs), 20, what="every leg at the gateway"
            )
            await until(
                lambda: all(gateway_orders(server, r)[0]["status"] in ("Filled", "Cancelled") for r in refs),
                20,
                what="every leg filled or timed out",
            )
            filled = [r for r in refs if gateway_orders(server, r)[0]["filled"] > 0]
            assert filled, f"no leg filled: {[gateway_orders(server, r) for r in refs]}"
            assert all(len(gateway_orders(server, r)) == 1 for r in refs)

            status: dict[str, object] = {}

            def refresh() -> None:
                status.clear()
                status.update(strategy_status(kube_cluster, namespace, NAME))

            def orders_reported() -> bool:
                orders = status.get("ordersToday")
                return isinstance(orders, int) and orders >= len(refs)

            await until(orders_reported, 20, poll=refresh, what="orders in the status")
            assert status["leader"] == bot.name
            assert status["enforcedTradingState"] == "ACTIVE"
            assert isinstance(status["openPositions"], int)
            assert isinstance(status["realizedPnl"], int | float)
            assert status.get("lastSignalTime")
            assert (await bot.metric("spyops_bot_fills_total") or 0) >= 1

            # the fills reach the backend through the bot's outbox (and the signal through the detector's)
            executions: list[dict[str, object]] = []

            async def fetch() -> None:
                async with httpx.AsyncClient(timeout=5) as client:
                    response = await client.get(f"{backend.url}/v1/executions", params={"strategy": strategy})
                    executions[:] = response.json().get("items", [])

            async def reported() -> bool:
                await fetch()
                return {e["order_ref"] for e in executions} >= set(filled)

            for _ in range(200):
                if await reported():
                    break
                await asyncio.sleep(0.1)
            assert {e["order_ref"] for e in executions} >= set(filled), executions
            assert all(e["signal_id"] == signal.id for e in executions if e["order_ref"] in refs)

            # Every order's final status, and every fill's commission (which IB reports after the
            # fill), reach the backend through the outbox too.
            final = {"Filled": "FILLED", "Cancelled": "CANCELLED"}
            wanted = {
                r: (final[gateway_orders(server, r)[0]["status"]], gateway_orders(server, r)[0]["filled"])
                for r in refs
            }
            commissions = {r: gateway_orders(server, r)[0]["commission"] for r in filled}
            assert all(c > 0 for c in commissions.values()), commissions
            seen: dict[str, object] = {}

            async def backend_agrees() -> bool:
                async with httpx.AsyncClient(base_url=backend.url, timeout=5) as client:
                    orders = (await client.get("/v1/orders", params={"strategy": strategy})).json()["items"]
                    fills = (await client.get("/v1/executions", params={"strategy": strategy})).json()[
                        "items"
                    ]
                seen.update(orders=orders, fills=fills)
                states = {(o["order_ref"], o["status"], o["filled"]) for o in orders}
                paid = {
                    r: round(sum(f["commission"] for f in fills if f["order_ref"] == r), 2) for r in filled
                }
                return all((r, *w) in states for r, w in wanted.items()) and paid == commissions

            for _ in range(200):
                if await backend_agrees():
                    break
                await asyncio.sleep(0.1)
            assert await backend_agrees(), (
                f"wanted {wanted} and commissions {commissions}; backend has {seen}"
            )
        finally:
            if reader is not None:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
            bot.stop()
            detector.stop()
