"""Hysteresis and signals: one signal per episode, deterministic ids, a cleared anomaly fires again."""

from __future__ import annotations

import datetime as dt
import re

from spyops.detector import ScanParams, SignalTracker, build_signal, scan_chain, signal_id
from spyops.market import MarketModel
from spyops.schemas import AnomalyKind, LegAction, OptionContract, OptionRight, Signal

SESSION = dt.date(2026, 11, 20)


def _run(seed: int) -> list[Signal]:
    model = MarketModel(seed, SESSION)
    tracker = SignalTracker(clear_after_snapshots=3)
    params = ScanParams()
    signals: list[Signal] = []
    plan = {5: 3.0, 60: 3.0}  # the same anomaly twice, with a clean gap between
    for step in range(100):
        if step in plan:
            model.inject(
                AnomalyKind.CROSSED_QUOTE,
                strike=590.0,
                right=OptionRight.CALL,
                size=0.2,
                duration_seconds=plan[step],
            )
        chain = model.step(0.1)
        for emitted in tracker.update(chain, scan_chain(chain, params)):
            signals.append(
                build_signal(
                    emitted.finding,
                    chain,
                    episode_start=emitted.episode_start,
                    detected_at=dt.datetime(2026, 11, 20, 15, tzinfo=dt.UTC),
                    strategy="trading/spy",
                )
            )
    return signals


def test_one_signal_per_episode_and_again_after_it_clears() -> None:
    signals = _run(17)
    assert len(signals) == 2
    first, second = signals
    assert first.rule is AnomalyKind.CROSSED_QUOTE
    assert first.culprit == OptionContract(
        underlying="SPY", expiry=SESSION, strike=590.0, right=OptionRight.CALL
    )
    assert first.id != second.id
    assert second.event_time - first.event_time >= dt.timedelta(seconds=5)
    assert re.fullmatch(r"[0-9a-f]{32}", first.id)
    assert first.id == signal_id(first.culprit, first.rule, first.event_time)
    assert first.strategy == "trading/spy"


def test_ids_are_the_same_on_replay() -> None:
    assert [s.id for s in _run(17)] == [s.id for s in _run(17)]


def test_signal_carries_quotes_and_an_executable_order() -> None:
    signal = _run(17)[0]
    order = signal.suggested_order
    assert order is not None
    buy, sell = order.legs
    assert buy.action is LegAction.BUY
    assert sell.action is LegAction.SELL
    quote = signal.quotes[0]
    assert buy.limit_price == quote.ask
    assert sell.limit_price == quote.bid
    assert order.net_price == round(buy.limit_price - sell.limit_price, 4) < 0  # a credit
    assert order.quantity == min(quote.ask_size, quote.bid_size)
    assert signal.edge >= 5.0
    assert Signal.model_validate_json(signal.model_dump_json()) == signal


def test_an_episode_survives_short_gaps() -> None:
    tracker = SignalTracker(clear_after_snapshots=3)
    t0 = dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)
    tick = dt.timedelta(milliseconds=100)
    seen = [True, True, False, False, True, False, False, False, True]
    opened = [
        bool(tracker.update_keys(t0 + k * tick, {"a"} if present else set()))
        for k, present in enumerate(seen)
    ]
    assert opened == [True, False, False, False, False, False, False, False, True]
