"""Shared wire and file schemas: the contracts between detector, bot, backend and operator.

Every component imports these models; none defines its own copy. All models are
pydantic v2, frozen where they are values, and serialise to the JSON described
in docs/architecture.md, "Contracts".
"""

from spyops.schemas.contracts import OptionContract, OptionRight
from spyops.schemas.executions import Execution, OrderSide, OrderStatus, OrderUpdate
from spyops.schemas.quotes import ChainSnapshot, OptionQuote
from spyops.schemas.runtime_config import (
    DetectorSettings,
    ExecutionSettings,
    GatewayEndpoint,
    OutboundMode,
    OutboundSettings,
    RiskLimits,
    RuntimeConfig,
    RuntimeConfigError,
    TradingHours,
    TradingState,
    load_runtime_config,
)
from spyops.schemas.signals import AnomalyKind, Leg, LegAction, QuoteRef, Signal, SuggestedOrder

__all__ = [
    "AnomalyKind",
    "ChainSnapshot",
    "DetectorSettings",
    "Execution",
    "ExecutionSettings",
    "GatewayEndpoint",
    "Leg",
    "LegAction",
    "OptionContract",
    "OptionQuote",
    "OptionRight",
    "OrderSide",
    "OrderStatus",
    "OrderUpdate",
    "OutboundMode",
    "OutboundSettings",
    "QuoteRef",
    "RiskLimits",
    "RuntimeConfig",
    "RuntimeConfigError",
    "Signal",
    "SuggestedOrder",
    "TradingHours",
    "TradingState",
    "load_runtime_config",
]
