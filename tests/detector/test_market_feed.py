"""The feed's pure parts: ib_async tickers into the book (bad ticks too), the 0DTE expiry, the clock."""

from __future__ import annotations

import datetime as dt
import math

from ib_async import Contract, Option, Stock, Ticker

from spyops.detector.chain_book import ChainBook
from spyops.detector.market_feed import apply_tickers, clock_offset_ns, pick_expiry
from spyops.detector.subscription_plan import OptionKey

EXPIRY = dt.date(2026, 11, 20)
NS = 1_800_000_000_000_000_000


def _option(con_id: int, strike: float, right: str) -> Contract:
    contract = Option("SPY", "20261120", strike, right, "SMART", currency="USD")
    contract.conId = con_id
    return contract


def _ticker(contract: Contract | None, bid: float, ask: float, bid_size: float, ask_size: float) -> Ticker:
    ticker = Ticker(contract=contract)
    # Set after construction, as ib_async's decoder does (the constructor resets them).
    ticker.bid, ticker.ask, ticker.bidSize, ticker.askSize = bid, ask, bid_size, ask_size
    return ticker


def test_tickers_update_the_book_and_bad_ticks_are_counted_not_raised() -> None:
    book = ChainBook("SPY", EXPIRY)
    book.set_strikes([590.0])
    spy = Stock("SPY", "SMART", "USD")
    spy.conId = 756733
    keys = {11: OptionKey(590.0, True), 12: OptionKey(590.0, False)}
    tickers = [
        _ticker(spy, 590.0, 590.02, 300, 200),
        _ticker(_option(11, 590.0, "C"), 1.10, 1.15, 10, 12),
        # IB's "no bid": -1 with size 0; NaN before the first ask tick.
        _ticker(_option(12, 590.0, "P"), -1.0, math.nan, 0, math.nan),
        _ticker(_option(99, 700.0, "C"), 1.0, 1.1, 1, 1),  # not watched
        _ticker(None, 1.0, 1.1, 1, 1),  # unreadable: no contract
    ]
    update = apply_tickers(book, tickers, spy.conId, keys, NS)
    assert update.changed == 3
    assert update.underlying_changed
    assert update.bad == 1
    chain = book.arrays(dt.datetime(2026, 11, 20, 15, tzinfo=dt.UTC))
    assert chain is not None
    assert list(chain.bid) == [1.10, 0.0]
    assert list(chain.ask) == [1.15, 0.0]
    assert list(chain.bid_size) == [10, 0]
    assert book.has_quote(OptionKey(590.0, False))  # quoted, with nothing on either side

    repeated = apply_tickers(book, tickers[:3], spy.conId, keys, NS + 1)
    assert repeated.changed == 0  # nothing changed: no quote times move


def test_pick_expiry_takes_today_only() -> None:
    assert pick_expiry(["20261119", "20261120", "20261123"], EXPIRY) == EXPIRY
    assert pick_expiry(["20261120 16:00 US/Eastern"], EXPIRY) == EXPIRY
    assert pick_expiry(["20261123", "bad"], EXPIRY) is None


def test_clock_offset_ignores_the_gateways_one_second_rounding() -> None:
    local = 1_763_700_000_400_000_000
    assert clock_offset_ns(dt.datetime.fromtimestamp(1_763_700_000, dt.UTC), local) == 0
    session = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)
    offset = clock_offset_ns(session, local)
    assert offset == int(session.timestamp()) * 1_000_000_000 - local
