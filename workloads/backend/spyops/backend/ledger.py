"""Positions and daily P&L derived from executions: pure functions, average-cost accounting.

Rules:
- A fill that adds to a position (or opens one) moves the average cost to the size-weighted
  mean of the old average and the fill price.
- A fill that reduces a position realizes (fill - average) x quantity x multiplier for a long,
  (average - fill) x ... for a short; the average cost of what is left does not change.
- A fill larger than the position closes it and opens the remainder on the other side at the
  fill price.
- Commissions are costs of the day they are paid on; net P&L = realized - commissions.
- Days are trading days in America/New_York (a 0DTE session's date).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from spyops.schemas import Execution, OptionContract, OrderSide

CONTRACT_MULTIPLIER = 100
TRADING_TZ = ZoneInfo("America/New_York")


@dataclass(frozen=True)
class Position:
    contract: OptionContract
    quantity: int  # signed: positive long, negative short
    average_cost: float  # per share, of the open quantity; 0 when flat
    realized_pnl: float  # dollars, gross of commissions, over the position's whole history
    commissions: float
    last_fill: dt.datetime


@dataclass(frozen=True)
class DailyPnl:
    day: dt.date
    realized_pnl: float
    commissions: float
    net_pnl: float
    fills: int
    contracts: int


@dataclass
class _Book:
    quantity: int = 0
    average_cost: float = 0.0
    realized: float = 0.0
    commissions: float = 0.0
    last_fill: dt.datetime | None = None


def apply_fill(
    quantity: int, average_cost: float, side: OrderSide, fill_qty: int, price: float
) -> tuple[int, float, float]:
    """One fill against one contract's position: (new quantity, new average cost, realized dollars)."""
    signed = fill_qty if side is OrderSide.BUY else -fill_qty
    if quantity == 0 or (quantity > 0) == (signed > 0):
        new_quantity = quantity + signed
        new_average = (abs(quantity) * average_cost + fill_qty * price) / abs(new_quantity)
        return new_quantity, new_average, 0.0
    closing = min(abs(quantity), fill_qty)
    direction = 1 if quantity > 0 else -1
    realized = (price - average_cost) * closing * direction * CONTRACT_MULTIPLIER
    new_quantity = quantity + signed
    if new_quantity == 0:
        return 0, 0.0, realized
    if (new_quantity > 0) == (quantity > 0):
        return new_quantity, average_cost, realized
    return new_quantity, price, realized  # flipped: the remainder opened at the fill price


def _chronological(executions: Iterable[Execution]) -> list[Execution]:
    unique = {e.id: e for e in executions}  # the same fill reported twice counts once
    return sorted(unique.values(), key=lambda e: (e.time, e.id))


def positions(executions: Iterable[Execution], *, include_flat: bool = False) -> list[Position]:
    """Current position per contract, ordered by contract key."""
    books: dict[str, _Book] = {}
    contracts: dict[str, OptionContract] = {}
    for fill in _chronological(executions):
        key = fill.contract.key
        contracts[key] = fill.contract
        book = books.setdefault(key, _Book())
        book.quantity, book.average_cost, realized = apply_fill(
            book.quantity, book.average_cost, fill.side, fill.quantity, fill.price
        )
        book.realized += realized
        book.commissions += fill.commission
        book.last_fill = fill.time
    result = []
    for key in sorted(books):
        book = books[key]
        if book.quantity == 0 and not include_flat:
            continue
        assert book.last_fill is not None
        result.append(
            Position(
                contract=contracts[key],
                quantity=book.quantity,
                average_cost=round(book.average_cost, 6),
                realized_pnl=round(book.realized, 2),
                commissions=round(book.commissions, 2),
                last_fill=book.last_fill,
            )
        )
    return result


def trading_day(moment: dt.datetime) -> dt.date:
    if moment.tzinfo is None:
        raise ValueError("execution times must carry a timezone")
    return moment.astimezone(TRADING_TZ).date()


def daily_pnl(executions: Iterable[Execution]) -> list[DailyPnl]:
    """Realized P&L per America/New_York day, oldest first; a day appears when it has fills."""
    books: dict[str, tuple[int, float]] = {}
    days: dict[dt.date, list[float]] = {}  # day -> [realized, commissions, fills, contracts]
    for fill in _chronological(executions):
        quantity, average = books.get(fill.contract.key, (0, 0.0))
        quantity, average, realized = apply_fill(quantity, average, fill.side, fill.quantity, fill.price)
        books[fill.contract.key] = (quantity, average)
        totals = days.setdefault(trading_day(fill.time), [0.0, 0.0, 0.0, 0.0])
        totals[0] += realized
        totals[1] += fill.commission
        totals[2] += 1
        totals[3] += fill.quantity
    return [
        DailyPnl(
            day=day,
            realized_pnl=round(realized, 2),
            commissions=round(commissions, 2),
            net_pnl=round(realized - commissions, 2),
            fills=int(fills),
            contracts=int(contracts),
        )
        for day, (realized, commissions, fills, contracts) in sorted(days.items())
    ]
