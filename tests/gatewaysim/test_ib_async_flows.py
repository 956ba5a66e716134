"""The real ib_async client, unmodified, against the simulator: the user flows of issue 5.

These use a scripted chain so prices, sizes and therefore fills are known exactly. The same
flows run with ib_insync 0.9.86 (``test_ib_insync_flows.py``; see ``ib_client``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math

import httpx
import pytest

from spyops.common.polling import until
from spyops.gatewaysim.contracts import UNDERLYING_CON_ID, occ_symbol, option_con_id
from spyops.gatewaysim.gateway import GatewayConfig
from spyops.gatewaysim.server import GatewayServer
from tests.gatewaysim.chain_source import ScriptedChain
from tests.gatewaysim.conftest import ClientFactory
from tests.gatewaysim.ib_client import (
    IB,
    LIBRARY,
    VERSION,
    ComboLeg,
    Contract,
    ExecutionFilter,
    LimitOrder,
    MarketOrder,
    Option,
    Order,
    Stock,
    negotiated_version,
)

EXPIRY = "20261120"


def collect_errors(ib: IB) -> list[tuple[int, int, str]]:
    errors: list[tuple[int, int, str]] = []
    ib.errorEvent += lambda req_id, code, text, contract: errors.append((req_id, code, text))
    return errors


async def qualified_option(ib: IB, strike: float = 590.0, right: str = "C") -> Option:
    option = Option("SPY", EXPIRY, strike, right, "SMART")
    [result] = await ib.qualifyContractsAsync(option)
    assert result is not None
    return option


def test_the_client_library_is_the_one_asked_for() -> None:
    assert IB.__module__.split(".")[0] == LIBRARY
    if LIBRARY == "ib_insync":
        assert VERSION == "0.9.86"  # its last release, which offers client versions 157..176


async def test_connect_reports_account_ids_and_farm_notices(server: GatewayServer) -> None:
    ib = IB()
    errors = collect_errors(ib)
    await ib.connectAsync("127.0.0.1", server.port, clientId=11, timeout=10)
    try:
        assert ib.isConnected()
        assert ib.managedAccounts() == ["DU1234567"]
        # The highest version both support: 178 for ib_async 2.x, 176 for ib_insync 0.9.86.
        assert ib.client.serverVersion() == negotiated_version()
        await until(lambda: {2104, 2106, 2158} <= {code for _, code, _ in errors}, what="farm notices")
        current = await ib.reqCurrentTimeAsync()
        # Session time, not wall time (the scripted session is on 2026-11-20 from 10:00 ET).
        assert abs((current - server.source.now).total_seconds()) < 2.0
    finally:
        ib.disconnect()


async def test_duplicate_client_id_is_refused_with_326(connect: ClientFactory, server: GatewayServer) -> None:
    await connect(5)
    second = IB()
    errors = collect_errors(second)
    with pytest.raises((TimeoutError, ConnectionError)):
        await second.connectAsync("127.0.0.1", server.port, clientId=5, timeout=2)
    assert (
        -1,
        326,
        "Unable to connect as the client id is already in use.  Retry with a unique client id.",
    ) in errors
    second.disconnect()


async def test_qualify_spy_and_0dte_option_and_fetch_chain_parameters(connect: ClientFactory) -> None:
    ib = await connect(1)
    spy = Stock("SPY", "SMART", "USD")
    option = Option("SPY", EXPIRY, 590, "C", "SMART")
    results = await ib.qualifyContractsAsync(spy, option)
    assert results == [spy, option]
    assert spy.conId == UNDERLYING_CON_ID
    assert spy.primaryExchange == "ARCA"
    assert option.conId == option_con_id(dt.date(2026, 11, 20), 590.0, "C")
    assert (
        option.localSymbol == occ_symbol("SPY", dt.date(2026, 11, 20), 590.0, "C") == "SPY   261120C00590000"
    )
    assert (option.tradingClass, option.multiplier, option.exchange, option.currency) == (
        "SPY",
        "100",
        "SMART",
        "USD",
    )

    chains = await ib.reqSecDefOptParamsAsync("SPY", "", "STK", spy.conId)
    smart = [c for c in chains if c.exchange == "SMART"]
    assert len(smart) == 1
    assert smart[0].expirations == [EXPIRY]
    assert smart[0].strikes == [585.0, 590.0, 595.0]
    assert smart[0].multiplier == "100"

    details = await ib.reqContractDetailsAsync(Option("SPY", EXPIRY, exchange="SMART"))
    assert len(details) == 6  # every strike and right of the expiry


async def test_unknown_contract_gets_error_200(connect: ClientFactory) -> None:
    ib = await connect(2)
    errors = collect_errors(ib)
    unknown = Option("SPY", EXPIRY, 1234, "C", "SMART")
    # ib_async 2.x returns None for it, ib_insync leaves it out.
    results = await ib.qualifyContractsAsync(unknown)
    assert [r for r in results if r is not None] == []
    assert unknown.conId == 0
    assert any(
        code == 200 and text == "No security definition has been found for the request"
        for _, code, text in errors
    )


async def test_streaming_tickers_update_and_cancel(connect: ClientFactory, chain: ScriptedChain) -> None:
    ib = await connect(3)
    option = await qualified_option(ib)
    spy = Stock("SPY", "SMART", "USD")
    await ib.qualifyContractsAsync(spy)
    ticker = ib.reqMktData(option)
    spy_ticker = ib.reqMktData(spy)
    await until(lambda: ticker.bid == 1.0 and ticker.ask == 1.1, what="initial option quote")
    assert (ticker.bidSize, ticker.askSize) == (10, 10)
    await until(lambda: spy_ticker.bid == 589.99 and spy_ticker.ask == 590.01, what="underlying quote")
    assert spy_ticker.last == 590.0
    chain.set_quote(590.0, "C", 1.05, 1.15, 7, 12)
    await until(lambda: ticker.bid == 1.05 and ticker.ask == 1.15, what="updated quote")
    assert (ticker.bidSize, ticker.askSize) == (7, 12)
    chain.set_quote(590.0, "C", 1.05, 1.15, 9, 12)
    await until(lambda: ticker.bidSize == 9, what="size-only update")
    ib.cancelMktData(option)
    await asyncio.sleep(0.3)
    chain.set_quote(590.0, "C", 1.50, 1.60, 5, 5)
    await asyncio.sleep(0.4)
    assert ticker.bid == 1.05  # no updates after cancel


async def test_snapshot_and_market_data_types(connect: ClientFactory, server: GatewayServer) -> None:
    ib = await connect(4)
    option = await qualified_option(ib, 585.0, "P")
    [snapshot] = await ib.reqTickersAsync(option)
    assert (snapshot.bid, snapshot.ask) == (1.0, 1.1)
    assert snapshot.marketDataType == 1
    ib.reqMarketDataType(2)
    ticker = ib.reqMktData(option)
    await until(lambda: ticker.bid == 1.0, what="streaming quote")
    server.gateway.set_market_data_paused(True)
    await until(lambda: ticker.marketDataType == 2, what="frozen data type while paused")
    server.gateway.set_market_data_paused(False)
    await until(lambda: ticker.marketDataType == 1, what="live data type after resume")


async def test_market_data_line_budget_gives_error_101(server: GatewayServer, connect: ClientFactory) -> None:
    server.gateway.config = GatewayConfig(market_data_lines=2)
    ib = await connect(6)
    errors = collect_errors(ib)
    contracts = [await qualified_option(ib, strike, "C") for strike in (585.0, 590.0, 595.0)]
    for contract in contracts:
        ib.reqMktData(contract)
    await until(lambda: any(code == 101 for _, code, _ in errors), what="error 101")
    assert [text for _, code, text in errors if code == 101] == ["Max number of tickers has been reached"]
    # The same contract from another client does not take another line.
    other = await connect(7)
    other_errors = collect_errors(other)
    ticker = other.reqMktData(contracts[0])
    await until(lambda: ticker.bid == 6.0, what="quote on an already used line")
    assert not [e for e in other_errors if e[1] == 101]


async def test_marketable_limit_fills_at_the_ask_with_commission(connect: ClientFactory) -> None:
    ib = await connect(8)
    option = await qualified_option(ib)
    trade = ib.placeOrder(option, LimitOrder("BUY", 3, 1.25, orderRef="sig-1:leg-0"))
    await asyncio.wait_for(trade.filledEvent, 10)
    await until(
        lambda: bool(trade.fills) and trade.fills[-1].commissionReport.commission > 0, what="commission"
    )
    assert trade.orderStatus.status == "Filled"
    assert trade.orderStatus.avgFillPrice == 1.1  # the ask, better than the limit
    [fill] = trade.fills
    assert fill.execution.shares == 3
    assert fill.execution.side == "BOT"
    assert fill.execution.orderRef == "sig-1:leg-0"
    assert fill.commissionReport.commission == pytest.approx(1.95)  # 3 x $0.65
    assert fill.commissionReport.currency == "USD"


async def test_small_order_pays_the_minimum_commission(connect: ClientFactory) -> None:
    ib = await connect(9)
    option = await qualified_option(ib, 585.0, "C")
    trade = ib.placeOrder(option, MarketOrder("BUY", 1))
    await asyncio.wait_for(trade.filledEvent, 10)
    await until(lambda: trade.fills[0].commissionReport.commission > 0, what="commission")
    assert trade.fills[0].execution.price == 6.1  # 585 call: intrinsic 5 + 1.10 ask
    assert trade.fills[0].commissionReport.commission == pytest.approx(1.00)


async def test_non_marketable_order_works_and_cancels(connect: ClientFactory) -> None:
    ib = await connect(10)
    option = await qualified_option(ib)
    errors = collect_errors(ib)
    trade = ib.placeOrder(option, LimitOrder("BUY", 2, 0.50, orderRef="passive"))
    await until(lambda: trade.orderStatus.status == "Submitted", what="Submitted")
    await asyncio.sleep(0.3)
    assert trade.orderStatus.filled == 0
    ib.cancelOrder(trade.order)
    await asyncio.wait_for(trade.cancelledEvent, 10)
    assert trade.orderStatus.status == "Cancelled"
    await until(lambda: any(code == 202 for _, code, _ in errors), what="error 202")


async def test_partial_fill_by_displayed_size_then_rest_as_quotes_refresh(
    connect: ClientFactory, chain: ScriptedChain
) -> None:
    ib = await connect(12)
    option = await qualified_option(ib, 595.0, "P")  # 595 put: 5 intrinsic, quote 6.00 x 6.10, 10 x 10
    trade = ib.placeOrder(option, LimitOrder("BUY", 15, 6.10, orderRef="partial"))
    await until(lambda: trade.orderStatus.filled == 10, what="first partial fill")
    await asyncio.sleep(0.3)
    assert trade.orderStatus.status == "Submitted"
    assert trade.orderStatus.remaining == 5
    chain.set_quote(595.0, "P", 6.00, 6.05, 10, 4)  # quote refreshes: 4 shown at a better ask
    await until(lambda: trade.orderStatus.filled == 14, what="second partial fill")
    chain.set_quote(595.0, "P", 6.00, 6.08, 10, 8)
    await asyncio.wait_for(trade.filledEvent, 10)
    assert [f.execution.shares for f in trade.fills] == [10, 4, 1]
    assert [f.execution.price for f in trade.fills] == [6.10, 6.05, 6.08]
    await until(lambda: all(f.commissionReport.currency for f in trade.fills), what="commissions")
    # $0.65 x 15 = $9.75 for the whole order, split across its executions.
    assert sum(f.commissionReport.commission for f in trade.fills) == pytest.approx(9.75)


async def test_two_orders_cannot_take_the_same_displayed_size(connect: ClientFactory) -> None:
    ib = await connect(13)
    option = await qualified_option(ib, 590.0, "P")
    first = ib.placeOrder(option, LimitOrder("BUY", 8, 1.10))
    second = ib.placeOrder(option, LimitOrder("BUY", 8, 1.10))
    await asyncio.wait_for(first.filledEvent, 10)
    await until(lambda: second.orderStatus.filled == 2, what="the 2 contracts left")
    await asyncio.sleep(0.3)
    assert second.orderStatus.filled == 2


async def test_modify_working_order_makes_it_marketable(connect: ClientFactory) -> None:
    ib = await connect(14)
    option = await qualified_option(ib)
    order = LimitOrder("SELL", 2, 1.50, orderRef="mod")
    trade = ib.placeOrder(option, order)
    await until(lambda: trade.orderStatus.status == "Submitted", what="Submitted")
    order.lmtPrice = 0.95
    ib.placeOrder(option, order)
    await asyncio.wait_for(trade.filledEvent, 10)
    assert trade.fills[0].execution.price == 1.0  # sold at the bid
    assert trade.fills[0].execution.side == "SLD"


async def test_duplicate_order_id_gets_103_and_bad_orders_are_rejected(connect: ClientFactory) -> None:
    ib = await connect(15)
    errors = collect_errors(ib)
    option = await qualified_option(ib)
    first = ib.placeOrder(option, LimitOrder("BUY", 1, 0.5))
    await until(lambda: first.orderStatus.status == "Submitted", what="Submitted")
    # ib_async spends ids on requests too, so the id just below the order's is unused
    # but lower than the highest id this client has used: IB calls that a duplicate.
    assert first.order.orderId > 1
    ib.client.placeOrder(first.order.orderId - 1, option, LimitOrder("BUY", 1, 0.5))  # type: ignore[no-untyped-call]
    await until(
        lambda: any(code == 103 and req_id == first.order.orderId - 1 for req_id, code, _ in errors),
        what="103",
    )
    done = ib.placeOrder(option, MarketOrder("BUY", 1))
    await asyncio.wait_for(done.filledEvent, 10)
    ib.client.placeOrder(done.order.orderId, option, LimitOrder("BUY", 1, 0.5))  # type: ignore[no-untyped-call]
    await until(lambda: any(code == 104 for _, code, _ in errors), what="104 for a filled order")
    odd = ib.placeOrder(option, LimitOrder("BUY", 1, 1.234))
    await asyncio.wait_for(odd.cancelledEvent, 10)
    stop = ib.placeOrder(option, Order(action="BUY", totalQuantity=1, orderType="STP", auxPrice=1.0))
    await asyncio.wait_for(stop.cancelledEvent, 10)
    reasons = [text for _, code, text in errors if code == 201]
    assert any("minimum price variation" in text for text in reasons)
    assert any("order type 'STP' is not supported" in text for text in reasons)
    unknown = ib.placeOrder(Option("SPY", EXPIRY, 590, "C", "SMART", conId=42), LimitOrder("BUY", 1, 1.0))
    await asyncio.wait_for(unknown.cancelledEvent, 10)
    assert any(code == 200 and req_id == unknown.order.orderId for req_id, code, _ in errors)


async def test_positions_account_executions_open_and_completed_orders(connect: ClientFactory) -> None:
    ib = await connect(16)
    option = await qualified_option(ib)
    bought = ib.placeOrder(option, LimitOrder("BUY", 4, 1.2, orderRef="open-4"))
    await asyncio.wait_for(bought.filledEvent, 10)
    sold = ib.placeOrder(option, LimitOrder("SELL", 1, 0.9, orderRef="close-1"))
    await asyncio.wait_for(sold.filledEvent, 10)
    working = ib.placeOrder(option, LimitOrder("BUY", 1, 0.10, orderRef="working"))
    await until(lambda: working.orderStatus.status == "Submitted", what="Submitted")
    await until(lambda: bool(ib.positions()), what="position push")

    [position] = await ib.reqPositionsAsync()
    assert position.position == 3
    # 4 bought at 1.10 (x100) plus $2.60 commission, per contract.
    assert position.avgCost == pytest.approx((4 * 110 + 2.60) / 4)

    summary = {v.tag: v for v in await ib.accountSummaryAsync()}
    cash = 1_000_000 - 4 * 110 - 2.60 + 100 - 1.00
    assert float(summary["TotalCashValue"].value) == pytest.approx(cash, abs=0.01)
    # Realized on the closing sale: 1 x (100 - 110.65) - 1.00 commission.
    assert float(summary["RealizedPnL"].value) == pytest.approx(-11.65, abs=0.01)

    fills = await ib.reqExecutionsAsync(ExecutionFilter(clientId=16))
    assert sorted(f.execution.orderRef for f in fills) == ["close-1", "open-4"]
    await until(lambda: all(f.commissionReport.commission > 0 for f in ib.fills()), what="commissions")
    closing = next(f for f in ib.fills() if f.execution.orderRef == "close-1")
    assert closing.commissionReport.realizedPNL == pytest.approx(-11.65, abs=0.01)

    open_trades = await ib.reqOpenOrdersAsync()
    assert [t.order.orderRef for t in open_trades] == ["working"]
    all_open = await ib.reqAllOpenOrdersAsync()
    assert "working" in [t.order.orderRef for t in all_open]
    completed = await ib.reqCompletedOrdersAsync(apiOnly=True)
    by_ref = {t.order.orderRef: t for t in completed}
    assert by_ref["open-4"].orderStatus.status == "Filled"
    assert by_ref["open-4"].order.filledQuantity == 4
    assert by_ref["close-1"].orderStatus.status == "Filled"

    await until(lambda: [p.position for p in ib.portfolio()] == [3], what="portfolio update")
    portfolio = ib.portfolio()
    assert portfolio[0].marketPrice == pytest.approx(1.05)


async def test_reconnect_after_drop_finds_orders_by_order_ref(
    connect: ClientFactory, server: GatewayServer
) -> None:
    ib = await connect(21)
    option = await qualified_option(ib)
    filled = ib.placeOrder(option, LimitOrder("BUY", 2, 1.2, orderRef="strat/sig-9:0"))
    await asyncio.wait_for(filled.filledEvent, 10)
    working = ib.placeOrder(option, LimitOrder("BUY", 1, 0.2, orderRef="strat/sig-9:1"))
    await until(lambda: working.orderStatus.status == "Submitted", what="Submitted")
    last_id = working.order.orderId
    disconnected = asyncio.Event()
    ib.disconnectedEvent += disconnected.set

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.control_port}") as control:
        response = await control.post("/connections/drop")
        assert response.status_code == 200
        await asyncio.wait_for(disconnected.wait(), 10)
        by_ref = (await control.get("/orders", params={"orderRef": "strat/sig-9:1"})).json()
        assert [o["status"] for o in by_ref] == ["Submitted"]

    again = await connect(21)
    assert [t.order.orderRef for t in again.openTrades()] == ["strat/sig-9:1"]
    assert again.openTrades()[0].order.permId == working.order.permId
    completed = await again.reqCompletedOrdersAsync(apiOnly=True)
    assert [t.order.orderRef for t in completed] == ["strat/sig-9:0"]
    assert [f.execution.orderRef for f in again.fills()] == ["strat/sig-9:0"]
    assert [p.position for p in again.positions()] == [2]
    assert again.client.getReqId() > last_id  # order ids continue after the reconnect
    again.cancelOrder(again.openTrades()[0].order)
    await until(lambda: not again.openTrades(), what="cancel after reconnect")


async def test_restart_keeps_state_and_connectivity_codes_reach_clients(
    connect: ClientFactory, server: GatewayServer
) -> None:
    ib = await connect(31)
    option = await qualified_option(ib)
    trade = ib.placeOrder(option, LimitOrder("BUY", 1, 1.2, orderRef="before-restart"))
    await asyncio.wait_for(trade.filledEvent, 10)
    errors = collect_errors(ib)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.control_port}") as control:
        assert (await control.post("/connectivity/lost")).status_code == 200
        await until(lambda: any(code == 1100 for _, code, _ in errors), what="1100")
        assert (await control.post("/connectivity/restored", json={"data_lost": False})).status_code == 200
        await until(lambda: any(code == 1102 for _, code, _ in errors), what="1102")

        disconnected = asyncio.Event()
        ib.disconnectedEvent += disconnected.set
        assert (await control.post("/restart", json={"downtime_seconds": 0.5})).status_code == 202
        await asyncio.wait_for(disconnected.wait(), 10)
        await until(lambda: server.listening and not server.restarting, what="restart to finish")
        assert (await control.get("/ready")).status_code == 200
    again = await connect(31)
    assert [f.execution.orderRef for f in again.fills()] == ["before-restart"]
    assert [p.position for p in again.positions()] == [1]


async def test_many_clients_stream_at_once(connect: ClientFactory, chain: ScriptedChain) -> None:
    clients = [await connect(100 + n) for n in range(5)]
    tickers = []
    for ib in clients:
        option = await qualified_option(ib, 595.0, "C")
        tickers.append(ib.reqMktData(option))
    await until(lambda: all(t.bid == 1.0 for t in tickers), what="every client's first quote")
    chain.set_quote(595.0, "C", 1.20, 1.30, 3, 4)
    await until(lambda: all(t.bid == 1.2 and t.askSize == 4 for t in tickers), what="every client's update")


async def test_pacing_over_50_messages_per_second_gets_error_100(connect: ClientFactory) -> None:
    ib = await connect(41)
    errors = collect_errors(ib)
    ib.client.MaxRequests = 0  # switch off ib_async's own throttle to exceed IB's limit
    for _ in range(70):
        ib.client.reqCurrentTime()  # type: ignore[no-untyped-call]
    await until(lambda: any(code == 100 for _, code, _ in errors), what="error 100")
    text = next(text for _, code, text in errors if code == 100)
    assert text.startswith("Max rate of messages per second has been exceeded:max=50")
    await asyncio.sleep(1.1)
    ib.client.MaxRequests = 45
    assert isinstance(await asyncio.wait_for(ib.reqCurrentTimeAsync(), 5), dt.datetime)


async def test_what_if_order_returns_margin_without_placing(
    connect: ClientFactory, server: GatewayServer
) -> None:
    ib = await connect(42)
    option = await qualified_option(ib)
    state = await ib.whatIfOrderAsync(option, LimitOrder("BUY", 2, 1.2))
    assert float(state.initMarginChange) == pytest.approx(240.0)
    assert not server.gateway.orders_by_perm
    assert math.isclose(float(state.equityWithLoanBefore), 1_000_000.0)


async def test_combo_vertical_spread_fills_per_leg(connect: ClientFactory) -> None:
    ib = await connect(51)
    low = await qualified_option(ib, 585.0, "C")  # 6.00 x 6.10
    high = await qualified_option(ib, 590.0, "C")  # 1.00 x 1.10
    spread = Contract(
        secType="BAG",
        symbol="SPY",
        exchange="SMART",
        currency="USD",
        comboLegs=[
            ComboLeg(conId=low.conId, ratio=1, action="BUY", exchange="SMART"),
            ComboLeg(conId=high.conId, ratio=1, action="SELL", exchange="SMART"),
        ],
    )
    too_cheap = ib.placeOrder(spread, LimitOrder("BUY", 2, 5.00, orderRef="spread-low"))
    await until(lambda: too_cheap.orderStatus.status == "Submitted", what="Submitted")
    trade = ib.placeOrder(spread, LimitOrder("BUY", 2, 5.15, orderRef="spread"))
    await asyncio.wait_for(trade.filledEvent, 10)
    assert trade.orderStatus.avgFillPrice == pytest.approx(5.10)  # 6.10 paid, 1.00 received
    legs = {f.contract.conId: (f.execution.side, f.execution.shares, f.execution.price) for f in trade.fills}
    assert legs[low.conId] == ("BOT", 2, 6.10)
    assert legs[high.conId] == ("SLD", 2, 1.00)
    assert any(f.contract.secType == "BAG" for f in trade.fills)
    positions = {p.contract.conId: p.position for p in await ib.reqPositionsAsync()}
    assert positions == {low.conId: 2, high.conId: -2}
    await until(
        lambda: bool(trade.fills) and sum(f.commissionReport.commission for f in trade.fills) > 0, what="fees"
    )
    assert sum(f.commissionReport.commission for f in trade.fills) == pytest.approx(2.60)  # 4 contracts
    [open_combo] = await ib.reqOpenOrdersAsync()
    assert open_combo.order.orderRef == "spread-low"
    assert [leg.conId for leg in open_combo.contract.comboLegs] == [low.conId, high.conId]


async def test_pnl_subscriptions_follow_fills(connect: ClientFactory) -> None:
    ib = await connect(52)
    option = await qualified_option(ib)
    pnl = ib.reqPnL("DU1234567")
    single = ib.reqPnLSingle("DU1234567", "", option.conId)
    await until(lambda: pnl.realizedPnL == 0 and single.position == 0, what="first P&L")
    trade = ib.placeOrder(option, LimitOrder("BUY", 2, 1.2))
    await asyncio.wait_for(trade.filledEvent, 10)
    # Bought 2 at 1.10 (+$1.30), marked at the 1.05 mid: -$11.30 unrealized.
    await until(lambda: single.position == 2, what="P&L single update")
    assert single.unrealizedPnL == pytest.approx(-11.30)
    assert single.value == pytest.approx(210.0)
    await until(lambda: pnl.unrealizedPnL == pytest.approx(-11.30), what="account P&L update")


async def test_ioc_cancels_what_does_not_fill_at_once(connect: ClientFactory) -> None:
    ib = await connect(53)
    option = await qualified_option(ib, 595.0, "C")  # 10 shown at the ask
    trade = ib.placeOrder(option, LimitOrder("BUY", 12, 1.10, tif="IOC"))
    await asyncio.wait_for(trade.cancelledEvent, 10)
    assert trade.orderStatus.filled == 10
    assert trade.orderStatus.status == "Cancelled"


async def test_no_fills_while_connectivity_is_lost_and_1101_drops_market_data(
    connect: ClientFactory, server: GatewayServer, chain: ScriptedChain
) -> None:
    ib = await connect(54)
    errors = collect_errors(ib)
    option = await qualified_option(ib, 590.0, "P")
    ticker = ib.reqMktData(option)
    await until(lambda: ticker.bid == 1.0, what="quote")
    server.gateway.set_connectivity(False)
    trade = ib.placeOrder(option, LimitOrder("BUY", 1, 1.20))
    await until(lambda: trade.orderStatus.status == "Submitted", what="Submitted")
    chain.set_quote(590.0, "P", 1.01, 1.11, 10, 10)
    await asyncio.sleep(0.4)
    assert trade.orderStatus.filled == 0
    assert ticker.bid == 1.0  # no quotes while disconnected from the farms
    server.gateway.set_connectivity(True, data_lost=True)
    await asyncio.wait_for(trade.filledEvent, 10)
    assert trade.fills[0].execution.price == 1.11
    assert [code for _, code, _ in errors if code in (1100, 1101)] == [1100, 1101]
    assert server.gateway.subscribers == {}  # data lost: the client must resubscribe


async def test_clients_endpoint_reports_rates(connect: ClientFactory, server: GatewayServer) -> None:
    await connect(55)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.control_port}") as control:
        [client] = (await control.get("/clients")).json()
    assert client["clientId"] == 55
    assert client["messagesIn"] >= 7  # startApi and the startup requests
    assert client["messagesOut"] > 0
    assert client["messagesInLastSecond"] >= 1


async def test_unsupported_request_fails_fast_instead_of_hanging(connect: ClientFactory) -> None:
    ib = await connect(56)
    errors = collect_errors(ib)
    spy = Stock("SPY", "SMART", "USD")
    await ib.qualifyContractsAsync(spy)
    bars = await asyncio.wait_for(
        ib.reqHistoricalDataAsync(spy, "", "1 D", "1 min", "TRADES", useRTH=True), 10
    )
    assert list(bars) == []
    assert any(code == 322 and "not supported" in text for _, code, text in errors)
