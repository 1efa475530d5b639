"""Unit conversions of riskoffset.units against independent references."""

from __future__ import annotations

import numpy as np
import pytest
import riskoffset as ro
from riskoffset.units import usd_gamma_of_inverse


def test_usd_gamma_of_an_inverse_option_is_the_usd_black76_gamma() -> None:
    """V = F c(F): the USD gamma built from the coin Greeks equals the plain (USD) Black-76 gamma of the same
    option and a central second difference of F c(F) in F."""
    flags = np.array([True, False, True, False])
    f = np.array([95_000.0, 95_000.0, 3_200.0, 60_000.0])
    k = np.array([100_000.0, 80_000.0, 3_000.0, 61_000.0])
    t = np.array([0.25, 0.5, 0.05, 1.5])
    vol = np.array([0.55, 0.7, 0.8, 0.45])
    coin = ro.greeks(flags, f, k, t, 0.0, vol, settlement="inverse")
    gamma = usd_gamma_of_inverse(np.asarray(coin["gamma"]), np.asarray(coin["delta"]), f)
    usd = ro.greeks(flags, f, k, t, 0.0, vol)
    np.testing.assert_allclose(gamma, np.asarray(usd["gamma"]), rtol=1e-10)

    h = f * 1e-3

    def usd_value(fwd: np.ndarray) -> np.ndarray:
        return fwd * np.asarray(ro.price(flags, fwd, k, t, 0.0, vol, settlement="inverse"))

    second = (usd_value(f + h) - 2.0 * usd_value(f) + usd_value(f - h)) / (h * h)
    np.testing.assert_allclose(gamma, second, rtol=1e-5)


def test_usd_gamma_on_scalars() -> None:
    # d2/dF2 of F c with c = 1/F (delta -1/F^2, gamma 2/F^3) is 0: F * 2/F^3 + 2 * (-1/F^2) = 0.
    assert usd_gamma_of_inverse(2.0 / 8.0, -1.0 / 4.0, 2.0) == pytest.approx(0.0, abs=1e-15)
