"""Order matching against the simulated top of book: pure functions, no I/O.

Rules (paper trading as IB simulates it, at displayed prices and sizes):
- A buy is marketable when the ask exists and the limit is at or above it (a market
  order always is); it fills at the ask, i.e. at or better than its limit. Sells mirror
  this at the bid.
- The fill size is capped by the displayed size still available: liquidity an order
  takes stays taken until that contract's quote changes, so two orders cannot both
  take the same displayed size. The rest of the order keeps working and fills as
  quotes refresh.
- A combo (several legs) buys each BUY leg at its ask and sells each SELL leg at its
  bid (legs reversed for a combo sell); it is marketable when the net price per unit
  satisfies the limit, and fills as many whole units as every leg's displayed size allows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

PRICE_EPSILON: Final = 1e-9
COMMISSION_PER_CONTRACT: Final = 0.65
MIN_COMMISSION_PER_ORDER: Final = 1.00


@dataclass(frozen=True, slots=True)
class TopOfBook:
    bid: float
    ask: float
    bid_size: int
    ask_size: int


@dataclass(frozen=True, slots=True)
class LegSpec:
    con_id: int
    ratio: int
    action: str  # BUY or SELL, as seen when the order itself is a BUY


@dataclass(frozen=True, slots=True)
class LegFill:
    con_id: int
    action: str  # the side actually traded for this leg
    quantity: int  # contracts
    price: float


@dataclass(frozen=True, slots=True)
class Match:
    units: int  # units of the order filled (contracts for a single leg)
    net_price: float  # per unit: debit for a buy, credit for a sell (single leg: the price)
    legs: tuple[LegFill, ...]


def _flip(action: str) -> str:
    return "SELL" if action == "BUY" else "BUY"


def evaluate(
    *,
    action: str,
    order_type: str,
    limit_price: float | None,
    remaining: int,
    legs: Sequence[LegSpec],
    books: Mapping[int, TopOfBook],
    taken: Mapping[tuple[int, str], int],
) -> Match | None:
    """The fill an order gets now, or None when it is not marketable.

    ``taken`` is the displayed size already consumed per (conId, "BID"|"ASK") since
    that contract's quote last changed.
    """
    if remaining <= 0 or not legs:
        return None
    traded: list[tuple[LegSpec, str, float, int]] = []  # leg, side traded, price, available
    for leg in legs:
        book = books.get(leg.con_id)
        if book is None:
            return None
        side = leg.action if action == "BUY" else _flip(leg.action)
        if side == "BUY":
            price, size, key = book.ask, book.ask_size, "ASK"
        else:
            price, size, key = book.bid, book.bid_size, "BID"
        available = size - taken.get((leg.con_id, key), 0)
        if price <= 0 or available <= 0 or leg.ratio <= 0:
            return None
        traded.append((leg, side, price, available))

    net = 0.0
    for leg, side, price, _ in traded:
        net += leg.ratio * price if side == "BUY" else -leg.ratio * price
    # A single leg's net is its price; a combo's is quoted from the order's own point of
    # view: what a buy pays, what a sell receives.
    single = len(legs) == 1
    net = traded[0][2] if single else (net if action == "BUY" else -net)
    net = round(net, 6)

    if order_type == "LMT":
        if limit_price is None or math.isnan(limit_price):
            return None
        if action == "BUY" and net > limit_price + PRICE_EPSILON:
            return None
        if action == "SELL" and net < limit_price - PRICE_EPSILON:
            return None
    elif order_type != "MKT":
        return None

    units = remaining
    for leg, _, _, available in traded:
        units = min(units, available // leg.ratio)
    if units <= 0:
        return None
    fills = tuple(
        LegFill(con_id=leg.con_id, action=side, quantity=units * leg.ratio, price=price)
        for leg, side, price, _ in traded
    )
    return Match(units=units, net_price=net, legs=fills)


def commission_total(contracts: int) -> float:
    """IB-style tiered simplification: $0.65 per contract, at least $1.00 per order."""
    if contracts <= 0:
        return 0.0
    return round(max(MIN_COMMISSION_PER_ORDER, COMMISSION_PER_CONTRACT * contracts), 2)


def commission_increment(contracts_before: int, contracts_after: int) -> float:
    """Commission owed by one execution: the order's total after it minus before it."""
    return round(commission_total(contracts_after) - commission_total(contracts_before), 2)
