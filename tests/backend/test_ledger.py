"""Average-cost positions and New York daily P&L from executions (pure functions)."""

from __future__ import annotations

import datetime as dt

import pytest

from spyops.backend.ledger import apply_fill, daily_pnl, positions, trading_day
from spyops.schemas import OrderSide
from tests.backend.records import make_execution

BUY, SELL = OrderSide.BUY, OrderSide.SELL
T0 = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)


def rounded(result: tuple[int, float, float]) -> tuple[int, float, float]:
    return result[0], round(result[1], 6), round(result[2], 6)


def test_buys_average_their_cost() -> None:
    quantity, average, realized = apply_fill(0, 0.0, BUY, 2, 1.00)
    quantity, average, realized = apply_fill(quantity, average, BUY, 2, 2.00)
    assert (quantity, average, realized) == (4, 1.5, 0.0)


def test_partial_close_realizes_against_the_average_and_keeps_it() -> None:
    assert rounded(apply_fill(4, 1.5, SELL, 1, 2.0)) == (3, 1.5, 50.0)


def test_short_then_cover_at_a_loss() -> None:
    quantity, average, _ = apply_fill(0, 0.0, SELL, 3, 2.0)
    assert (quantity, average) == (-3, 2.0)
    assert rounded(apply_fill(quantity, average, BUY, 3, 2.5)) == (0, 0.0, -150.0)


def test_fill_through_zero_flips_at_the_fill_price() -> None:
    assert rounded(apply_fill(2, 1.0, SELL, 5, 1.2)) == (-3, 1.2, 40.0)


def test_positions_per_contract_with_commissions_and_deduped_fills() -> None:
    fills = [
        make_execution("a", BUY, 2, 1.00, at=T0, strike=590),
        make_execution("b", BUY, 2, 2.00, at=T0 + dt.timedelta(minutes=1), strike=590),
        make_execution("c", SELL, 1, 2.00, at=T0 + dt.timedelta(minutes=2), strike=590),
        make_execution("c", SELL, 1, 2.00, at=T0 + dt.timedelta(minutes=2), strike=590),  # reported twice
        make_execution("d", SELL, 1, 3.00, at=T0, strike=595),
        make_execution("e", BUY, 1, 2.00, at=T0 + dt.timedelta(minutes=3), strike=595),
    ]
    open_positions = positions(reversed(fills))  # order of arrival does not matter
    assert [(p.contract.strike, p.quantity, p.average_cost, p.realized_pnl) for p in open_positions] == [
        (590.0, 3, 1.5, 50.0)
    ]
    everything = positions(fills, include_flat=True)
    assert [(p.contract.strike, p.quantity, p.realized_pnl, p.commissions) for p in everything] == [
        (590.0, 3, 50.0, 1.95),
        (595.0, 0, 100.0, 1.3),
    ]


def test_daily_pnl_uses_new_york_days() -> None:
    late_evening_ny = dt.datetime(2026, 11, 21, 0, 30, tzinfo=dt.UTC)  # 19:30 on the 20th in New York
    next_day = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
    fills = [
        make_execution("a", BUY, 2, 1.00, at=T0),
        make_execution("b", SELL, 1, 1.50, at=late_evening_ny),
        make_execution("c", SELL, 1, 0.50, at=next_day),
    ]
    days = daily_pnl(fills)
    assert [(d.day, d.realized_pnl, d.commissions, d.net_pnl, d.fills, d.contracts) for d in days] == [
        (dt.date(2026, 11, 20), 50.0, 1.3, 48.7, 2, 3),
        (dt.date(2026, 11, 23), -50.0, 0.65, -50.65, 1, 1),
    ]


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        trading_day(dt.datetime(2026, 11, 20, 15, 0))
