"""The detector's rules on market-model chains: culprits, legs, edges, and quiet on clean data."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from spyops.detector import Finding, ScanParams, scan_chain
from spyops.detector.rules import pair_chain
from spyops.detector.seed_rule import seed_rule_flags
from spyops.market import ChainArrays, MarketConfig, MarketModel
from spyops.schemas import AnomalyKind, DetectorSettings, LegAction, OptionRight

SESSION = dt.date(2026, 11, 20)
PARAMS = ScanParams()


def _row(chain: ChainArrays, strike: float, right: OptionRight) -> int:
    (index,) = np.flatnonzero((chain.strike == strike) & (chain.is_call == (right is OptionRight.CALL)))
    return int(index)


def _inject(kind: AnomalyKind, seed: int = 31, **kwargs: object) -> tuple[MarketModel, ChainArrays, int]:
    model = MarketModel(seed, SESSION)
    model.step(0.1)
    anomaly = model.inject(kind, duration_seconds=5.0, **kwargs)  # type: ignore[arg-type]
    chain = model.step(0.1)
    return model, chain, _row(chain, anomaly.strike, anomaly.right)


def _finding_for(findings: list[Finding], row: int) -> Finding:
    (finding,) = [f for f in findings if f.culprit == row]
    return finding


@pytest.mark.parametrize("start", [dt.time(9, 30), dt.time(12, 0), dt.time(15, 45)])
@pytest.mark.parametrize("seed", [101, 202])
def test_clean_market_gives_no_finding(seed: int, start: dt.time) -> None:
    model = MarketModel(seed, SESSION, MarketConfig(start_time=start, jumps_per_hour=20.0))
    for _ in range(40):
        chain = model.step(3.0)  # quotes age between snapshots, spot moves, jumps happen
        assert scan_chain(chain, PARAMS) == [], chain.ts


def test_vertical_violation_names_the_quote_and_the_trade() -> None:
    _, chain, row = _inject(AnomalyKind.VERTICAL_SPREAD, strike=592.0, right=OptionRight.CALL, size=0.20)
    finding = _finding_for(scan_chain(chain, PARAMS), row)
    assert finding.rule is AnomalyKind.VERTICAL_SPREAD
    assert finding.tradable
    lower = _row(chain, 591.0, OptionRight.CALL)
    assert {(leg.index, leg.action) for leg in finding.legs} == {
        (row, LegAction.SELL),
        (lower, LegAction.BUY),
    }
    assert finding.edge == pytest.approx(20.0 - 2 * PARAMS.fee)
    assert finding.score > PARAMS.iv_zscore


def test_butterfly_violation_sells_the_body_buys_the_wings() -> None:
    _, chain, row = _inject(AnomalyKind.BUTTERFLY, strike=589.0, right=OptionRight.PUT, size=0.30)
    finding = _finding_for(scan_chain(chain, PARAMS), row)
    assert finding.rule in (AnomalyKind.BUTTERFLY, AnomalyKind.VERTICAL_SPREAD)
    assert finding.edge >= PARAMS.min_edge
    actions = {leg.index: (leg.action, leg.ratio) for leg in finding.legs}
    assert actions[row][0] is LegAction.SELL


def test_parity_break_is_a_box_with_the_culprit_in_it() -> None:
    _, chain, row = _inject(AnomalyKind.PARITY, strike=584.0, right=OptionRight.CALL, size=0.45)
    finding = _finding_for(scan_chain(chain, PARAMS), row)
    assert finding.tradable
    if finding.rule is AnomalyKind.PARITY:
        assert len(finding.legs) == 4
        assert row in {leg.index for leg in finding.legs}


def test_iv_outlier_trades_the_one_quote() -> None:
    _, chain, row = _inject(AnomalyKind.IV_OUTLIER, strike=594.0, right=OptionRight.CALL, size=0.25)
    finding = _finding_for(scan_chain(chain, PARAMS), row)
    assert finding.rule in (AnomalyKind.IV_OUTLIER, AnomalyKind.BUTTERFLY, AnomalyKind.VERTICAL_SPREAD)
    assert finding.tradable
    assert finding.score > PARAMS.iv_zscore


def test_crossed_and_locked_quotes() -> None:
    _, chain, row = _inject(AnomalyKind.CROSSED_QUOTE, strike=590.0, right=OptionRight.PUT, size=0.15)
    finding = _finding_for(scan_chain(chain, PARAMS), row)
    assert finding.rule is AnomalyKind.CROSSED_QUOTE
    assert finding.edge == pytest.approx(15.0 - 2 * PARAMS.fee)
    assert [(leg.index, leg.action) for leg in finding.legs] == [(row, LegAction.BUY), (row, LegAction.SELL)]
    _, chain, row = _inject(AnomalyKind.CROSSED_QUOTE, strike=590.0, right=OptionRight.PUT, size=0.0)
    locked = _finding_for(scan_chain(chain, PARAMS), row)
    assert locked.rule is AnomalyKind.CROSSED_QUOTE
    assert not locked.tradable


def test_spread_blowout_is_a_flag_without_a_trade() -> None:
    _, chain, row = _inject(AnomalyKind.SPREAD_BLOWOUT, strike=588.0, right=OptionRight.CALL, size=2.0)
    finding = _finding_for(scan_chain(chain, PARAMS), row)
    assert finding.rule is AnomalyKind.SPREAD_BLOWOUT
    assert finding.legs == ()
    assert finding.score > 1.0


def test_stale_quote_after_the_underlying_moved() -> None:
    model, _, row = _inject(AnomalyKind.STALE_QUOTE, strike=590.0, right=OptionRight.CALL, size=0.30)
    smile_only = ScanParams(enabled=frozenset({AnomalyKind.STALE_QUOTE, AnomalyKind.IV_OUTLIER}))
    rules, smile_rules = set(), set()
    for _ in range(30):
        chain = model.step(0.1)
        rules |= {f.rule for f in scan_chain(chain, PARAMS) if f.culprit == row}
        smile_rules |= {f.rule for f in scan_chain(chain, smile_only) if f.culprit == row}
    # A frozen quote the market moved away from is out of line at once; it is named stale once
    # older than stale_after_ms (2 s), unless an arbitrage through it is the better trade.
    assert rules
    assert AnomalyKind.STALE_QUOTE in smile_rules


def test_disabled_rules_do_not_fire_and_unknown_rules_are_refused() -> None:
    _, chain, _row_index = _inject(AnomalyKind.CROSSED_QUOTE, strike=590.0, right=OptionRight.PUT, size=0.15)
    params = ScanParams.from_settings(DetectorSettings(rules={"crossed_quote": False}))
    assert all(f.rule is not AnomalyKind.CROSSED_QUOTE for f in scan_chain(chain, params))
    with pytest.raises(ValueError, match="unknown rule"):
        ScanParams.from_settings(DetectorSettings(rules={"gamma_squeeze": True}))


def test_a_chain_with_missing_contracts_is_scanned() -> None:
    _, chain, row = _inject(AnomalyKind.CROSSED_QUOTE, strike=590.0, right=OptionRight.PUT, size=0.15)
    keep = np.ones(len(chain), dtype=bool)
    keep[[3, 10, 41]] = False  # three contracts missing from the feed
    partial = ChainArrays(
        ts=chain.ts,
        underlying=chain.underlying,
        expiry=chain.expiry,
        spot_bid=chain.spot_bid,
        spot_ask=chain.spot_ask,
        strike=chain.strike[keep],
        is_call=chain.is_call[keep],
        bid=chain.bid[keep],
        ask=chain.ask[keep],
        bid_size=chain.bid_size[keep],
        ask_size=chain.ask_size[keep],
        quote_ts_ns=chain.quote_ts_ns[keep],
    )
    assert not partial.paired
    paired, source = pair_chain(partial)
    assert paired.paired
    assert len(paired) == len(chain)
    assert int((source < 0).sum()) == 3
    findings = scan_chain(partial, PARAMS)
    new_row = int(keep[:row].sum())
    assert [f.culprit for f in findings if f.rule is AnomalyKind.CROSSED_QUOTE] == [new_row]


def test_seed_rule_flags_both_contracts_of_a_jump() -> None:
    _, chain, _ = _inject(AnomalyKind.CROSSED_QUOTE)
    flags = seed_rule_flags(chain, 0.9)
    strikes, calls = chain.strike[flags], chain.is_call[flags]
    assert flags.size > 0
    assert set(flags.tolist()) <= set(range(len(chain)))
    # In-the-money neighbours differ by about the strike gap: the rule's blind spot.
    assert np.all(np.where(calls, strikes < 592.0, strikes > 588.0))
    assert seed_rule_flags(chain, 100.0).size == 0
