"""vollib.black_scholes_merton.greeks.analytical: closed-form Black-Scholes-Merton Greeks, vollib's units.

delta = dV/dS = +/- exp(-q t) N(+/- d1); gamma = d2V/dS2; theta per calendar day; vega per vol point; rho per
rate point with q held.

>>> args = ('c', 49, 50, 0.3846, 0.05, 0.2, 0)
>>> round(delta(*args), 4), round(gamma(*args), 4), round(vega(*args), 4), round(rho(*args), 4)
(0.5216, 0.0655, 0.1211, 0.0891)
"""

from __future__ import annotations

from ... import _engine
from ..._engine import FLAG, value_scalar
from ..._engine import bsm_d1 as d1  # noqa: F401
from ..._engine import bsm_d2 as d2  # noqa: F401

# names vollib's module also exposes (imported there), for code that imports them from here
from ..._engine import norm_cdf as N  # noqa: F401
from ..._fast import BSM, DELTA, GAMMA, PER_DAY, PER_POINT, RHO, THETA, VEGA, compiled
from ...helpers import pdf  # noqa: F401

__all__ = ["delta", "gamma", "rho", "theta", "vega"]


@compiled(BSM, DELTA, 1.0, 7)
def delta(flag: str, S: float, K: float, t: float, r: float, sigma: float, q: float) -> float:
    """Black-Scholes-Merton delta dV/dS."""
    v = value_scalar(1, FLAG.get(flag), S, K, t, r, sigma, q, 1, 0)
    if v is None or t <= 0.0 or sigma <= 0.0:
        return _engine.bsm_delta(flag, S, K, t, r, sigma, q)  # type: ignore[no-any-return]
    return v


@compiled(BSM, THETA, PER_DAY, 7)
def theta(flag: str, S: float, K: float, t: float, r: float, sigma: float, q: float) -> float:
    """Black-Scholes-Merton theta per calendar day (annual dV/dt / 365)."""
    v = value_scalar(4, FLAG.get(flag), S, K, t, r, sigma, q, 1, 0)
    if v is None or t <= 0.0 or sigma <= 0.0:
        return _engine.bsm_theta(flag, S, K, t, r, sigma, q)  # type: ignore[no-any-return]
    return v / 365.0


@compiled(BSM, GAMMA, 1.0, 7)
def gamma(flag: str, S: float, K: float, t: float, r: float, sigma: float, q: float) -> float:
    """Black-Scholes-Merton gamma d2V/dS2."""
    v = value_scalar(2, FLAG.get(flag), S, K, t, r, sigma, q, 1, 0)
    if v is None or t <= 0.0 or sigma <= 0.0:
        return _engine.bsm_gamma(flag, S, K, t, r, sigma, q)  # type: ignore[no-any-return]
    return v


@compiled(BSM, VEGA, PER_POINT, 7)
def vega(flag: str, S: float, K: float, t: float, r: float, sigma: float, q: float) -> float:
    """Black-Scholes-Merton vega per vol point (dV/dsigma x 0.01)."""
    v = value_scalar(3, FLAG.get(flag), S, K, t, r, sigma, q, 1, 0)
    if v is None or t <= 0.0 or sigma <= 0.0:
        return _engine.bsm_vega(flag, S, K, t, r, sigma, q)  # type: ignore[no-any-return]
    return v * 0.01


@compiled(BSM, RHO, PER_POINT, 7)
def rho(flag: str, S: float, K: float, t: float, r: float, sigma: float, q: float) -> float:
    """Black-Scholes-Merton rho per rate point (dV/dr x 0.01, q held)."""
    v = value_scalar(5, FLAG.get(flag), S, K, t, r, sigma, q, 1, 0)
    if v is None or t <= 0.0 or sigma <= 0.0:
        return _engine.bsm_rho(flag, S, K, t, r, sigma, q)  # type: ignore[no-any-return]
    return v * 0.01
