"""Option pricing for the market model: Black-76 on the forward with a smile in normalized moneyness.

Time is measured in trading years (252 sessions of 6.5 hours), the same clock the
underlying's volatility runs on, so a 14% ATM vol means a 14% annualized move over
trading time. For a 0DTE option the discount factor is within a few parts per
million of 1, but it is kept so the parity band is computed the same way everywhere.
"""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

TRADING_SECONDS_PER_YEAR = 252 * 6.5 * 3600.0
NEW_YORK = ZoneInfo("America/New_York")
SESSION_CLOSE = dt.time(16, 0)

_erfc = np.frompyfunc(math.erfc, 1, 1)


def norm_cdf(x: FloatArray) -> FloatArray:
    """Standard normal CDF, exact to double precision (math.erfc, element-wise)."""
    result: FloatArray = np.asarray(
        _erfc(-np.asarray(x, dtype=np.float64) / math.sqrt(2.0)), dtype=np.float64
    )
    return 0.5 * result


def expiry_close(expiry: dt.date) -> dt.datetime:
    """The moment a 0DTE SPY option stops trading: 16:00 New York time on its expiry date."""
    return dt.datetime.combine(expiry, SESSION_CLOSE, tzinfo=NEW_YORK)


def years_to_close(ts: dt.datetime, expiry: dt.date) -> float:
    """Trading-time years from ``ts`` to the expiry's close (0 at or after the close)."""
    seconds = (expiry_close(expiry) - ts).total_seconds()
    return max(seconds, 0.0) / TRADING_SECONDS_PER_YEAR


def smile_total_variance(
    log_moneyness: FloatArray, atm_variance: float, wing: float, skew: float
) -> FloatArray:
    """Total implied variance w(k) of an SVI-shaped smile in normalized moneyness.

    ``z = k / sqrt(w_atm)`` measures moneyness in standard deviations of the remaining
    move, so the smile narrows in strike space as the close approaches and moves with the
    forward (sticky moneyness). ``w = w_atm * (1 + wing * (skew * z + sqrt(z^2 + 1) - 1))``
    is convex in z and, for wing <= 0.4 and |skew| < 1, free of butterfly arbitrage.
    """
    z = log_moneyness / math.sqrt(atm_variance)
    shape = 1.0 + wing * (skew * z + np.sqrt(z * z + 1.0) - 1.0)
    return atm_variance * shape


def black76(
    forward: float, strikes: FloatArray, total_variance: FloatArray, discount: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Call prices, put prices and call deltas (w.r.t. the forward) for one expiry."""
    sd = np.sqrt(np.maximum(total_variance, 1e-18))
    d1 = (np.log(forward / strikes) + 0.5 * sd * sd) / sd
    d2 = d1 - sd
    n1 = norm_cdf(d1)
    n2 = norm_cdf(d2)
    calls = discount * (forward * n1 - strikes * n2)
    puts = discount * (strikes * (1.0 - n2) - forward * (1.0 - n1))
    return np.maximum(calls, 0.0), np.maximum(puts, 0.0), n1
