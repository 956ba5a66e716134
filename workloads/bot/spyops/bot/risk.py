"""Pre-trade risk checks: pure functions, run on every order before it may be sent.

Each check takes one :class:`RiskInput` (the proposed orders of one signal, the
portfolio and rate state, the limits, the clock and the quotes) and returns
:data:`ALLOW` or a :class:`Decision` with a :class:`DenyReason`. :func:`evaluate`
runs them in a fixed order and returns the first denial. The legs of one signal
are checked together, so a signal is either allowed whole or denied whole: a
denial never leaves half a trade behind.

Nothing here does I/O or reads a clock; the caller passes ``now``. That is what
makes every limit testable table-driven.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from spyops.schemas import OrderSide, RiskLimits, TradingHours, TradingState

CONTRACT_MULTIPLIER = 100


class DenyReason(StrEnum):
    """Why an order was refused; used as the ``reason`` label of the denial metric."""

    HALTED = "halted"
    REDUCING_ONLY = "reducing_only"
    MAX_OPEN_POSITIONS = "max_open_positions"
    MAX_CONTRACTS_PER_ORDER = "max_contracts_per_order"
    MAX_NOTIONAL_PER_ORDER = "max_notional_per_order"
    MAX_DAILY_LOSS = "max_daily_loss"
    MAX_ORDERS_PER_MINUTE = "max_orders_per_minute"
    MESSAGE_BUDGET = "message_budget"
    OUTSIDE_TRADING_HOURS = "outside_trading_hours"
    QUOTE_MISSING = "quote_missing"
    QUOTE_CROSSED = "quote_crossed"
    QUOTE_STALE = "quote_stale"
    INVALID_PRICE = "invalid_price"
    COOLDOWN = "cooldown"


@dataclass(frozen=True, slots=True)
class OrderProposal:
    """One order the bot would send (one leg of a signal)."""

    contract: str  # OptionContract.key
    side: OrderSide
    quantity: int
    limit_price: float

    @property
    def signed_quantity(self) -> int:
        return self.quantity if self.side is OrderSide.BUY else -self.quantity

    @property
    def notional(self) -> float:
        return abs(self.limit_price) * CONTRACT_MULTIPLIER * self.quantity


@dataclass(frozen=True, slots=True)
class Quote:
    """Top of book for one contract as the bot last saw it; age in seconds at decision time."""

    bid: float
    ask: float
    age_seconds: float


@dataclass(frozen=True, slots=True)
class RiskState:
    """What the portfolio and the rate counters say right now."""

    positions: Mapping[str, int] = field(default_factory=dict)  # contract -> signed contracts
    working: Mapping[str, int] = field(default_factory=dict)  # contract -> signed unfilled quantity
    daily_pnl: float = 0.0  # realized + marked-to-market, dollars
    orders_last_minute: int = 0
    messages_last_second: int = 0
    seconds_since_last_order: Mapping[str, float] = field(default_factory=dict)  # contract -> seconds


@dataclass(frozen=True, slots=True)
class RiskInput:
    orders: Sequence[OrderProposal]
    state: RiskState
    limits: RiskLimits
    trading_state: TradingState
    now: dt.datetime  # timezone-aware
    quotes: Mapping[str, Quote]
    max_quote_age_seconds: float
    cooldown_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: DenyReason | None = None
    detail: str = ""


ALLOW = Decision(True)


def deny(reason: DenyReason, detail: str) -> Decision:
    return Decision(False, reason, detail)


def units_within_limits(suggested: int, legs: Sequence[tuple[int, float]], limits: RiskLimits) -> int:
    """How many units of a trade to send: the detector's suggestion, cut to fit the per-order limits.

    ``legs`` holds (ratio, limit price) per leg. The detector sizes to the displayed quote
    sizes; the bot never asks for more than one order may carry. At least 1 is returned, so
    a trade whose single unit breaks a limit is still denied by :func:`evaluate`, with its reason.
    """
    units = suggested
    for ratio, price in legs:
        units = min(units, limits.max_contracts_per_order // ratio)
        per_unit = abs(price) * CONTRACT_MULTIPLIER * ratio
        if per_unit > 0:
            units = min(units, int(limits.max_notional_per_order // per_unit))
    return max(1, units)


def reduces_exposure(position: int, order: OrderProposal) -> bool:
    """True when the order only shrinks an existing position (never flips or opens one)."""
    if position > 0:
        return order.side is OrderSide.SELL and order.quantity <= position
    if position < 0:
        return order.side is OrderSide.BUY and order.quantity <= -position
    return False


def _all_reduce(inp: RiskInput) -> bool:
    # Legs are applied in turn, so two legs on one contract cannot together overshoot.
    projected = dict(inp.state.positions)
    for order in inp.orders:
        position = projected.get(order.contract, 0) + inp.state.working.get(order.contract, 0)
        if not reduces_exposure(position, order):
            return False
        projected[order.contract] = projected.get(order.contract, 0) + order.signed_quantity
    return True


def check_trading_state(inp: RiskInput) -> Decision:
    if inp.trading_state is TradingState.HALTED:
        return deny(DenyReason.HALTED, "trading state is HALTED: no new orders")
    if inp.trading_state is TradingState.REDUCING and not _all_reduce(inp):
        return deny(DenyReason.REDUCING_ONLY, "trading state is REDUCING: only exposure-reducing orders")
    return ALLOW


def check_price(inp: RiskInput) -> Decision:
    for order in inp.orders:
        if not order.limit_price > 0 or order.quantity <= 0:
            return deny(
                DenyReason.INVALID_PRICE,
                f"{order.contract}: limit {order.limit_price} x {order.quantity} is not a valid order",
            )
    return ALLOW


def check_contracts_per_order(inp: RiskInput) -> Decision:
    for order in inp.orders:
        if order.quantity > inp.limits.max_contracts_per_order:
            return deny(
                DenyReason.MAX_CONTRACTS_PER_ORDER,
                f"{order.contract}: {order.quantity} contracts > {inp.limits.max_contracts_per_order}",
            )
    return ALLOW


def check_notional_per_order(inp: RiskInput) -> Decision:
    for order in inp.orders:
        if order.notional > inp.limits.max_notional_per_order:
            return deny(
                DenyReason.MAX_NOTIONAL_PER_ORDER,
                f"{order.contract}: notional ${order.notional:,.2f} > ${inp.limits.max_notional_per_order:,.2f}",
            )
    return ALLOW


def check_open_positions(inp: RiskInput) -> Decision:
    exposure: dict[str, int] = {}
    for contract in set(inp.state.positions) | set(inp.state.working):
        exposure[contract] = inp.state.positions.get(contract, 0) + inp.state.working.get(contract, 0)
    before = sum(1 for qty in exposure.values() if qty != 0)
    for order in inp.orders:
        exposure[order.contract] = exposure.get(order.contract, 0) + order.signed_quantity
    after = sum(1 for qty in exposure.values() if qty != 0)
    if after > inp.limits.max_open_positions and after > before:
        return deny(
            DenyReason.MAX_OPEN_POSITIONS,
            f"{after} open positions (with working orders) > {inp.limits.max_open_positions}",
        )
    return ALLOW


def check_daily_loss(inp: RiskInput) -> Decision:
    # Once the loss limit is reached only exposure-reducing orders may go out.
    if inp.state.daily_pnl <= -inp.limits.max_daily_loss and not _all_reduce(inp):
        return deny(
            DenyReason.MAX_DAILY_LOSS,
            f"daily P&L ${inp.state.daily_pnl:,.2f} is at or beyond -${inp.limits.max_daily_loss:,.2f}",
        )
    return ALLOW


def check_order_rate(inp: RiskInput) -> Decision:
    if inp.state.orders_last_minute + len(inp.orders) > inp.limits.max_orders_per_minute:
        return deny(
            DenyReason.MAX_ORDERS_PER_MINUTE,
            f"{inp.state.orders_last_minute} orders in the last minute + {len(inp.orders)} "
            f"> {inp.limits.max_orders_per_minute}",
        )
    return ALLOW


def check_message_budget(inp: RiskInput) -> Decision:
    if inp.state.messages_last_second + len(inp.orders) > inp.limits.max_messages_per_second:
        return deny(
            DenyReason.MESSAGE_BUDGET,
            f"{inp.state.messages_last_second} gateway messages in the last second + {len(inp.orders)} "
            f"> {inp.limits.max_messages_per_second}",
        )
    return ALLOW


@lru_cache(maxsize=8)
def zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def within_trading_hours(hours: TradingHours, now: dt.datetime) -> bool:
    # Time of day only: the session calendar (weekends, holidays) is the gateway's to enforce.
    return hours.start <= now.astimezone(zone(hours.timezone)).time() < hours.end


def check_trading_hours(inp: RiskInput) -> Decision:
    hours = inp.limits.trading_hours
    local = inp.now.astimezone(zone(hours.timezone))
    if not within_trading_hours(hours, inp.now):
        return deny(
            DenyReason.OUTSIDE_TRADING_HOURS,
            f"{local:%H:%M:%S} {hours.timezone} is outside {hours.start:%H:%M}-{hours.end:%H:%M}",
        )
    return ALLOW


def check_quotes(inp: RiskInput) -> Decision:
    for order in inp.orders:
        quote = inp.quotes.get(order.contract)
        if quote is None or quote.bid <= 0 or quote.ask <= 0:
            return deny(DenyReason.QUOTE_MISSING, f"{order.contract}: no two-sided quote")
        if quote.bid > quote.ask:
            return deny(
                DenyReason.QUOTE_CROSSED, f"{order.contract}: crossed market {quote.bid} > {quote.ask}"
            )
        if quote.age_seconds > inp.max_quote_age_seconds:
            return deny(
                DenyReason.QUOTE_STALE,
                f"{order.contract}: quote is {quote.age_seconds:.3f}s old > {inp.max_quote_age_seconds}s",
            )
    return ALLOW


def check_cooldown(inp: RiskInput) -> Decision:
    if inp.cooldown_seconds <= 0:
        return ALLOW
    for order in inp.orders:
        since = inp.state.seconds_since_last_order.get(order.contract)
        if since is not None and since < inp.cooldown_seconds:
            return deny(
                DenyReason.COOLDOWN,
                f"{order.contract}: last order {since:.2f}s ago < cooldown {inp.cooldown_seconds}s",
            )
    return ALLOW


Check = Callable[[RiskInput], Decision]

# Cheapest and most fundamental first; the first denial wins.
CHECKS: tuple[Check, ...] = (
    check_trading_state,
    check_price,
    check_contracts_per_order,
    check_notional_per_order,
    check_daily_loss,
    check_open_positions,
    check_trading_hours,
    check_quotes,
    check_cooldown,
    check_order_rate,
    check_message_budget,
)


def evaluate(inp: RiskInput) -> Decision:
    """Run every check; the first denial (in :data:`CHECKS` order) is the answer."""
    if not inp.orders:
        return deny(DenyReason.INVALID_PRICE, "no orders proposed")
    for check in CHECKS:
        decision = check(inp)
        if not decision.allowed:
            return decision
    return ALLOW
