"""The simulator negotiates the TWS API version like IB Gateway and lays messages out for it.

ib_async is told to offer only versions up to N (its ``MaxClientVersion``), for every N at which
a message the simulator sends or reads changes, and runs the flows whose messages change there:
contract details, orders, executions, completed orders, what-if, errors.
"""

from __future__ import annotations

import asyncio
import struct

import pytest
from ib_async import IB, LimitOrder, Option

from spyops.common.polling import until
from spyops.gatewaysim import versions
from spyops.gatewaysim.server import GatewayServer
from spyops.gatewaysim.versions import HandshakeError, negotiate, parse_offer
from tests.gatewaysim.test_ib_async_flows import EXPIRY, collect_errors

LAYOUT_BOUNDARIES = sorted(
    {
        versions.MIN_SERVER_VERSION,
        versions.DURATION,
        versions.POST_TO_ATS,
        versions.AUTO_CANCEL_PARENT,
        versions.FRACTIONAL_SIZE_SUPPORT,
        versions.SIZE_RULES,
        versions.ADVANCED_ORDER_REJECT - 1,
        versions.ADVANCED_ORDER_REJECT,
        versions.MANUAL_ORDER_TIME,
        versions.PEGBEST_PEGMID_OFFSETS,
        versions.BOND_ISSUERID,
        versions.FA_PROFILE_DESUPPORT,
        versions.PENDING_PRICE_REVISION,
    }
)


@pytest.mark.parametrize(
    ("offer", "expected"),
    [
        ("v157..178", 178),
        ("v157..176", 176),  # ib_insync 0.9.86
        ("v100..200", 178),
        ("v160", 160),
        ("v157..176 +PACEAPI", 176),  # connect options follow a space
    ],
)
def test_negotiates_the_highest_version_both_support(offer: str, expected: int) -> None:
    assert negotiate(*parse_offer(offer)) == expected


@pytest.mark.parametrize(
    ("offer", "error"),
    [
        ("v100..156", "do not overlap the simulator's 157..178"),
        ("v179..190", "do not overlap the simulator's 157..178"),
        ("v178..157", "is empty"),
        ("157..178", "does not start with 'v<min>..<max>'"),
        ("vabc..178", "bad handshake version range"),
    ],
)
def test_refuses_offers_it_cannot_serve(offer: str, error: str) -> None:
    with pytest.raises(HandshakeError, match=error):
        negotiate(*parse_offer(offer))


async def handshake(port: int, offer: bytes) -> list[str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"API\0" + struct.pack(">I", len(offer)) + offer)
        await writer.drain()
        (length,) = struct.unpack(">I", await asyncio.wait_for(reader.readexactly(4), 5))
        payload = await asyncio.wait_for(reader.readexactly(length), 5)
        return payload.decode().split("\0")[:-1]
    finally:
        writer.close()


async def test_handshake_answers_the_negotiated_version(server: GatewayServer) -> None:
    version, connection_time = await handshake(server.port, b"v157..176")
    assert version == "176"
    assert connection_time.startswith("2026")


async def test_a_client_without_a_common_version_is_disconnected(server: GatewayServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"API\0" + struct.pack(">I", 9) + b"v100..150")
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 5) == b""  # closed, nothing sent
    writer.close()


@pytest.mark.parametrize("version", LAYOUT_BOUNDARIES)
async def test_ib_async_at_each_layout_boundary(server: GatewayServer, version: int) -> None:
    ib = IB()
    ib.client.MaxClientVersion = version
    errors = collect_errors(ib)
    await ib.connectAsync("127.0.0.1", server.port, clientId=300 + version - 150, timeout=10)
    try:
        assert ib.client.serverVersion() == version
        # errors: the farm notices' texts arrive whole (advancedOrderRejectJson only from 166)
        await until(lambda: {2104, 2106, 2158} <= {code for _, code, _ in errors}, what="farm notices")
        assert ("Market data farm connection is OK:usfarm") in [text for _, code, text in errors]

        # contractDetails: the version field and mdSizeMultiplier before 164, size rules after
        [details] = await ib.reqContractDetailsAsync(Option("SPY", EXPIRY, 590.0, "C", "SMART"))
        option = details.contract
        assert option is not None
        assert (option.localSymbol, details.minTick, details.underConId) == (
            "SPY   261120C00590000",
            0.01,
            756733,
        )
        assert (details.longName, details.realExpirationDate, details.timeZoneId) == (
            "SPDR S&P 500 ETF TRUST",
            EXPIRY,
            "US/Eastern",
        )

        # openOrder (faProfile before 177), orderStatus, execDetails (pendingPriceRevision at 178),
        # commissionReport
        trade = ib.placeOrder(option, LimitOrder("BUY", 2, 1.2, orderRef=f"v{version}"))
        await asyncio.wait_for(trade.filledEvent, 10)
        await until(lambda: trade.fills[-1].commissionReport.commission > 0, what="commission")
        [fill] = trade.fills
        assert (fill.execution.orderRef, fill.execution.shares, fill.execution.price) == (
            f"v{version}",
            2,
            1.1,
        )
        assert fill.execution.lastLiquidity == 2
        assert fill.commissionReport.commission == pytest.approx(1.30)

        # what-if: the margin fields sit after faProfile; a misplaced field moves them
        state = await ib.whatIfOrderAsync(option, LimitOrder("BUY", 2, 1.2))
        assert float(state.initMarginChange) == pytest.approx(240.0)
        assert float(state.equityWithLoanBefore) == pytest.approx(1_000_000.0 - 1.30 - 10.0, abs=0.01)

        # a working order read back, and cancelled (cancelOrder's manualOrderCancelTime from 169)
        working = ib.placeOrder(option, LimitOrder("BUY", 1, 0.10, orderRef="working", tif="GTC"))
        await until(lambda: working.orderStatus.status == "Submitted", what="Submitted")
        [open_trade] = await ib.reqOpenOrdersAsync()
        assert (open_trade.order.orderRef, open_trade.order.lmtPrice, open_trade.order.tif) == (
            "working",
            0.1,
            "GTC",
        )
        ib.cancelOrder(working.order)
        await asyncio.wait_for(working.cancelledEvent, 10)

        # completedOrder: completedStatus and filledQuantity are near the end of the message
        completed = {t.order.orderRef: t for t in await ib.reqCompletedOrdersAsync(apiOnly=True)}
        assert completed[f"v{version}"].orderStatus.status == "Filled"
        assert completed[f"v{version}"].order.filledQuantity == 2
        assert completed["working"].orderStatus.status == "Cancelled"
        executions = await ib.reqExecutionsAsync()
        assert [f.execution.orderRef for f in executions] == [f"v{version}"]
    finally:
        ib.disconnect()
