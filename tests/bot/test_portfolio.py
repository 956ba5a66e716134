"""Positions and P&L by hand-checkable examples."""

from __future__ import annotations

import datetime as dt

import pytest

from spyops.bot.portfolio import Fill, Portfolio, portfolio_from
from spyops.schemas import OrderSide

T = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)
C = "SPY 2026-11-20 590.00 C"


def fill(n: int, side: OrderSide, qty: int, price: float, commission: float = 0.0) -> Fill:
    return Fill(f"e{n}", C, side, qty, price, commission, T + dt.timedelta(seconds=n))


def test_round_trip_realizes_the_difference_less_commissions() -> None:
    p = Portfolio()
    p.apply(fill(1, OrderSide.BUY, 2, 1.00, 1.30))
    p.apply(fill(2, OrderSide.BUY, 2, 1.20, 1.30))
    assert p.positions[C].quantity == 4
    assert p.positions[C].average_price == pytest.approx(1.10)
    p.apply(fill(3, OrderSide.SELL, 4, 1.50, 2.60))
    assert p.open_positions == 0
    assert p.realized_pnl == pytest.approx((1.50 - 1.10) * 4 * 100 - 5.20)


def test_short_position_and_marks() -> None:
    p = Portfolio()
    p.apply(fill(1, OrderSide.SELL, 3, 2.00))
    assert p.signed_positions() == {C: -3}
    assert p.unrealized_pnl({C: 1.50}) == pytest.approx(150.0)
    assert p.daily_pnl({C: 2.50}) == pytest.approx(-150.0)
    p.apply(fill(2, OrderSide.BUY, 1, 1.00))
    assert p.realized_pnl == pytest.approx(100.0)
    assert p.signed_positions() == {C: -2}


def test_flip_through_zero_opens_at_the_fill_price() -> None:
    p = Portfolio()
    p.apply(fill(1, OrderSide.BUY, 1, 1.00))
    p.apply(fill(2, OrderSide.SELL, 3, 1.40))
    assert p.realized_pnl == pytest.approx(40.0)
    assert p.positions[C].quantity == -2
    assert p.positions[C].average_price == pytest.approx(1.40)


def test_a_fill_is_booked_once_and_rebuild_is_order_independent() -> None:
    fills = [fill(1, OrderSide.BUY, 2, 1.0, 1.3), fill(2, OrderSide.SELL, 1, 1.5, 0.65)]
    p = Portfolio()
    assert p.apply(fills[0])
    assert not p.apply(fills[0])
    rebuilt = portfolio_from(reversed(fills))
    assert rebuilt.realized_pnl == pytest.approx(50.0 - 1.95)
    assert rebuilt.fills == 2
    rebuilt.add_commission(0.5)
    assert rebuilt.realized_pnl == pytest.approx(50.0 - 2.45)
