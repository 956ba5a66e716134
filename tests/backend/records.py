"""Builders of valid records for the backend tests (deterministic, timezone-aware)."""

from __future__ import annotations

import datetime as dt
import hashlib
import math

from spyops.schemas import (
    AnomalyKind,
    ChainSnapshot,
    Execution,
    Leg,
    LegAction,
    OptionContract,
    OptionQuote,
    OptionRight,
    OrderSide,
    OrderStatus,
    OrderUpdate,
    Signal,
    SuggestedOrder,
)

EXPIRY = dt.date(2026, 11, 20)
BASE_TIME = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)  # 10:00 in New York


def contract(strike: float = 590.0, right: OptionRight = OptionRight.CALL) -> OptionContract:
    return OptionContract(underlying="SPY", expiry=EXPIRY, strike=strike, right=right)


def signal_id(n: int) -> str:
    return hashlib.sha256(f"signal-{n}".encode()).hexdigest()[:32]


def make_signal(
    n: int,
    *,
    seconds: float | None = None,
    strategy: str = "paper/spy-0dte",
    rule: AnomalyKind = AnomalyKind.PARITY,
    strike: float = 590.0,
) -> Signal:
    at = BASE_TIME + dt.timedelta(seconds=n if seconds is None else seconds)
    culprit = contract(strike)
    return Signal(
        id=signal_id(n),
        strategy=strategy,
        event_time=at,
        detected_at=at + dt.timedelta(milliseconds=3),
        underlying="SPY",
        expiry=EXPIRY,
        culprit=culprit,
        rule=rule,
        edge=12.5,
        score=3.0,
        suggested_order=SuggestedOrder(
            legs=(Leg(contract=culprit, action=LegAction.BUY, ratio=1, limit_price=1.25),),
            quantity=2,
            net_price=1.25,
        ),
    )


def make_execution(
    exec_id: str,
    side: OrderSide,
    quantity: int,
    price: float,
    *,
    at: dt.datetime = BASE_TIME,
    strike: float = 590.0,
    commission: float = 0.65,
    strategy: str = "paper/spy-0dte",
) -> Execution:
    return Execution(
        id=exec_id,
        strategy=strategy,
        order_ref=f"ref-{exec_id}",
        signal_id=signal_id(1),
        contract=contract(strike),
        side=side,
        quantity=quantity,
        price=price,
        commission=commission,
        time=at,
    )


def make_order_update(n: int, status: OrderStatus = OrderStatus.SUBMITTED) -> OrderUpdate:
    return OrderUpdate(
        id=f"order-{n}:1",
        strategy="paper/spy-0dte",
        order_ref=f"order-{n}",
        signal_id=signal_id(n),
        contract=contract(),
        side=OrderSide.BUY,
        quantity=1,
        limit_price=1.25,
        status=status,
        time=BASE_TIME + dt.timedelta(seconds=n),
    )


def _black_scholes(right: OptionRight, spot: float, strike: float, years: float, vol: float) -> float:
    sd = vol * math.sqrt(years)
    d1 = (math.log(spot / strike) + 0.5 * sd * sd) / sd
    d2 = d1 - sd

    def cdf(x: float) -> float:
        return 0.5 * (1 + math.erf(x / math.sqrt(2)))

    if right is OptionRight.CALL:
        return spot * cdf(d1) - strike * cdf(d2)
    return strike * cdf(-d2) - spot * cdf(-d1)


def make_chain(at: dt.datetime = BASE_TIME, spot: float = 590.2) -> ChainSnapshot:
    """Strikes 580-600 priced with a mild volatility smile, six hours before the 16:00 close."""
    years = 6 / (24 * 365)
    quotes = []
    for strike in range(580, 601):
        vol = 0.14 + 0.0009 * (strike - spot) ** 2 / 4
        for right in (OptionRight.CALL, OptionRight.PUT):
            mid = max(_black_scholes(right, spot, float(strike), years, vol), 0.03)
            half_spread = max(0.01, round(mid * 0.02, 2))
            quotes.append(
                OptionQuote(
                    strike=float(strike),
                    right=right,
                    bid=round(mid - half_spread, 2),
                    ask=round(mid + half_spread, 2),
                    bid_size=10,
                    ask_size=12,
                    quote_ts=at,
                )
            )
    return ChainSnapshot(
        ts=at,
        underlying="SPY",
        spot_bid=spot - 0.01,
        spot_ask=spot + 0.01,
        expiry=EXPIRY,
        quotes=tuple(quotes),
    )
