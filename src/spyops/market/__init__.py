"""The simulated SPY 0DTE market: shared by the gateway simulator, the data generator and the benchmarks.

Names are imported lazily (PEP 562) so that mounting `spyops market` on the command line
does not import numpy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spyops.market.anomalies import AnomalyLabel, InjectedAnomaly
    from spyops.market.chain import ChainArrays
    from spyops.market.model import MarketClosedError, MarketConfig, MarketModel

_EXPORTS = {
    "AnomalyLabel": "spyops.market.anomalies",
    "InjectedAnomaly": "spyops.market.anomalies",
    "ChainArrays": "spyops.market.chain",
    "MarketClosedError": "spyops.market.model",
    "MarketConfig": "spyops.market.model",
    "MarketModel": "spyops.market.model",
}

__all__ = [
    "AnomalyLabel",
    "ChainArrays",
    "InjectedAnomaly",
    "MarketClosedError",
    "MarketConfig",
    "MarketModel",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'spyops.market' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
