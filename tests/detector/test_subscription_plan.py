"""The line-budget plan: strikes nearest the money, hysteresis, changes only at the edges, pacing."""

from __future__ import annotations

import pytest

from spyops.detector.pacing import TokenBucket
from spyops.detector.subscription_plan import (
    OptionKey,
    nearest_index,
    plan_change,
    plan_subscriptions,
    window_size,
)

STRIKES = tuple(float(k) for k in range(565, 616))  # 51 strikes, like the simulator


def test_window_fits_the_budget_the_window_and_the_listing() -> None:
    assert window_size(51, 100, 24) == 49  # 1 + 2 * 49 = 99 lines
    assert window_size(51, 100, 10) == 21
    assert window_size(51, 41, 24) == 20  # 1 + 40 lines
    assert window_size(51, 42, 24) == 20  # a spare line cannot hold a whole strike
    assert window_size(7, 100, 24) == 7
    with pytest.raises(ValueError, match="max_market_data_lines=2"):
        window_size(51, 2, 24)


def test_plan_is_centred_on_the_money_and_never_over_budget() -> None:
    for budget in (3, 4, 41, 99, 100, 250):
        for spot in (560.0, 590.4, 590.6, 612.0, 700.0):
            plan = plan_subscriptions(STRIKES, spot, max_lines=budget, strike_window=24)
            assert plan.lines <= budget
            assert plan.strikes == STRIKES[plan.lo : plan.hi]
            assert len(plan.contracts) == 2 * len(plan.strikes)
    plan = plan_subscriptions(STRIKES, 590.4, max_lines=41, strike_window=24)
    assert plan.strikes[0] == 581.0
    assert plan.strikes[-1] == 600.0
    assert STRIKES[plan.center] == 590.0
    edge = plan_subscriptions(STRIKES, 566.0, max_lines=41, strike_window=24)
    assert edge.strikes[0] == 565.0
    assert len(edge.strikes) == 20


def test_hysteresis_keeps_the_plan_until_the_money_moves_two_strikes() -> None:
    plan = plan_subscriptions(STRIKES, 590.0, max_lines=41, strike_window=24)
    for spot in (590.4, 590.6, 591.4, 589.0, 588.6):
        assert plan_subscriptions(STRIKES, spot, max_lines=41, strike_window=24, current=plan) is plan
    moved = plan_subscriptions(STRIKES, 592.0, max_lines=41, strike_window=24, current=plan)
    assert moved is not plan
    assert STRIKES[moved.center] == 592.0
    change = plan_change(plan.contracts, moved, 592.0)
    # Only the edges change: two strikes (four contracts) out at the bottom, two in at the top.
    assert {k.strike for k in change.cancel} == {581.0, 582.0}
    assert {k.strike for k in change.request} == {601.0, 602.0}
    assert change.request[0].strike == 601.0  # nearest the money first
    assert change.cancel[0].strike == 581.0  # furthest first


def test_a_changed_budget_replans_even_without_a_move() -> None:
    plan = plan_subscriptions(STRIKES, 590.0, max_lines=100, strike_window=24)
    smaller = plan_subscriptions(STRIKES, 590.0, max_lines=41, strike_window=24, current=plan)
    assert len(smaller.strikes) == 20
    change = plan_change(plan.contracts, smaller, 590.0)
    assert not change.request
    assert len(change.cancel) == 2 * (49 - 20)
    assert plan_change(smaller.contracts, smaller, 590.0).empty


def test_nearest_index_and_bad_listings() -> None:
    assert nearest_index(STRIKES, 590.5) == STRIKES.index(590.0)  # a tie goes down
    assert nearest_index(STRIKES, 590.51) == STRIKES.index(591.0)
    assert nearest_index(STRIKES, 1.0) == 0
    assert nearest_index(STRIKES, 1e6) == len(STRIKES) - 1
    with pytest.raises(ValueError, match="no listed strikes"):
        nearest_index((), 590.0)
    with pytest.raises(ValueError, match="sorted ascending"):
        plan_subscriptions((590.0, 589.0), 590.0, max_lines=10, strike_window=2)
    assert OptionKey(590.0, True) < OptionKey(591.0, False)


def test_token_bucket_paces_to_its_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(40.0, burst=5.0, clock=lambda: now[0])
    assert [bucket.try_take() for _ in range(5)] == [0.0] * 5
    wait = bucket.try_take()
    assert wait == pytest.approx(1 / 40)
    taken = 5
    # Over ten simulated seconds, never more than burst + rate * elapsed tokens.
    while now[0] < 10.0:
        now[0] += 0.001
        if bucket.try_take() == 0.0:
            taken += 1
        assert taken <= 5 + 40 * now[0] + 1e-9
    assert taken >= 5 + 40 * 10 - 1
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(0)
