"""Positions and P&L from fills and marks: pure, so the numbers can be checked by hand.

Average-cost accounting per contract: a fill that adds to a position moves its
average price; a fill that reduces it realizes (fill - average) x quantity x 100
(sign by side). Commissions are subtracted from realized P&L. Unrealized P&L marks
each open position at the mid of its latest quote (the fill price until one comes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from spyops.schemas import OrderSide

MULTIPLIER = 100


@dataclass(frozen=True, slots=True)
class Fill:
    exec_id: str
    contract: str
    side: OrderSide
    quantity: int
    price: float
    commission: float
    time: dt.datetime


@dataclass(slots=True)
class Position:
    quantity: int = 0  # signed contracts
    average_price: float = 0.0  # per share


@dataclass(slots=True)
class Portfolio:
    positions: dict[str, Position] = field(default_factory=dict)
    realized_pnl: float = 0.0
    commissions: float = 0.0
    fills: int = 0
    _seen: set[str] = field(default_factory=set)

    def apply(self, fill: Fill) -> bool:
        """Book one fill; False (and no change) when this execId was already booked."""
        if fill.exec_id in self._seen:
            return False
        self._seen.add(fill.exec_id)
        self.fills += 1
        self.commissions += fill.commission
        self.realized_pnl -= fill.commission
        position = self.positions.setdefault(fill.contract, Position())
        signed = fill.quantity if fill.side is OrderSide.BUY else -fill.quantity
        if position.quantity == 0 or (position.quantity > 0) == (signed > 0):
            total = position.quantity + signed
            position.average_price = (
                abs(position.quantity) * position.average_price + abs(signed) * fill.price
            ) / abs(total)
            position.quantity = total
        else:
            closing = min(abs(signed), abs(position.quantity))
            direction = 1 if position.quantity > 0 else -1
            self.realized_pnl += (fill.price - position.average_price) * closing * MULTIPLIER * direction
            position.quantity += signed
            if position.quantity == 0:
                position.average_price = 0.0
            elif (position.quantity > 0) != (direction > 0):
                # Flipped through zero: the remainder opened at the fill price.
                position.average_price = fill.price
        if position.quantity == 0:
            del self.positions[fill.contract]
        return True

    def add_commission(self, amount: float) -> None:
        """A commission reported after its fill was booked."""
        self.commissions += amount
        self.realized_pnl -= amount

    def signed_positions(self) -> dict[str, int]:
        return {contract: p.quantity for contract, p in self.positions.items() if p.quantity}

    @property
    def open_positions(self) -> int:
        return sum(1 for p in self.positions.values() if p.quantity)

    def unrealized_pnl(self, marks: Mapping[str, float]) -> float:
        total = 0.0
        for contract, position in self.positions.items():
            mark = marks.get(contract, position.average_price)
            total += (mark - position.average_price) * position.quantity * MULTIPLIER
        return total

    def daily_pnl(self, marks: Mapping[str, float]) -> float:
        return self.realized_pnl + self.unrealized_pnl(marks)


def portfolio_from(fills: Iterable[Fill]) -> Portfolio:
    """Rebuild the portfolio from fills in time order (what a restart does from the journal)."""
    portfolio = Portfolio()
    for fill in sorted(fills, key=lambda f: (f.time, f.exec_id)):
        portfolio.apply(fill)
    return portfolio
