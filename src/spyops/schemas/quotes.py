"""Quotes and chain snapshots, as the detector sees them and as the snapshot CSV stores them."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from spyops.schemas.contracts import OptionRight


class OptionQuote(BaseModel):
    """Top of book for one option contract at one instant.

    ``bid > ask`` is allowed on purpose: a crossed quote is an anomaly to detect,
    not malformed input.
    """

    model_config = ConfigDict(frozen=True)

    strike: float = Field(gt=0)
    right: OptionRight
    bid: float = Field(ge=0, description="Best bid in dollars per share (0 = no bid).")
    ask: float = Field(ge=0, description="Best ask in dollars per share (0 = no ask).")
    bid_size: int = Field(ge=0, description="Contracts at the bid.")
    ask_size: int = Field(ge=0, description="Contracts at the ask.")
    quote_ts: dt.datetime = Field(description="When this quote last changed (timezone-aware).")


class ChainSnapshot(BaseModel):
    """One expiry's chain at one instant, with the underlying's top of book."""

    model_config = ConfigDict(frozen=True)

    ts: dt.datetime = Field(description="Snapshot time (timezone-aware).")
    underlying: str = Field(pattern=r"^[A-Z][A-Z0-9.]{0,9}$")
    spot_bid: float = Field(gt=0)
    spot_ask: float = Field(gt=0)
    expiry: dt.date
    quotes: tuple[OptionQuote, ...]
