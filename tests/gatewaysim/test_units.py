"""Unit tests of the simulator's pure parts: framing, contracts, matching, the account book."""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Sequence

import pytest

from spyops.gatewaysim.account import STARTING_CASH, AccountBook
from spyops.gatewaysim.contracts import ContractCatalog, ContractQuery, occ_symbol, option_con_id
from spyops.gatewaysim.matching import (
    LegSpec,
    Match,
    TopOfBook,
    commission_increment,
    commission_total,
    evaluate,
)
from spyops.gatewaysim.wire import (
    FieldReader,
    FrameBuffer,
    MalformedMessageError,
    ProtocolViolationError,
    encode,
    split_fields,
)

DAY = dt.date(2026, 11, 20)


# framing -------------------------------------------------------------------------------
def test_frames_split_across_reads_and_after_the_handshake() -> None:
    stream = b"API\0" + struct.pack(">I", 9) + b"v157..178" + encode([71, 2, 5, ""]) + encode([49, 1])
    buffer = FrameBuffer()
    frames = []
    for index in range(len(stream)):
        frames += buffer.feed(stream[index : index + 1])
    assert frames == [b"v157..178", b"71\x002\x005\x00\x00", b"49\x001\x00"]


def test_bad_handshake_prefix_and_oversized_frames_are_violations() -> None:
    with pytest.raises(ProtocolViolationError):
        FrameBuffer().feed(b"GET / HTTP/1.1\r\n")
    buffer = FrameBuffer(max_frame=16)
    assert buffer.feed(b"API\0" + encode(["ok"]) + struct.pack(">I", 17)) == [b"ok\x00"]
    with pytest.raises(ProtocolViolationError, match="exceeds the limit of 16"):
        buffer.check()


def test_encode_writes_ib_field_conventions() -> None:
    payload = encode([True, False, None, 2.0, 1.25, 2**31 - 1, 1.7976931348623157e308, "x"])[4:]
    assert payload == b"1\x000\x00\x002\x001.25\x00\x00\x00x\x00"


def test_field_reader_names_the_bad_or_missing_field() -> None:
    reader = FieldReader(split_fields(b"9\x008\x00abc\x00"), 9)
    assert reader.integer("version") == 8
    with pytest.raises(MalformedMessageError, match="field 'reqId' \\(#2\\) must be an integer, got 'abc'"):
        reader.integer("reqId")
    with pytest.raises(MalformedMessageError, match="truncated: field 'symbol'"):
        reader.text("symbol")
    with pytest.raises(MalformedMessageError, match="not UTF-8"):
        split_fields(b"\xff\xfe\x00")
    with pytest.raises(MalformedMessageError, match="terminator"):
        split_fields(b"1\x002")


# contracts ------------------------------------------------------------------------------
def test_contract_ids_and_occ_symbols_are_deterministic_and_unique() -> None:
    assert occ_symbol("SPY", DAY, 590.0, "C") == "SPY   261120C00590000"
    assert occ_symbol("SPY", DAY, 587.5, "P") == "SPY   261120P00587500"
    ids = {option_con_id(DAY, k / 2, r) for k in range(1000, 1400) for r in "CP"}
    assert len(ids) == 800
    assert all(0 < i < 2**31 for i in ids)
    assert option_con_id(DAY, 590.0, "C") == option_con_id(DAY, 590.0, "C")


def test_catalog_lookup_follows_contract_details_rules() -> None:
    catalog = ContractCatalog("SPY", DAY, [585.0, 590.0])
    assert len(catalog.find(ContractQuery(symbol="SPY", sec_type="OPT", expiry="20261120"))) == 4
    assert len(catalog.find(ContractQuery(symbol="SPY", sec_type="OPT", expiry="202611"))) == 4
    [call] = catalog.find(
        ContractQuery(symbol="SPY", sec_type="OPT", expiry="20261120", strike=590, right="CALL")
    )
    assert call.local_symbol == "SPY   261120C00590000"
    assert catalog.find(ContractQuery(con_id=call.con_id)) == [call]
    assert catalog.find(ContractQuery(local_symbol="SPY 261120C00590000")) == [call]
    assert catalog.find(ContractQuery(symbol="SPY", sec_type="OPT", expiry="20261121")) == []
    assert catalog.find(ContractQuery(symbol="QQQ")) == []
    assert catalog.find(ContractQuery(con_id=call.con_id, symbol="QQQ")) == []
    assert catalog.resolve(ContractQuery(symbol="SPY", sec_type="OPT")) is None  # ambiguous
    assert catalog.resolve(ContractQuery(symbol="SPY", sec_type="STK", exchange="SMART")) == catalog.stock


