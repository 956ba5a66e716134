"""Injected anomalies and their ground-truth labels.

Every anomaly distorts the quote of one contract (the culprit) and is labeled on
that contract in every snapshot where it is visible. ``size`` is in dollars per
share: how far the culprit's quote is pushed out of line (for a spread blowout, the
blown-out width). ``edge`` on a label is the executable profit in dollars per unit of
the trade that captures it (buy at the ask, sell at the bid, minus fees), computed
by the model from the quotes it displays; ``tradable`` is ``edge >= min_edge``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from spyops.schemas import AnomalyKind, OptionContract, OptionRight

MULTIPLIER = 100.0

# Sizes (dollars per share) the random schedule draws from: tradable sizes clear
# fees and spreads by a wide margin, "too small" ones stay well short of min_edge,
# so the ground truth is unambiguous.
TRADABLE_SIZES: dict[AnomalyKind, tuple[float, float]] = {
    AnomalyKind.VERTICAL_SPREAD: (0.10, 0.30),
    AnomalyKind.BUTTERFLY: (0.14, 0.40),
    AnomalyKind.PARITY: (0.20, 0.50),
    AnomalyKind.IV_OUTLIER: (0.14, 0.40),
    AnomalyKind.CROSSED_QUOTE: (0.10, 0.25),
    AnomalyKind.STALE_QUOTE: (0.18, 0.40),
}
SMALL_SIZES: dict[AnomalyKind, tuple[float, float]] = {
    AnomalyKind.VERTICAL_SPREAD: (0.01, 0.03),
    AnomalyKind.BUTTERFLY: (0.01, 0.03),
    AnomalyKind.PARITY: (0.01, 0.03),
    AnomalyKind.IV_OUTLIER: (0.01, 0.02),
    AnomalyKind.CROSSED_QUOTE: (0.0, 0.02),  # 0 is a locked quote
    AnomalyKind.STALE_QUOTE: (0.02, 0.04),
}
# Near-threshold anomalies (MarketConfig.near_threshold_fraction) start with an edge between
# these multiples of min_edge: the hard cases, where the ground truth flips as quotes move.
NEAR_THRESHOLD_EDGE = (0.8, 1.5)
# A blown-out quote is this many times the option's value wide (never tradable).
BLOWOUT_WIDTH_OVER_VALUE = (0.8, 1.6)
BLOWOUT_MIN_WIDTH = 0.10


@dataclass(frozen=True, slots=True)
class InjectedAnomaly:
    """One injected anomaly: what, where, how big, and when it is active."""

    id: str
    kind: AnomalyKind
    underlying: str
    expiry: dt.date
    strike: float
    right: OptionRight
    size: float
    start: dt.datetime
    end: dt.datetime

    @property
    def contract(self) -> OptionContract:
        return OptionContract(
            underlying=self.underlying, expiry=self.expiry, strike=self.strike, right=self.right
        )


@dataclass(frozen=True, slots=True)
class AnomalyLabel:
    """Ground truth for one contract in one snapshot (one row of the labels CSV)."""

    ts: dt.datetime
    expiry: dt.date
    strike: float
    right: OptionRight
    kind: AnomalyKind
    anomaly_id: str
    size: float
    edge: float | None
    tradable: bool


def single_leg_edge(bid: float, ask: float, fair: float, fee: float) -> float:
    """Sell a rich quote at its bid or buy a cheap one at its ask, against its fair value."""
    return max(bid - fair, fair - ask) * MULTIPLIER - fee


def box_edge(
    strike: float,
    call_bid: float,
    call_ask: float,
    put_bid: float,
    put_ask: float,
    ref_strike: float,
    ref_call_bid: float,
    ref_call_ask: float,
    ref_put_bid: float,
    ref_put_ask: float,
    discount: float,
    fee: float,
) -> float:
    """Best executable box between a strike and a reference strike (American-style band).

    Long synthetic at one strike, short at the other, pays the strike difference at
    expiry. A payoff we receive is discounted; one we owe is taken undiscounted because
    early exercise of American options can make us pay it at any time: that asymmetry is
    the American parity band.
    """

    def value(payoff: float) -> float:
        return payoff * discount if payoff > 0 else payoff

    long_here = (ref_strike - strike, (call_ask - put_bid) - (ref_call_bid - ref_put_ask))
    short_here = (strike - ref_strike, (ref_call_ask - ref_put_bid) - (call_bid - put_ask))
    best = max(value(payoff) - cost for payoff, cost in (long_here, short_here))
    return best * MULTIPLIER - 4 * fee
