"""Executions (fills) and order updates the bot reports to the backend."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from spyops.schemas.contracts import OptionContract


class OrderSide(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderStatus(StrEnum):
    """Lifecycle of one order as the bot records it in its journal."""

    INTENDED = "INTENDED"  # written to the journal, not yet sent
    SUBMITTED = "SUBMITTED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    DENIED = "DENIED"  # refused by the bot's risk engine, never sent


class Execution(BaseModel):
    """One fill. ``id`` is IB's execId, which the backend dedupes on."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=128, description="Broker execution id (execId).")
    strategy: str = Field(default="", description="namespace/name of the TradingStrategy.")
    order_ref: str = Field(min_length=1, max_length=128, description="Deterministic orderRef of the order.")
    signal_id: str = Field(default="", description="Signal the order came from.")
    contract: OptionContract
    side: OrderSide
    quantity: int = Field(ge=1)
    price: float = Field(ge=0, description="Fill price per share.")
    commission: float = Field(default=0.0, ge=0, description="Commission in dollars for this fill.")
    time: dt.datetime = Field(description="Fill time reported by the broker.")


class OrderUpdate(BaseModel):
    """A change of an order's status, for the dashboard's order feed."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(
        min_length=1,
        max_length=160,
        description="Unique per update; the bot sends order_ref:status:filled, so a repeat is stored once.",
    )
    strategy: str = Field(default="")
    order_ref: str = Field(min_length=1, max_length=128)
    signal_id: str = Field(default="")
    contract: OptionContract
    side: OrderSide
    quantity: int = Field(ge=1)
    limit_price: float | None = Field(default=None, ge=0)
    status: OrderStatus
    filled: int = Field(default=0, ge=0)
    reason: str = Field(default="", max_length=500, description="Why, for denials, rejects and cancels.")
    time: dt.datetime
