"""Valid example objects of the shared schemas, for tests of any component."""

from __future__ import annotations

import datetime as dt
import hashlib

from spyops.schemas import (
    AnomalyKind,
    Leg,
    LegAction,
    OptionContract,
    OptionRight,
    Signal,
    SuggestedOrder,
)

SESSION = dt.date(2026, 11, 20)
T0 = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)


def make_signal(n: int = 0, *, strike: float = 590.0, rule: AnomalyKind = AnomalyKind.BUTTERFLY) -> Signal:
    culprit = OptionContract(underlying="SPY", expiry=SESSION, strike=strike, right=OptionRight.CALL)
    wing_low = culprit.model_copy(update={"strike": strike - 1})
    wing_high = culprit.model_copy(update={"strike": strike + 1})
    return Signal(
        id=hashlib.blake2b(f"signal-{n}-{strike}-{rule}".encode(), digest_size=16).hexdigest(),
        strategy="demo/spy-0dte",
        event_time=T0 + dt.timedelta(seconds=n),
        detected_at=T0 + dt.timedelta(seconds=n, milliseconds=2),
        underlying="SPY",
        expiry=SESSION,
        culprit=culprit,
        rule=rule,
        edge=12.5,
        score=3.2,
        suggested_order=SuggestedOrder(
            legs=(
                Leg(contract=wing_low, action=LegAction.BUY, ratio=1, limit_price=2.10),
                Leg(contract=culprit, action=LegAction.SELL, ratio=2, limit_price=1.60),
                Leg(contract=wing_high, action=LegAction.BUY, ratio=1, limit_price=0.95),
            ),
            quantity=1,
            net_price=-0.15,
        ),
    )
