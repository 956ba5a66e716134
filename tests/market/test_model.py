"""The market model: determinism, a clean chain without arbitrage, injected anomalies and their labels."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from spyops.market import ChainArrays, MarketClosedError, MarketConfig, MarketModel
from spyops.market.anomalies import box_edge
from spyops.schemas import AnomalyKind, ChainSnapshot, OptionRight

SESSION = dt.date(2026, 11, 20)
FEE = 0.65


def _calls_puts(chain: ChainArrays) -> tuple[np.ndarray, ...]:
    c, p = chain.is_call, ~chain.is_call
    return chain.strike[c], chain.bid[c], chain.ask[c], chain.bid[p], chain.ask[p]


def executable_violations(chain: ChainArrays, discount: float) -> list[str]:
    """Every static-arbitrage trade on adjacent strikes that pays at executable prices (before fees)."""
    strikes, cb, ca, pb, pa = _calls_puts(chain)
    found = []
    for b, a, name in ((cb, ca, "C"), (pb[::-1], pa[::-1], "P")):
        # Calls fall with the strike, puts rise: sell the one that should be cheaper at its bid.
        if np.any(b[1:] - a[:-1] > 1e-9):
            found.append(f"{name} monotonicity")
        gaps = np.abs(np.diff(strikes))
        if np.any(b[:-1] - a[1:] - gaps > 1e-9):
            found.append(f"{name} slope")
        if np.any(2 * b[1:-1] - a[:-2] - a[2:] > 1e-9):
            found.append(f"{name} butterfly")
    if np.any(chain.bid >= chain.ask):
        found.append("crossed or locked")
    ref = int(np.argmin(np.abs(strikes - (chain.spot_bid + chain.spot_ask) / 2)))
    for i in range(len(strikes)):
        if i != ref:
            edge = box_edge(
                strikes[i],
                cb[i],
                ca[i],
                pb[i],
                pa[i],
                strikes[ref],
                cb[ref],
                ca[ref],
                pb[ref],
                pa[ref],
                discount,
                0.0,
            )
            if edge > 1e-6:
                found.append(f"parity at {strikes[i]}")
    return found


def test_same_seed_same_market_and_labels() -> None:
    config = MarketConfig(anomalies_per_minute=20)
    first, second = MarketModel(11, SESSION, config), MarketModel(11, SESSION, config)
    for _ in range(300):
        a, b = first.step(0.1), second.step(0.1)
        assert a.spot_bid == b.spot_bid
        np.testing.assert_array_equal(a.bid, b.bid)
        np.testing.assert_array_equal(a.ask, b.ask)
        np.testing.assert_array_equal(a.quote_ts_ns, b.quote_ts_ns)
        assert first.labels == second.labels
    other = MarketModel(12, SESSION, config)
    for _ in range(300):
        other.step(0.1)
    assert other.spot != first.spot


def test_clean_chain_has_no_executable_arbitrage_all_day() -> None:
    model = MarketModel(5, SESSION, MarketConfig(jumps_per_hour=30.0))
    for _ in range(389):
        chain = model.step(60.0)  # one snapshot a minute, from the open into the last minute
        discount = 1.0
        assert executable_violations(chain, discount) == [], model.now
        calls, puts = model.fair_values()
        c = chain.is_call
        assert np.all(chain.bid[c] <= calls + 1e-9)
        assert np.all(chain.ask[c] >= calls - 1e-9)
        assert np.all(chain.bid[~c] <= puts + 1e-9)
        assert np.all(chain.ask[~c] >= puts - 1e-9)
        assert model.labels == ()
    with pytest.raises(MarketClosedError, match="16:00"):
        model.step(120.0)


def test_quote_ts_moves_only_when_the_quote_changes() -> None:
    model = MarketModel(3, SESSION)
    before = model.step(0.1)
    after = model.step(0.1)
    same = (
        (before.bid == after.bid)
        & (before.ask == after.ask)
        & (before.bid_size == after.bid_size)
        & (before.ask_size == after.ask_size)
    )
    assert np.all(after.quote_ts_ns[same] == before.quote_ts_ns[same])
    assert np.all(after.quote_ts_ns[~same] == after.ts_ns)
    assert same.any()


def test_volatility_changes_and_the_spot_moves() -> None:
    model = MarketModel(9, SESSION)
    vols, spots = [], []
    for _ in range(200):
        model.step(30.0)
        vols.append(model.atm_vol)
        spots.append(model.spot)
    assert np.std(np.log(vols)) > 0.02
    assert max(spots) - min(spots) > 1.0
    assert model.now.utcoffset() == dt.timedelta(hours=-5)


def _row(chain: ChainArrays, strike: float, right: OptionRight) -> int:
    (index,) = np.flatnonzero((chain.strike == strike) & (chain.is_call == (right is OptionRight.CALL)))
    return int(index)


@pytest.mark.parametrize("kind", list(AnomalyKind))
def test_injected_anomaly_shows_is_labeled_and_clears(kind: AnomalyKind) -> None:
    model = MarketModel(21, SESSION)
    model.step(0.1)
    anomaly = model.inject(kind, duration_seconds=2.0)
    assert anomaly.start == model.now
    chain = model.step(0.1)
    labels = model.labels
    assert [(lb.strike, lb.right, lb.kind) for lb in labels] == [(anomaly.strike, anomaly.right, kind)]
    assert model.labels_at(chain.ts) == labels
    label = labels[0]
    i = _row(chain, anomaly.strike, anomaly.right)
    if kind is AnomalyKind.SPREAD_BLOWOUT:
        assert label.edge is not None
        assert label.edge < 0
        assert not label.tradable
        assert chain.ask[i] - chain.bid[i] >= 0.10 - 1e-9
    else:
        assert label.tradable, label
        assert label.edge is not None
        assert label.edge >= 5.0
    if kind is AnomalyKind.CROSSED_QUOTE:
        assert chain.bid[i] > chain.ask[i]
    if kind is AnomalyKind.STALE_QUOTE:
        assert chain.quote_ts_ns[i] < chain.ts_ns
    for _ in range(25):
        chain = model.step(0.1)
    assert model.labels == ()
    assert executable_violations(chain, 1.0) == []


def test_small_anomalies_are_labeled_not_tradable() -> None:
    model = MarketModel(4, SESSION)
    model.step(0.1)
    # Far out of the money a vertical violation can be small; near the money pushing a bid
    # through its neighbour's ask moves it so far from fair value that it always pays.
    model.inject(AnomalyKind.VERTICAL_SPREAD, strike=612.0, right=OptionRight.CALL, size=0.02)
    chain = model.step(0.1)
    (label,) = model.labels
    i = _row(chain, 612.0, OptionRight.CALL)
    assert chain.bid[i] == pytest.approx(chain.ask[i - 2] + 0.02)
    assert label.edge is not None
    assert label.edge < 5.0
    assert not label.tradable
    model.inject(AnomalyKind.CROSSED_QUOTE, strike=585.0, right=OptionRight.PUT, size=0.0)
    chain = model.step(0.1)
    i = _row(chain, 585.0, OptionRight.PUT)
    assert chain.bid[i] == chain.ask[i]  # locked


def test_inject_rejects_what_it_cannot_do() -> None:
    model = MarketModel(4, SESSION)
    with pytest.raises(ValueError, match="not listed"):
        model.inject(AnomalyKind.PARITY, strike=1234.0)
    with pytest.raises(ValueError, match="size"):
        model.inject(AnomalyKind.PARITY, size=-1.0)
    with pytest.raises(ValueError, match="cannot be placed"):
        model.inject(AnomalyKind.BUTTERFLY, strike=model.strikes[0])


def test_scheduled_anomalies_mix_kinds_and_sizes() -> None:
    model = MarketModel(8, SESSION, MarketConfig(anomalies_per_minute=30))
    kinds: set[AnomalyKind] = set()
    tradable: set[str] = set()
    small: set[str] = set()
    for _ in range(6000):
        model.step(0.1)
        for label in model.labels:
            kinds.add(label.kind)
            (tradable if label.tradable else small).add(label.anomaly_id)
    assert kinds == set(AnomalyKind)
    assert len(tradable) > 2 * len(small - tradable) > 0


def test_snapshot_wire_form_matches_arrays() -> None:
    model = MarketModel(2, SESSION, MarketConfig(strikes_each_side=5))
    model.step(0.1)
    snapshot = model.advance(0.1)
    assert isinstance(snapshot, ChainSnapshot)
    assert snapshot.ts == model.now
    assert len(snapshot.quotes) == 22
    back = ChainArrays.from_snapshot(snapshot)
    np.testing.assert_array_equal(back.bid, model.arrays.bid)
    np.testing.assert_array_equal(back.quote_ts_ns, model.arrays.quote_ts_ns)
    assert model.strikes == tuple(sorted(model.strikes))
    assert model.underlying == "SPY"
    assert model.expiry == SESSION


def test_bad_config_is_refused() -> None:
    with pytest.raises(ValueError, match="smile_wing"):
        MarketConfig(smile_wing=2.0)
    with pytest.raises(MarketClosedError):
        MarketModel(1, SESSION, MarketConfig(start_time=dt.time(16, 30)))


def test_near_threshold_anomalies_start_between_0_8_and_1_5_times_the_minimum_edge() -> None:
    from spyops.market.anomalies import NEAR_THRESHOLD_EDGE

    config = MarketConfig(
        anomalies_per_minute=30.0,
        near_threshold_fraction=1.0,
        anomaly_kinds=(AnomalyKind.BUTTERFLY, AnomalyKind.PARITY, AnomalyKind.IV_OUTLIER),
    )
    model = MarketModel(11, dt.date(2026, 11, 20), config)
    first_edge: dict[str, float] = {}
    for _ in range(1200):
        model.step(0.1)
        for label in model.labels:
            if label.anomaly_id not in first_edge and label.edge is not None:
                first_edge[label.anomaly_id] = label.edge
    assert len(first_edge) >= 10
    low, high = (f * config.min_edge for f in NEAR_THRESHOLD_EDGE)
    # They start near the threshold (the first snapshot may already have moved a little).
    inside = [e for e in first_edge.values() if low - 0.5 <= e <= high + 0.5]
    assert len(inside) >= 0.9 * len(first_edge), sorted(first_edge.values())
