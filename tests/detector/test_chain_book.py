"""The chain book: IB's "no price" values, quote times that move only on change, snapshots."""

from __future__ import annotations

import datetime as dt
import math

from spyops.detector.chain_book import ChainBook, clean_side
from spyops.detector.rules import ScanParams, scan_chain
from spyops.detector.subscription_plan import OptionKey
from spyops.market.chain import to_epoch_ns
from spyops.schemas import AnomalyKind

EXPIRY = dt.date(2026, 11, 20)
T0 = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)
NS = to_epoch_ns(T0)


def test_clean_side_maps_ib_no_price_values_to_no_side() -> None:
    assert clean_side(1.25, 10) == (1.25, 10)
    assert clean_side(1.25, 10.0) == (1.25, 10)
    for price, size in ((-1.0, 10), (0.0, 10), (math.nan, 10), (1.25, 0), (1.25, -1), (1.25, math.nan)):
        assert clean_side(price, size) == (0.0, 0)
    assert clean_side(None, 5) == (0.0, 0)
    assert clean_side(math.inf, 5) == (0.0, 0)
    assert clean_side("x", 5) == (0.0, 0)  # type: ignore[arg-type]


def _book() -> ChainBook:
    book = ChainBook("SPY", EXPIRY)
    book.set_strikes([591.0, 589.0, 590.0])
    return book


def test_quote_time_moves_only_when_the_quote_changes() -> None:
    book = _book()
    key = OptionKey(590.0, True)
    assert book.update_option(key, 1.00, 1.05, 10, 12, NS)
    version = book.version
    assert not book.update_option(key, 1.00, 1.05, 10, 12, NS + 5_000_000_000)  # repeated: unchanged
    assert book.version == version
    assert book.update_underlying(590.0, 590.02, 100, 100, NS)
    chain = book.arrays(T0 + dt.timedelta(seconds=5))
    assert chain is not None
    row = 2 * 1  # 590 is the second strike; calls first
    assert chain.quote_ts_ns[row] == NS
    assert book.update_option(key, 1.00, 1.06, 10, 12, NS + 6_000_000_000)
    assert book.arrays(T0 + dt.timedelta(seconds=6)).quote_ts_ns[row] == NS + 6_000_000_000  # type: ignore[union-attr]
    assert not book.update_option(OptionKey(600.0, True), 1, 2, 3, 4, NS)  # not watched


def test_arrays_are_paired_sorted_and_safe_before_quotes() -> None:
    book = _book()
    assert book.arrays(T0) is None  # no underlying quote yet
    book.update_underlying(-1.0, 590.02, 0, 100, NS)  # only an ask
    chain = book.arrays(T0)
    assert chain is not None
    assert chain.paired
    assert chain.spot_bid == chain.spot_ask == 590.02
    assert list(chain.strike) == [589.0, 589.0, 590.0, 590.0, 591.0, 591.0]
    assert list(chain.is_call) == [True, False] * 3
    assert (chain.bid == 0).all()
    assert (chain.ask == 0).all()
    assert (chain.quote_ts_ns == chain.ts_ns).all()  # never quoted: no age
    assert scan_chain(chain, ScanParams()) == []
    assert book.quoted == 0


def test_set_strikes_keeps_quotes_of_kept_strikes_and_snapshots_are_copies() -> None:
    book = _book()
    book.update_option(OptionKey(590.0, False), 2.0, 2.1, 5, 6, NS)
    book.update_underlying(590.0, 590.02, 1, 1, NS)
    before = book.arrays(T0)
    book.set_strikes([590.0, 591.0, 592.0])
    assert book.has_quote(OptionKey(590.0, False))
    assert not book.has_quote(OptionKey(589.0, False))
    after = book.arrays(T0)
    assert before is not None
    assert after is not None
    assert after.bid[1] == 2.0
    assert after.ask_size[1] == 6
    book.update_option(OptionKey(590.0, False), 2.2, 2.3, 5, 6, NS + 1)
    assert after.bid[1] == 2.0  # an earlier snapshot does not change under the scanner
    snapshot = book.snapshot(T0)
    assert snapshot is not None
    assert len(snapshot.quotes) == 6
    book.forget_quotes()
    assert book.spot is None
    assert book.quoted == 0


def test_a_crossed_quote_in_the_book_is_found() -> None:
    book = ChainBook("SPY", EXPIRY)
    strikes = [float(k) for k in range(580, 601)]
    book.set_strikes(strikes)
    book.update_underlying(590.0, 590.02, 100, 100, NS)
    for k in strikes:
        call_value = max(590.01 - k, 0.0) + 1.2 * math.exp(-((k - 590.0) ** 2) / 40)
        put_value = call_value - (590.01 - k)
        for is_call, value in ((True, call_value), (False, put_value)):
            bid = max(round(value - 0.03, 2), 0.01)
            book.update_option(OptionKey(float(k), is_call), bid, round(bid + 0.06, 2), 20, 20, NS)
    book.update_option(OptionKey(590.0, False), 1.60, 1.40, 20, 20, NS)  # bid through the ask
    chain = book.arrays(T0)
    assert chain is not None
    findings = scan_chain(chain, ScanParams())
    crossed = [f for f in findings if f.rule is AnomalyKind.CROSSED_QUOTE]
    assert len(crossed) == 1
    assert chain.strike[crossed[0].culprit] == 590.0
    assert not chain.is_call[crossed[0].culprit]
