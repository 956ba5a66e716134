"""A small deterministic option chain for tests that need exact, controllable quotes.

It implements the gateway's ``QuoteSource`` protocol; tests set quotes explicitly so an
order's marketability is known in advance. End-to-end flows use the real market model.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from spyops.market import ChainArrays
from spyops.schemas import AnomalyKind, ChainSnapshot, OptionQuote, OptionRight

EASTERN = ZoneInfo("America/New_York")


class ScriptedChain:
    def __init__(
        self,
        session_date: dt.date = dt.date(2026, 11, 20),
        strikes: Sequence[float] = (585.0, 590.0, 595.0),
        spot: float = 590.0,
    ) -> None:
        self._now = dt.datetime.combine(session_date, dt.time(10, 0), tzinfo=EASTERN)
        self._expiry = session_date
        self._strikes = tuple(strikes)
        self.spot = spot
        self.quotes: dict[tuple[float, str], OptionQuote] = {}
        for strike in self._strikes:
            for right in (OptionRight.CALL, OptionRight.PUT):
                intrinsic = max(spot - strike, 0.0) if right is OptionRight.CALL else max(strike - spot, 0.0)
                self.set_quote(strike, right.value, intrinsic + 1.0, intrinsic + 1.1, 10, 10)
        self.injected: list[tuple[AnomalyKind, float | None, OptionRight | None]] = []
        self._snapshot = self._build()

    def set_quote(
        self, strike: float, right: str, bid: float, ask: float, bid_size: int, ask_size: int
    ) -> None:
        self.quotes[(strike, right)] = OptionQuote(
            strike=strike,
            right=OptionRight(right),
            bid=round(bid, 2),
            ask=round(ask, 2),
            bid_size=bid_size,
            ask_size=ask_size,
            quote_ts=self._now,
        )

    def _build(self) -> ChainSnapshot:
        return ChainSnapshot(
            ts=self._now,
            underlying="SPY",
            spot_bid=round(self.spot - 0.01, 2),
            spot_ask=round(self.spot + 0.01, 2),
            expiry=self._expiry,
            quotes=tuple(self.quotes.values()),
        )

    @property
    def now(self) -> dt.datetime:
        return self._now

    @property
    def snapshot(self) -> ChainSnapshot:
        return self._snapshot

    @property
    def strikes(self) -> Sequence[float]:
        return self._strikes

    @property
    def expiry(self) -> dt.date:
        return self._expiry

    @property
    def underlying(self) -> str:
        return "SPY"

    @property
    def arrays(self) -> ChainArrays:
        return ChainArrays.from_snapshot(self._snapshot)

    def step(self, seconds: float = 0.1) -> ChainArrays:
        self._now += dt.timedelta(seconds=seconds)
        self._snapshot = self._build()
        return self.arrays

    def inject(
        self,
        kind: AnomalyKind,
        *,
        strike: float | None = None,
        right: OptionRight | None = None,
        size: float | None = None,
        duration_seconds: float | None = None,
    ) -> dict[str, object]:
        self.injected.append((kind, strike, right))
        return {"kind": kind.value, "strike": strike}
