"""Builds the gateway's quote source from the shared market model (``spyops.market``)."""

from __future__ import annotations

import datetime as dt

from spyops.market import MarketConfig, MarketModel


def build_model_source(
    seed: int, session_date: dt.date, start: dt.time, *, anomalies_per_minute: float = 0.0
) -> MarketModel:
    """The market model for ``session_date``, starting at ``start`` (New York time).

    ``anomalies_per_minute`` > 0 lets the model schedule anomalies by itself (seeded, so
    the same day replays); 0 means anomalies only come from the control API or scenario.
    """
    return MarketModel(
        seed=seed,
        session_date=session_date,
        config=MarketConfig(start_time=start, anomalies_per_minute=anomalies_per_minute),
    )
