"""Builders of valid records for the backend tests (deterministic, timezone-aware)."""

from __future__ import annotations

import datetime as dt
import hashlib

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


def make_chain(at: dt.datetime = BASE_TIME, spot: float = 590.2) -> ChainSnapshot:
    quotes = []
    for strike in range(580, 601):
        call_mid = max(spot - strike, 0) + 0.8
        put_mid = max(strike - spot, 0) + 0.8
        for right, mid in ((OptionRight.CALL, call_mid), (OptionRight.PUT, put_mid)):
            quotes.append(
                OptionQuote(
                    strike=float(strike),
                    right=right,
                    bid=round(mid - 0.05, 2),
                    ask=round(mid + 0.05, 2),
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
