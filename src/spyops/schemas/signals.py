"""Signals: what the detector publishes and the bot and backend consume (docs/architecture.md, "Signal ids")."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from spyops.schemas.contracts import OptionContract


class AnomalyKind(StrEnum):
    """Rules the detector runs; also the `kind` column of the labels CSV."""

    VERTICAL_SPREAD = "vertical_spread"
    BUTTERFLY = "butterfly"
    PARITY = "parity"
    IV_OUTLIER = "iv_outlier"
    CROSSED_QUOTE = "crossed_quote"
    STALE_QUOTE = "stale_quote"
    SPREAD_BLOWOUT = "spread_blowout"


class LegAction(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class QuoteRef(BaseModel):
    """A quote a signal was computed from, so a reader can audit the edge."""

    model_config = ConfigDict(frozen=True)

    contract: OptionContract
    bid: float = Field(ge=0)
    ask: float = Field(ge=0)
    bid_size: int = Field(ge=0)
    ask_size: int = Field(ge=0)
    quote_ts: dt.datetime


class Leg(BaseModel):
    """One leg of the trade that captures an anomaly."""

    model_config = ConfigDict(frozen=True)

    contract: OptionContract
    action: LegAction
    ratio: int = Field(ge=1, le=10, description="Contracts of this leg per unit of the trade.")
    limit_price: float = Field(ge=0, description="Per-share limit: the ask for buys, the bid for sells.")


class SuggestedOrder(BaseModel):
    """The detector's proposal; the bot's risk engine has the last word."""

    model_config = ConfigDict(frozen=True)

    legs: tuple[Leg, ...] = Field(min_length=1, max_length=4)
    quantity: int = Field(ge=1, description="Units of the whole trade the quotes' sizes support.")
    net_price: float = Field(
        description="Net per-share price of one unit: positive is a debit paid, negative a credit received."
    )


class Signal(BaseModel):
    """One anomaly episode. The id is deterministic: the same anomaly gives the same id.

    ``edge`` is in dollars per contract (one unit of the trade, times the
    multiplier) after crossing the spread and paying fees.
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=r"^[0-9a-f]{32}$", description="Deterministic id (hex digest).")
    strategy: str = Field(default="", description="namespace/name of the TradingStrategy that produced it.")
    event_time: dt.datetime = Field(description="Time of the market data that revealed the anomaly.")
    detected_at: dt.datetime = Field(description="When the detector found it (local clock).")
    underlying: str = Field(pattern=r"^[A-Z][A-Z0-9.]{0,9}$")
    expiry: dt.date
    culprit: OptionContract = Field(description="The one contract whose quote is out of line.")
    rule: AnomalyKind
    edge: float = Field(description="Dollars per unit after spread and fees.")
    score: float = Field(ge=0, description="Strength of the finding; larger is stronger.")
    quotes: tuple[QuoteRef, ...] = Field(default=())
    suggested_order: SuggestedOrder | None = Field(
        default=None, description="Absent for findings that are not tradable (e.g. quote-quality flags)."
    )
