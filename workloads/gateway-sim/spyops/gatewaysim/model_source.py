"""Builds the gateway's quote source from the shared market model (``spyops.market``)."""

from __future__ import annotations

import datetime as dt

from spyops.gatewaysim.market import QuoteSource
from spyops.gatewaysim.messages import EASTERN


def build_model_source(seed: int, session_date: dt.date, start: dt.time) -> QuoteSource:
    """The market model for ``session_date``, moved forward to ``start`` (Eastern time).

    If the model's own session starts later than ``start``, the simulator starts there.
    """
    from spyops.market import MarketConfig, MarketModel

    model = MarketModel(seed=seed, session_date=session_date, config=MarketConfig())
    target = dt.datetime.combine(session_date, start, tzinfo=EASTERN)
    ahead = (target - model.now).total_seconds()
    if ahead > 0:
        model.advance(ahead)
    source: QuoteSource = model
    return source
