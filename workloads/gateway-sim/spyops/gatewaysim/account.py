"""The paper account: cash, positions and P&L booked from fills. Pure, no I/O.

Conventions follow IB's reports: a position's ``avg_cost`` is per contract including the
multiplier and the commissions paid to open it (for a short, the premium received net of
them); realized P&L of a closing execution is
net of the commissions of both the opening (through avg_cost) and the closing trade.
Margin is a documented simplification: long options need their premium, short options
20% of the underlying's notional.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

STARTING_CASH: Final = 1_000_000.0  # IB paper accounts start with USD 1,000,000
SHORT_OPTION_MARGIN_RATE: Final = 0.20


@dataclass(slots=True)
class Position:
    con_id: int
    quantity: int = 0  # signed contracts
    avg_cost: float = 0.0  # dollars per contract (price x multiplier + commission share)
    realized_pnl: float = 0.0


@dataclass(frozen=True, slots=True)
class Booking:
    """What one execution did to the account."""

    realized_pnl: float | None  # None when the execution only opened or added to a position
    position: Position


@dataclass(slots=True)
class AccountBook:
    account: str
    cash: float = STARTING_CASH
    realized_pnl: float = 0.0
    commissions: float = 0.0
    positions: dict[int, Position] = field(default_factory=dict)

    def book(
        self, *, con_id: int, side: str, quantity: int, price: float, multiplier: int, commission: float
    ) -> Booking:
        if quantity <= 0:
            raise ValueError(f"execution quantity must be positive, got {quantity}")
        if side not in ("BUY", "SELL"):
            raise ValueError(f"execution side must be BUY or SELL, got {side!r}")
        signed = quantity if side == "BUY" else -quantity
        notional = price * multiplier * quantity
        self.cash += -notional if side == "BUY" else notional
        self.cash -= commission
        self.commissions += commission
        position = self.positions.setdefault(con_id, Position(con_id=con_id))
        realized: float | None = None
        same_direction = position.quantity == 0 or (position.quantity > 0) == (signed > 0)
        # A long's average cost includes its commissions; a short's average is what it
        # received net of them.
        fee = commission if side == "BUY" else -commission
        if same_direction:
            total_cost = position.avg_cost * abs(position.quantity) + price * multiplier * quantity + fee
            position.quantity += signed
            position.avg_cost = total_cost / abs(position.quantity)
        else:
            closing = min(quantity, abs(position.quantity))
            opening = quantity - closing
            closing_commission = commission * closing / quantity
            if position.quantity > 0:  # selling out of a long
                realized = closing * (price * multiplier - position.avg_cost) - closing_commission
            else:  # buying back a short
                realized = closing * (position.avg_cost - price * multiplier) - closing_commission
            position.quantity += closing if signed > 0 else -closing
            if position.quantity == 0:
                position.avg_cost = 0.0
            if opening:
                position.quantity = opening if signed > 0 else -opening
                opening_fee = (commission - closing_commission) * (1 if side == "BUY" else -1)
                position.avg_cost = (price * multiplier * opening + opening_fee) / opening
            position.realized_pnl += realized
            self.realized_pnl += realized
        return Booking(realized_pnl=None if realized is None else round(realized, 2), position=position)

    def market_value(self, con_id: int, mark: float, multiplier: int) -> float:
        position = self.positions.get(con_id)
        return 0.0 if position is None else position.quantity * mark * multiplier

    def unrealized_pnl(self, marks: Mapping[int, float], multiplier_of: Callable[[int], int]) -> float:
        total = 0.0
        for position in self.positions.values():
            if position.quantity == 0 or position.con_id not in marks:
                continue
            value = position.quantity * marks[position.con_id] * multiplier_of(position.con_id)
            total += value - position.quantity * position.avg_cost
        return total

    def summary(
        self,
        marks: Mapping[int, float],
        multiplier_of: Callable[[int], int],
        underlying_price: float,
    ) -> dict[str, float]:
        """Account values by IB tag name (all in USD)."""
        long_value = 0.0
        short_value = 0.0
        margin = 0.0
        for position in self.positions.values():
            if position.quantity == 0:
                continue
            mark = marks.get(position.con_id, position.avg_cost / max(multiplier_of(position.con_id), 1))
            value = position.quantity * mark * multiplier_of(position.con_id)
            if position.quantity > 0:
                long_value += value
            else:
                short_value += value
                margin += (
                    SHORT_OPTION_MARGIN_RATE
                    * underlying_price
                    * multiplier_of(position.con_id)
                    * abs(position.quantity)
                )
        net_liquidation = self.cash + long_value + short_value
        unrealized = self.unrealized_pnl(marks, multiplier_of)
        available = net_liquidation - margin
        return {
            "NetLiquidation": net_liquidation,
            "TotalCashValue": self.cash,
            "SettledCash": self.cash,
            "AccruedCash": 0.0,
            "BuyingPower": max(available, 0.0) * 4,
            "EquityWithLoanValue": net_liquidation,
            "PreviousDayEquityWithLoanValue": STARTING_CASH,
            "GrossPositionValue": long_value - short_value,
            "RegTEquity": net_liquidation,
            "RegTMargin": margin,
            "SMA": max(available, 0.0),
            "InitMarginReq": margin,
            "MaintMarginReq": margin,
            "AvailableFunds": available,
            "ExcessLiquidity": available,
            "Cushion": available / net_liquidation if net_liquidation else 0.0,
            "FullInitMarginReq": margin,
            "FullMaintMarginReq": margin,
            "FullAvailableFunds": available,
            "FullExcessLiquidity": available,
            "RealizedPnL": self.realized_pnl,
            "UnrealizedPnL": unrealized,
        }
