"""The seed rule flags pairs of neighbouring strikes; the benchmark names one culprit per pair."""

from __future__ import annotations

import datetime as dt

import numpy as np

from spyops.detector.seed_rule import best_culprits, seed_rule_flags, seed_rule_pairs
from spyops.market.chain import ChainArrays


def chain(mids: list[float]) -> ChainArrays:
    n = len(mids)
    mid = np.asarray(mids)
    return ChainArrays(
        ts=dt.datetime(2026, 11, 20, 15, tzinfo=dt.UTC),
        underlying="SPY",
        expiry=dt.date(2026, 11, 20),
        spot_bid=589.99,
        spot_ask=590.01,
        strike=np.arange(585.0, 585.0 + n),
        is_call=np.ones(n, dtype=np.bool_),
        bid=mid - 0.05,
        ask=mid + 0.05,
        bid_size=np.full(n, 10, dtype=np.int64),
        ask_size=np.full(n, 10, dtype=np.int64),
        quote_ts_ns=np.zeros(n, dtype=np.int64),
    )


def test_one_quote_out_of_line_flags_the_two_pairs_around_it() -> None:
    snapshot = chain([5.0, 4.2, 6.4, 2.6, 1.8])  # strike 587 pushed up by about 2
    pairs = seed_rule_pairs(snapshot, 1.0)
    assert pairs.tolist() == [[1, 2], [2, 3]]
    assert seed_rule_flags(snapshot, 1.0).tolist() == [1, 2, 3]


def test_best_culprit_is_the_labeled_contract_of_a_pair() -> None:
    assert best_culprits([("a", "b"), ("b", "c")], {"b"}) == {"b"}
    assert best_culprits([("a", "b")], {"a", "b"}) == {"a", "b"}


def test_without_a_label_a_shared_contract_counts_once() -> None:
    assert best_culprits([("a", "b"), ("b", "c")], set()) == {"b"}
    assert best_culprits([("a", "b"), ("c", "d")], set()) == {"a", "c"}
