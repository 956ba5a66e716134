"""The simulated SPY 0DTE market: shared by the gateway simulator, the data generator and the benchmarks."""

from spyops.market.anomalies import AnomalyLabel, InjectedAnomaly
from spyops.market.chain import ChainArrays
from spyops.market.model import MarketClosedError, MarketConfig, MarketModel

__all__ = [
    "AnomalyLabel",
    "ChainArrays",
    "InjectedAnomaly",
    "MarketClosedError",
    "MarketConfig",
    "MarketModel",
]
