"""Arbitrage-free chains built straight from a smile, for the detector's tests."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from spyops.market import ChainArrays
from spyops.market.chain import to_epoch_ns
from spyops.market.pricing import TRADING_SECONDS_PER_YEAR, black76, expiry_close, smile_total_variance

EXPIRY = dt.date(2026, 11, 20)
RATE = 0.045


def smile_chain(
    *,
    spot: float,
    atm_vol: float,
    wing: float,
    skew: float,
    minutes_to_close: float,
    step: float,
    strikes_each_side: int,
    width_ticks: np.ndarray | None = None,
) -> ChainArrays:
    """Fair values from the smile, quoted outward to penny ticks (bid <= fair <= ask)."""
    ts = expiry_close(EXPIRY) - dt.timedelta(minutes=minutes_to_close)
    years = minutes_to_close * 60.0 / TRADING_SECONDS_PER_YEAR
    discount = math.exp(-RATE * years)
    forward = spot / discount
    center = round(spot / step) * step
    strikes = np.round(center + step * np.arange(-strikes_each_side, strikes_each_side + 1), 2)
    strikes = strikes[strikes > 0]
    variance = smile_total_variance(np.log(strikes / forward), atm_vol**2 * years, wing, skew)
    calls, puts, _ = black76(forward, strikes, variance, discount)
    fair = np.column_stack([calls, puts]).ravel()
    n = fair.size
    widths = np.ones(n) if width_ticks is None else np.asarray(width_ticks, dtype=np.float64)[:n]
    bid = np.maximum(np.floor(np.round(fair * 100.0 - widths / 2.0, 9)), 0.0) / 100.0
    ask = np.maximum(np.ceil(np.round(fair * 100.0 + widths / 2.0, 9)), 1.0) / 100.0
    ts_ns = to_epoch_ns(ts)
    return ChainArrays(
        ts=ts,
        underlying="SPY",
        expiry=EXPIRY,
        spot_bid=math.floor(spot * 100.0) / 100.0,
        spot_ask=math.floor(spot * 100.0) / 100.0 + 0.01,
        strike=np.repeat(strikes, 2),
        is_call=np.tile(np.array([True, False]), strikes.size),
        bid=bid,
        ask=ask,
        bid_size=np.full(n, 50, dtype=np.int64),
        ask_size=np.full(n, 40, dtype=np.int64),
        quote_ts_ns=np.full(n, ts_ns - 100_000_000, dtype=np.int64),
    )


def with_quote(chain: ChainArrays, row: int, bid: float, ask: float) -> ChainArrays:
    """The same chain with one contract's quote replaced."""
    new_bid, new_ask = chain.bid.copy(), chain.ask.copy()
    new_bid[row], new_ask[row] = round(bid, 2), round(ask, 2)
    return ChainArrays(
        ts=chain.ts,
        underlying=chain.underlying,
        expiry=chain.expiry,
        spot_bid=chain.spot_bid,
        spot_ask=chain.spot_ask,
        strike=chain.strike,
        is_call=chain.is_call,
        bid=new_bid,
        ask=new_ask,
        bid_size=chain.bid_size,
        ask_size=chain.ask_size,
        quote_ts_ns=chain.quote_ts_ns,
    )
