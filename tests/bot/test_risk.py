"""Every risk limit and every trading state, table-driven: the order is denied with its reason."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from spyops.bot.risk import (
    DenyReason,
    OrderProposal,
    Quote,
    RiskInput,
    RiskState,
    evaluate,
    reduces_exposure,
    units_within_limits,
)
from spyops.schemas import OrderSide, RiskLimits, TradingHours, TradingState

C1 = "SPY 2026-11-20 590.00 C"
C2 = "SPY 2026-11-20 591.00 C"
NOON_ET = dt.datetime(2026, 11, 20, 17, 0, tzinfo=dt.UTC)  # 12:00 New York

LIMITS = RiskLimits(
    max_open_positions=2,
    max_contracts_per_order=5,
    max_notional_per_order=1_000.0,
    max_daily_loss=500.0,
    max_orders_per_minute=10,
    max_messages_per_second=20,
    trading_hours=TradingHours(timezone="America/New_York", start=dt.time(9, 30), end=dt.time(15, 55)),
)
GOOD_QUOTES = {
    C1: Quote(bid=1.00, ask=1.10, age_seconds=0.05),
    C2: Quote(bid=0.50, ask=0.60, age_seconds=0.05),
}


def buy(contract: str = C1, qty: int = 1, price: float = 1.10) -> OrderProposal:
    return OrderProposal(contract=contract, side=OrderSide.BUY, quantity=qty, limit_price=price)


def sell(contract: str = C1, qty: int = 1, price: float = 1.00) -> OrderProposal:
    return OrderProposal(contract=contract, side=OrderSide.SELL, quantity=qty, limit_price=price)


def base(**changes: object) -> RiskInput:
    inp = RiskInput(
        orders=[buy()],
        state=RiskState(),
        limits=LIMITS,
        trading_state=TradingState.ACTIVE,
        now=NOON_ET,
        quotes=GOOD_QUOTES,
        max_quote_age_seconds=2.0,
        cooldown_seconds=1.0,
    )
    return dataclasses.replace(inp, **changes)  # type: ignore[arg-type]


CASES: list[tuple[str, RiskInput, DenyReason | None]] = [
    ("a plain order within every limit", base(), None),
    ("HALTED refuses everything", base(trading_state=TradingState.HALTED), DenyReason.HALTED),
    (
        "HALTED refuses even a closing order",
        base(trading_state=TradingState.HALTED, orders=[sell()], state=RiskState(positions={C1: 1})),
        DenyReason.HALTED,
    ),
    (
        "REDUCING refuses an opening order",
        base(trading_state=TradingState.REDUCING),
        DenyReason.REDUCING_ONLY,
    ),
    (
        "REDUCING lets a closing order through",
        base(trading_state=TradingState.REDUCING, orders=[sell()], state=RiskState(positions={C1: 1})),
        None,
    ),
    (
        "REDUCING refuses an order that flips the position",
        base(trading_state=TradingState.REDUCING, orders=[sell(qty=2)], state=RiskState(positions={C1: 1})),
        DenyReason.REDUCING_ONLY,
    ),
    (
        "REDUCING refuses a signal where only one leg reduces",
        base(
            trading_state=TradingState.REDUCING,
            orders=[sell(), buy(C2, price=0.60)],
            state=RiskState(positions={C1: 1}),
        ),
        DenyReason.REDUCING_ONLY,
    ),
    (
        "REDUCING counts working orders: a second close of the same contract is refused",
        base(
            trading_state=TradingState.REDUCING,
            orders=[sell()],
            state=RiskState(positions={C1: 1}, working={C1: -1}),
        ),
        DenyReason.REDUCING_ONLY,
    ),
    ("a zero limit price", base(orders=[buy(price=0.0)]), DenyReason.INVALID_PRICE),
    ("max contracts per order", base(orders=[buy(qty=6, price=0.5)]), DenyReason.MAX_CONTRACTS_PER_ORDER),
    ("max contracts per order, at the limit", base(orders=[buy(qty=5, price=0.5)]), None),
    ("max notional per order", base(orders=[buy(qty=5, price=2.10)]), DenyReason.MAX_NOTIONAL_PER_ORDER),
    ("max notional per order, at the limit", base(orders=[buy(qty=5, price=2.00)]), None),
    ("max daily loss reached", base(state=RiskState(daily_pnl=-500.0)), DenyReason.MAX_DAILY_LOSS),
    ("max daily loss not yet reached", base(state=RiskState(daily_pnl=-499.99)), None),
    (
        "max daily loss still lets a closing order through",
        base(orders=[sell()], state=RiskState(daily_pnl=-800.0, positions={C1: 1})),
        None,
    ),
    (
        "max open positions",
        base(orders=[buy(C2, price=0.6)], state=RiskState(positions={C1: 1, "SPY 2026-11-20 592.00 C": 1})),
        DenyReason.MAX_OPEN_POSITIONS,
    ),
    (
        "max open positions counts working orders",
        base(orders=[buy(C2, price=0.6)], state=RiskState(working={C1: 1, "SPY 2026-11-20 592.00 C": -1})),
        DenyReason.MAX_OPEN_POSITIONS,
    ),
    (
        "max open positions allows adding to a held contract",
        base(orders=[buy(C1)], state=RiskState(positions={C1: 1, C2: 1})),
        None,
    ),
    (
        "before the session opens",
        base(now=dt.datetime(2026, 11, 20, 14, 29, tzinfo=dt.UTC)),
        DenyReason.OUTSIDE_TRADING_HOURS,
    ),
    (
        "after the trading window ends",
        base(now=dt.datetime(2026, 11, 20, 20, 55, tzinfo=dt.UTC)),
        DenyReason.OUTSIDE_TRADING_HOURS,
    ),
    ("at the opening minute", base(now=dt.datetime(2026, 11, 20, 14, 30, tzinfo=dt.UTC)), None),
    ("no quote for the leg", base(quotes={}), DenyReason.QUOTE_MISSING),
    (
        "a one-sided quote",
        base(quotes={C1: Quote(bid=0.0, ask=1.1, age_seconds=0.0)}),
        DenyReason.QUOTE_MISSING,
    ),
    (
        "a crossed market",
        base(quotes={C1: Quote(bid=1.2, ask=1.1, age_seconds=0.0)}),
        DenyReason.QUOTE_CROSSED,
    ),
    ("a stale quote", base(quotes={C1: Quote(bid=1.0, ask=1.1, age_seconds=2.5)}), DenyReason.QUOTE_STALE),
    (
        "cooldown per contract",
        base(state=RiskState(seconds_since_last_order={C1: 0.4})),
        DenyReason.COOLDOWN,
    ),
    ("cooldown elapsed", base(state=RiskState(seconds_since_last_order={C1: 1.5})), None),
    ("max orders per minute", base(state=RiskState(orders_last_minute=10)), DenyReason.MAX_ORDERS_PER_MINUTE),
    (
        "max orders per minute counts every leg",
        base(orders=[buy(), buy(C2, price=0.6)], state=RiskState(orders_last_minute=9)),
        DenyReason.MAX_ORDERS_PER_MINUTE,
    ),
    (
        "gateway message budget",
        base(state=RiskState(messages_last_second=20)),
        DenyReason.MESSAGE_BUDGET,
    ),
    ("gateway message budget with room", base(state=RiskState(messages_last_second=19)), None),
]


@pytest.mark.parametrize(("case", "inp", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_limit_denies_with_its_reason(case: str, inp: RiskInput, expected: DenyReason | None) -> None:
    decision = evaluate(inp)
    if expected is None:
        assert decision.allowed, f"{case}: denied with {decision.reason}: {decision.detail}"
    else:
        assert not decision.allowed, f"{case}: should be denied"
        assert decision.reason is expected, f"{case}: {decision.reason} ({decision.detail})"
        assert decision.detail


def test_every_reason_is_covered_by_the_table() -> None:
    covered = {expected for _, _, expected in CASES if expected is not None}
    assert covered == set(DenyReason)


def test_a_signal_is_denied_whole_when_one_leg_breaks_a_limit() -> None:
    decision = evaluate(base(orders=[buy(), buy(C2, qty=6, price=0.1)]))
    assert decision.reason is DenyReason.MAX_CONTRACTS_PER_ORDER


def test_no_orders_is_never_allowed() -> None:
    assert not evaluate(base(orders=[])).allowed


@pytest.mark.parametrize(
    ("position", "order", "expected"),
    [
        (2, sell(qty=2), True),
        (2, sell(qty=3), False),
        (-1, buy(qty=1), True),
        (-1, sell(qty=1), False),
        (0, buy(qty=1), False),
        (0, sell(qty=1), False),
    ],
)
def test_reduces_exposure(position: int, order: OrderProposal, expected: bool) -> None:
    assert reduces_exposure(position, order) is expected


@pytest.mark.parametrize(
    ("suggested", "legs", "expected"),
    [
        (143, [(1, 1.10)], 5),  # max contracts per order (5)
        (3, [(1, 1.10)], 3),  # the suggestion fits
        (143, [(1, 0.50), (2, 0.40)], 2),  # a ratio-2 leg: 5 // 2
        (143, [(1, 4.00)], 2),  # notional: 1000 // 400
        (1, [(1, 30.00)], 1),  # even one unit is too big: 1, and evaluate() denies it
    ],
)
def test_units_are_cut_to_fit_the_per_order_limits(
    suggested: int, legs: list[tuple[int, float]], expected: int
) -> None:
    assert units_within_limits(suggested, legs, LIMITS) == expected
