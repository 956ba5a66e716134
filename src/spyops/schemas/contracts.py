"""Option contract identity: what makes two quotes, legs or fills "the same contract"."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class OptionRight(StrEnum):
    CALL = "C"
    PUT = "P"


class OptionContract(BaseModel):
    """One listed option: underlying, expiry, strike and right.

    ``key`` is the canonical text form (``SPY 2026-11-20 590.0 C``) used for
    deterministic ids and as a dictionary key across components.
    """

    model_config = ConfigDict(frozen=True)

    underlying: str = Field(pattern=r"^[A-Z][A-Z0-9.]{0,9}$", description="Underlying symbol, e.g. SPY.")
    expiry: dt.date = Field(description="Expiry date (the 0DTE session date).")
    strike: float = Field(gt=0, description="Strike price in dollars.")
    right: OptionRight = Field(description="C for call, P for put.")

    @property
    def key(self) -> str:
        return f"{self.underlying} {self.expiry.isoformat()} {self.strike:.2f} {self.right.value}"
