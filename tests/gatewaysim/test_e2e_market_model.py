"""End to end with the real market model: what a bot or the detector does through ib_async.

connect; qualify SPY and a 0DTE option; fetch the chain parameters; stream tickers and
see updates; a marketable limit order fills with a commission; a non-marketable one is
cancelled; positions, account summary, executions, open and completed orders; after
the simulator drops every connection the client reconnects and finds its orders by
orderRef; an anomaly injected through the control API shows in the streamed quotes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from ib_async import IB, LimitOrder, Option, Stock, Ticker

from spyops.common.polling import until
from spyops.gatewaysim.model_source import build_model_source
from spyops.gatewaysim.server import GatewayServer, ServerSettings

SESSION = dt.date(2026, 11, 20)
EXPIRY = "20261120"


@pytest.fixture
async def model_server() -> AsyncIterator[GatewayServer]:
    source = build_model_source(7, SESSION, dt.time(10, 0))
    server = GatewayServer(source, settings=ServerSettings(port=0, control_port=0))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def clients(model_server: GatewayServer) -> AsyncIterator[Callable[[int], Awaitable[IB]]]:
    opened: list[IB] = []

    async def open_client(client_id: int) -> IB:
        ib = IB()
        opened.append(ib)
        await ib.connectAsync("127.0.0.1", model_server.port, clientId=client_id, timeout=10)
        return ib

    try:
        yield open_client
    finally:
        for ib in opened:
            ib.disconnect()


def quoted(ticker: Ticker) -> bool:
    return not math.isnan(ticker.bid) and not math.isnan(ticker.ask) and ticker.bid > 0 and ticker.ask > 0


async def test_trading_day_through_ib_async(
    model_server: GatewayServer, clients: Callable[[int], Awaitable[IB]]
) -> None:
    ib = await clients(101)
    assert ib.managedAccounts() == ["DU1234567"]

    spy = Stock("SPY", "SMART", "USD")
    [qualified_spy] = await ib.qualifyContractsAsync(spy)
    assert qualified_spy is not None
    assert spy.conId == 756733

    [chain] = [
        c for c in await ib.reqSecDefOptParamsAsync("SPY", "", "STK", spy.conId) if c.exchange == "SMART"
    ]
    assert chain.expirations == [EXPIRY]  # 0DTE: the session date
    assert len(chain.strikes) == 51
    spy_ticker = ib.reqMktData(spy)
    await until(lambda: quoted(spy_ticker), what="SPY quote")
    atm = min(chain.strikes, key=lambda k: abs(k - spy_ticker.midpoint()))

    call = Option("SPY", EXPIRY, atm, "C", "SMART")
    [qualified_call] = await ib.qualifyContractsAsync(call)
    assert qualified_call is not None
    assert call.localSymbol == f"SPY   261120C{round(atm * 1000):08d}"

    ticker = ib.reqMktData(call)
    await until(lambda: quoted(ticker), what="option quote")
    first = (ticker.bid, ticker.ask, ticker.bidSize, ticker.askSize)
    await until(
        lambda: (ticker.bid, ticker.ask, ticker.bidSize, ticker.askSize) != first,
        within=60,
        what="a quote update",
    )

    # A marketable limit buy fills at the ask (at or better than its limit), with commission.
    limit = round(ticker.ask + 0.50, 2)
    bought = ib.placeOrder(call, LimitOrder("BUY", 2, limit, orderRef="e2e/sig-1:0"))
    await asyncio.wait_for(bought.filledEvent, 15)
    await until(lambda: all(f.commissionReport.currency == "USD" for f in bought.fills), what="commission")
    assert bought.orderStatus.avgFillPrice <= limit
    assert sum(f.execution.shares for f in bought.fills) == 2
    assert sum(f.commissionReport.commission for f in bought.fills) == pytest.approx(1.30)

    # A non-marketable one works until cancelled.
    passive_price = max(round(ticker.bid - 0.50, 2), 0.01)
    passive = ib.placeOrder(call, LimitOrder("BUY", 1, passive_price, orderRef="e2e/sig-2:0"))
    await until(lambda: passive.orderStatus.status == "Submitted", what="Submitted")
    resting = ib.placeOrder(call, LimitOrder("BUY", 1, passive_price, orderRef="e2e/sig-3:0"))
    await until(lambda: resting.orderStatus.status == "Submitted", what="Submitted")
    ib.cancelOrder(passive.order)
    await asyncio.wait_for(passive.cancelledEvent, 15)

    [position] = await ib.reqPositionsAsync()
    assert (position.contract.conId, position.position) == (call.conId, 2)
    summary = {v.tag: v.value for v in await ib.accountSummaryAsync()}
    assert float(summary["TotalCashValue"]) == pytest.approx(
        1_000_000 - 200 * bought.orderStatus.avgFillPrice - 1.30, abs=0.01
    )
    fills = await ib.reqExecutionsAsync()
    assert {f.execution.orderRef for f in fills} == {"e2e/sig-1:0"}
    assert [t.order.orderRef for t in await ib.reqOpenOrdersAsync()] == ["e2e/sig-3:0"]
    completed = {
        t.order.orderRef: t.orderStatus.status for t in await ib.reqCompletedOrdersAsync(apiOnly=True)
    }
    assert completed == {"e2e/sig-1:0": "Filled", "e2e/sig-2:0": "Cancelled"}

    # The simulator drops every connection; the client comes back and reconciles by orderRef.
    dropped = asyncio.Event()
    ib.disconnectedEvent += dropped.set
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{model_server.control_port}") as control:
        assert (await control.post("/connections/drop")).json()["dropped"] == 1
        await asyncio.wait_for(dropped.wait(), 15)
        again = await clients(101)
        assert [t.order.orderRef for t in again.openTrades()] == ["e2e/sig-3:0"]
        assert {f.execution.orderRef for f in again.fills()} == {"e2e/sig-1:0"}
        completed_again = await again.reqCompletedOrdersAsync(apiOnly=True)
        assert {t.order.orderRef for t in completed_again} == {"e2e/sig-1:0", "e2e/sig-2:0"}
        assert [p.position for p in again.positions()] == [2]

        # An anomaly injected now shows in the quotes the client streams.
        put = Option("SPY", EXPIRY, atm, "P", "SMART")
        await again.qualifyContractsAsync(put)
        put_ticker = again.reqMktData(put)
        await until(lambda: quoted(put_ticker), what="put quote")
        response = await control.post(
            "/anomalies",
            json={"kind": "crossed_quote", "strike": atm, "right": "P", "duration_seconds": 5},
        )
        assert response.status_code == 201, response.text
        assert response.json()["injected"]["kind"] == "crossed_quote"
        await until(lambda: put_ticker.bid > put_ticker.ask, what="the crossed quote to stream")
        orders = (await control.get("/orders", params={"orderRef": "e2e/sig-1:0"})).json()
        assert [o["status"] for o in orders] == ["Filled"]
        state = (await control.get("/state")).json()
        assert state["connectedClients"] == [101]