# matching -------------------------------------------------------------------------------
BOOKS = {1: TopOfBook(1.00, 1.10, 10, 5), 2: TopOfBook(0.50, 0.55, 3, 4)}
CALL = [LegSpec(con_id=1, ratio=1, action="BUY")]


def match(
    action: str,
    order_type: str,
    limit: float | None,
    remaining: int,
    legs: Sequence[LegSpec] = CALL,
    taken: dict[tuple[int, str], int] | None = None,
) -> Match | None:
    return evaluate(
        action=action,
        order_type=order_type,
        limit_price=limit,
        remaining=remaining,
        legs=legs,
        books=BOOKS,
        taken=taken or {},
    )


def filled(result: Match | None) -> Match:
    assert result is not None
    return result


def test_buy_fills_at_the_ask_up_to_displayed_size() -> None:
    result = match("BUY", "LMT", 1.20, 8)
    assert result is not None
    assert (result.units, result.net_price) == (5, 1.10)
    assert match("BUY", "LMT", 1.09, 8) is None
    assert filled(match("BUY", "LMT", 1.10, 3)).units == 3


def test_sell_fills_at_the_bid_and_market_orders_always_cross() -> None:
    sold = match("SELL", "LMT", 0.95, 20)
    assert sold is not None
    assert (sold.units, sold.net_price, sold.legs[0].action) == (10, 1.00, "SELL")
    assert match("SELL", "LMT", 1.01, 1) is None
    assert filled(match("SELL", "MKT", None, 2)).net_price == 1.00


def test_taken_size_is_not_available_again_until_the_quote_changes() -> None:
    assert filled(match("BUY", "LMT", 1.10, 8, taken={(1, "ASK"): 4})).units == 1
    assert match("BUY", "LMT", 1.10, 8, taken={(1, "ASK"): 5}) is None


def test_combo_nets_legs_and_limits_units_by_every_leg() -> None:
    spread = [LegSpec(1, 1, "BUY"), LegSpec(2, 2, "SELL")]
    bought = match("BUY", "LMT", 0.10, 10, legs=spread)  # pays 1.10 - 2 x 0.50 = 0.10
    assert bought is not None
    assert bought.net_price == pytest.approx(0.10)
    assert bought.units == 1  # leg 2 shows 3 at the bid, 2 per unit
    assert [(leg.con_id, leg.action, leg.quantity, leg.price) for leg in bought.legs] == [
        (1, "BUY", 1, 1.10),
        (2, "SELL", 2, 0.50),
    ]
    assert match("BUY", "LMT", 0.09, 10, legs=spread) is None
    sold = match("SELL", "LMT", -0.10, 10, legs=spread)  # receives 1.00 - 2 x 0.55 = -0.10
    assert sold is not None
    assert sold.net_price == pytest.approx(-0.10)


def test_commission_is_per_contract_with_an_order_minimum() -> None:
    assert commission_total(1) == 1.00
    assert commission_total(2) == 1.30
    assert commission_increment(0, 1) == 1.00
    assert commission_increment(1, 2) == 0.30
    assert commission_increment(0, 10) == 6.50


# account --------------------------------------------------------------------------------
def test_account_books_fills_with_avg_cost_and_realized_pnl() -> None:
    book = AccountBook(account="DU1")
    opened = book.book(con_id=1, side="BUY", quantity=4, price=1.10, multiplier=100, commission=2.60)
    assert opened.realized_pnl is None
    assert opened.position.quantity == 4
    assert opened.position.avg_cost == pytest.approx(110.65)
    closed = book.book(con_id=1, side="SELL", quantity=1, price=1.50, multiplier=100, commission=1.00)
    assert closed.realized_pnl == pytest.approx(150 - 110.65 - 1.00)
    assert book.cash == pytest.approx(STARTING_CASH - 440 - 2.60 + 150 - 1.00)
    flipped = book.book(con_id=1, side="SELL", quantity=5, price=1.00, multiplier=100, commission=3.25)
    assert flipped.position.quantity == -2
    assert flipped.realized_pnl == pytest.approx(3 * (100 - 110.65) - 3.25 * 3 / 5)
    assert flipped.position.avg_cost == pytest.approx((200 - 3.25 * 2 / 5) / 2)
    values = book.summary({1: 1.2}, lambda _: 100, 590.0)
    assert values["InitMarginReq"] == pytest.approx(0.2 * 590 * 100 * 2)
    assert values["NetLiquidation"] == pytest.approx(book.cash - 240)


def test_account_rejects_nonsense_executions() -> None:
    book = AccountBook(account="DU1")
    with pytest.raises(ValueError, match="quantity"):
        book.book(con_id=1, side="BUY", quantity=0, price=1, multiplier=100, commission=0)
    with pytest.raises(ValueError, match="side"):
        book.book(con_id=1, side="HOLD", quantity=1, price=1, multiplier=100, commission=0)
