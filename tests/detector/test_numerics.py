"""The smile fit's robust polynomial fit."""

from __future__ import annotations

import numpy as np

from spyops.detector.numerics import robust_polyfit


def test_a_fit_with_its_ends_rejected_does_not_swing_outside_the_rest() -> None:
    # Six points of a curved smile with both ends far outside their quotes: the robust
    # weights reject the ends, and the four points left cannot determine a degree-4 fit
    # (which used to land tens of units off at the ends). A lower degree recovers the curve.
    x = np.array([-3.0, -1.0, 0.0, 1.0, 2.0, 3.0])
    smile = 20.0 + 0.05 * x + 0.1 * x * x
    quoted = smile.copy()
    quoted[[0, -1]] += 1.0
    basis = x[:, None] ** np.arange(5.0)
    coefficients = robust_polyfit(basis, quoted, np.ones(6), np.full(6, 0.04))
    assert np.all(np.isfinite(coefficients))
    np.testing.assert_allclose(basis @ coefficients, smile, atol=1e-9)


def test_a_clean_fit_keeps_every_coefficient() -> None:
    x = np.linspace(-3.0, 3.0, 9)
    smile = 20.0 + 0.05 * x + 0.1 * x**2 - 0.01 * x**3 + 0.002 * x**4
    basis = x[:, None] ** np.arange(5.0)
    coefficients = robust_polyfit(basis, smile, np.ones(9), np.full(9, 0.04))
    np.testing.assert_allclose(coefficients, [20.0, 0.05, 0.1, -0.01, 0.002], atol=1e-9)
