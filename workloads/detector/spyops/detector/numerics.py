"""Vectorized numerics for the smile: normal (Bachelier) implied volatility, OTM prices, a robust fit.

For a 0DTE option the normal model is as good as the lognormal one and has a closed-form
implied volatility (Choi, Kim & Kwak 2009: rational approximation in the straddle price,
accurate to about 1e-10 near the money), so the scan needs no Newton iterations.
Volatilities here are *total* normal standard deviations in dollars (sigma * sqrt(T)),
so time to expiry never enters the fit.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray


def _gufunc_solver() -> Callable[..., FloatArray] | None:
    """The ufunc np.linalg.solve wraps (numpy 1.x and 2.x), or None on a build without it."""
    try:
        from numpy.linalg import _umath_linalg
    except ImportError:  # pragma: no cover - depends on the numpy build
        return None
    solver: Callable[..., FloatArray] | None = getattr(_umath_linalg, "solve1", None)
    return solver


_solve1 = _gufunc_solver()

FloatArray = NDArray[np.float64]

# Choi, Kim & Kwak (2009): h(eta) = sqrt(eta) * P(eta) / Q(eta). Column 0 holds P's
# coefficients and column 1 Q's, lowest power first, so both polynomials are one matrix
# product with the powers of eta (two numpy calls instead of a Horner loop).
_CKK = np.array(
    [
        [3.994961687345134e-1, 1.0],
        [2.100960795068497e1, 4.990534153589422e1],
        [4.980340217855084e1, 3.093573936743112e1],
        [5.988761102690991e2, 1.495105008310999e3],
        [1.848489695437094e3, 1.323614537899738e3],
        [6.106322407867059e3, 1.598919697679745e4],
        [2.493415285349361e4, 2.392008891720782e4],
        [1.266458051348246e4, 3.608817108375034e3],
        [0.0, -2.067719486400926e2],
        [0.0, 1.174240599306013e1],
    ]
)
_CKK_POWERS = np.arange(10, dtype=np.float64)
_SQRT_HALF_PI = math.sqrt(math.pi / 2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def normal_total_vol(distance: FloatArray, straddle: FloatArray) -> FloatArray:
    """Total normal volatility from |F - K| and the undiscounted straddle price C + P."""
    ratio = np.clip(distance / straddle, 1e-9, 1.0 - 1e-12)
    eta = ratio / np.arctanh(ratio)
    polys = (eta[:, None] ** _CKK_POWERS) @ _CKK
    result: FloatArray = _SQRT_HALF_PI * straddle * np.sqrt(eta) * polys[:, 0] / polys[:, 1]
    return result


def normal_pdf(x: FloatArray) -> FloatArray:
    result: FloatArray = _INV_SQRT_2PI * np.exp(-0.5 * x * x)
    return result


def otm_price(distance: FloatArray, total_vol: FloatArray) -> FloatArray:
    """Undiscounted out-of-the-money option value under the normal model.

    ``s * phi(d) - u * N(-d)`` with ``d = u / s``; N(-d) from Abramowitz & Stegun 26.2.17
    (absolute error below 7.5e-8), which needs one exp and no erf.
    """
    d = distance / total_vol
    pdf = normal_pdf(d)
    t = 1.0 / (1.0 + 0.2316419 * d)
    tail = t * (0.319381530 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))))
    result: FloatArray = pdf * (total_vol - distance * tail)
    return np.maximum(result, 0.0)


def fast_median(values: FloatArray) -> float:
    """Median of a small 1-D array (np.median's dispatch costs more than the sort here)."""
    ordered = np.sort(values)
    half = ordered.size // 2
    if ordered.size % 2:
        return float(ordered[half])
    return 0.5 * float(ordered[half - 1] + ordered[half])


def _running_median3(values: FloatArray) -> FloatArray:
    """Median of each point and its two neighbours; an end point takes the median of the
    three points at its end, so an outlier there is measured against its neighbours too."""
    result = values.copy()
    if values.size < 3:
        return result
    left, mid, right = values[:-2], values[1:-1], values[2:]
    result[1:-1] = np.maximum(np.minimum(left, mid), np.minimum(np.maximum(left, mid), right))
    result[0] = result[1]
    result[-1] = result[-2]
    return result


def _tukey(residual: FloatArray, residual_scale: FloatArray) -> FloatArray:
    """Tukey biweights of residuals measured in ``residual_scale`` units, robustly scaled."""
    scaled = residual / residual_scale
    scale = max(1.4826 * fast_median(np.abs(scaled)), 0.5) if scaled.size else 1.0
    ratio = scaled * (1.0 / (4.685 * scale))
    weights: FloatArray = np.maximum(1.0 - ratio * ratio, 0.0) ** 2
    return weights


def _solve_small(matrix: FloatArray, rhs: FloatArray) -> FloatArray:
    """Solve a tiny dense system. The gufunc behind np.linalg.solve is called directly when
    available: for a 5x5 system the public wrapper's checks cost several times the solve.
    A singular system gives non-finite values, which callers check."""
    if _solve1 is not None:
        result: FloatArray = _solve1(matrix, rhs, signature="dd->d")
        return result
    try:
        solved: FloatArray = np.asarray(np.linalg.solve(matrix, rhs), dtype=np.float64)
    except np.linalg.LinAlgError:
        return np.full(rhs.shape, np.nan)
    return solved


def robust_polyfit(
    basis: FloatArray,
    y: FloatArray,
    base_weight: FloatArray,
    residual_scale: FloatArray,
    iterations: int = 1,
) -> FloatArray:
    """Weighted least squares on ``basis`` columns with Tukey-biweight weights; returns the
    coefficients.

    ``residual_scale`` converts a residual in y into the units in which outliers are judged
    (here: half-spreads of the quote), so a point is down-weighted for being far outside its
    own quote, not for being in a noisy wing. The weights come from each point's distance to
    the running median of its neighbours (a plain first least-squares fit would be dragged so
    far by one badly wrong quote that every residual looked large); each further iteration
    reweights by the fit's own residuals. One pass suffices when outliers are isolated
    quotes, which is what the scan's latency budget allows.

    ``basis`` columns go from the lowest power up. The fit never uses more columns than the
    points left with weight can determine, less one: with a point or two rejected as
    outliers (often the ends of a short, curved smile), a full-degree polynomial through the
    rest would be free to swing wildly just outside them. Dropped columns get coefficient 0.
    """
    weight = _tukey(y - _running_median3(y), residual_scale) * base_weight
    width = basis.shape[1]
    coefficients = np.zeros(width)
    for iteration in range(iterations):
        columns = min(width, max(int(np.count_nonzero(weight)) - 1, 1))
        used = basis[:, :columns]
        weighted = used * weight[:, None]
        coefficients = np.zeros(width)
        coefficients[:columns] = _solve_small(weighted.T @ used, weighted.T @ y)
        if iteration < iterations - 1:
            weight = _tukey(y - basis @ coefficients, residual_scale) * base_weight
    return coefficients
