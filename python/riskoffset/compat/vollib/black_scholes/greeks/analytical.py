"""vollib.black_scholes.greeks.analytical: closed-form Black-Scholes Greeks in vollib's units.

delta = dV/dS (put: N(d1) - 1); gamma = d2V/dS2; theta per calendar day (annual dV/dt / 365, usually
negative); vega per vol point (x 0.01); rho per rate point (x 0.01).

A call 2 % out of the money with 20 weeks left (S=49, K=50, r=0.05, t=0.3846, sigma=0.2):

>>> args = ('c', 49, 50, 0.3846, 0.05, 0.2)
>>> round(delta(*args), 4), round(gamma(*args), 4), round(vega(*args), 4), round(rho(*args), 4)
(0.5216, 0.0655, 0.1211, 0.0891)
>>> round(theta(*args) * 365, 3), round(theta('p', 49, 50, 0.3846, 0.05, 0.2) * 365, 3)
(-4.305, -1.853)
"""

from __future__ import annotations

from ... import _engine
from ..._engine import FLAG, value_scalar
from ..._engine import bs_d1 as d1  # noqa: F401
from ..._engine import bs_d2 as d2  # noqa: F401

# names vollib's module also exposes (imported there), for code that imports them from here
from ..._engine import norm_cdf as N  # noqa: F401
from ..._fast import BSM, DELTA, GAMMA, PER_DAY, PER_POINT, RHO, THETA, VEGA, compiled
from ...helpers import pdf  # noqa: F401

__all__ = ["delta", "gamma", "rho", "theta", "vega"]


@compiled(BSM, DELTA, 1.0, 6)
def delta(flag: str, S: float, K: float, t: float, r: float, sigma: float) -> float:
    """Black-Scholes delta dV/dS."""
    v = value_scalar(1, FLAG.get(flag), S, K, t, r, sigma, 0.0, 1, 0)
    if v is None or t <= 0.0 or sigma <= 0.0:
        return _engine.bs_delta(flag, S, K, t, r, sigma)  # type: ignore[no-any-return]
    return v


@compiled(BSM, THETA, PER_DAY, 6)
def theta(flag: str, S: float, K: float, t: float, r: float, sigma: float) -> float:
    """Black-Scholes theta per calendar day (annual dV/dt / 365)."""
    v = value_scalar(4, FLAG.get(flag), S, K, t, r, sigma, 0.0, 1, 0)
    if v is None or t <= 0.0 or sigma <= 0.0:
        return _engine.bs_theta(flag, S, K, t, r, sigma)  # type: ignore[no-any-return]
    return v / 365.0


@compiled(BSM, GAMMA, 1.0, 6)
def gamma(flag: str, S: float, K: float, t: float, r: float, sigma: float) -> float:
    """Black-Scholes gamma d2V/dS2."""
    v = value_scalar(2, FLAG.get(flag), S, K, t, r, sigma, 0.0, 1, 0)
    if v is None or t <= 0.0 or sigma <= 0.0:
        return _engine.bs_gamma(flag, S, K, t, r, sigma)  # type: ignore[no-any-return]
    return v


@compiled(BSM, VEGA, PER_POINT, 6)
def vega(flag: str, S: float, K: float, t: float, r: float, sigma: float) -> float:
    """Black-Scholes vega per vol point (dV/dsigma x 0.01)."""
    v = value_scalar(3, FLAG.get(flag), S, K, t, r, sigma, 0.0, 1, 0)
    if v is None or t <= 0.0 or sigma <= 0.0:
        return _engine.bs_vega(flag, S, K, t, r, sigma)  # type: ignore[no-any-return]
    return v * 0.01


@compiled(BSM, RHO, PER_POINT, 6)
def rho(flag: str, S: float, K: float, t: float, r: float, sigma: float) -> float:
    """Black-Scholes rho per rate point (dV/dr x 0.01)."""
    v = value_scalar(5, FLAG.get(flag), S, K, t, r, sigma, 0.0, 1, 0)
    if v is None or t <= 0.0 or sigma <= 0.0:
        return _engine.bs_rho(flag, S, K, t, r, sigma)  # type: ignore[no-any-return]
    return v * 0.01
