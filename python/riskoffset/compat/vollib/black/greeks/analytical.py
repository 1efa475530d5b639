"""vollib.black.greeks.analytical: closed-form Black-76 Greeks in vollib's units.

delta = dV/dF (discounted: exp(-r t) N(d1) for a call); gamma = d2V/dF2; theta = dV/dt per calendar day
(F held, time running forward, usually negative); vega per vol point (dV/dsigma x 0.01); rho per rate point
with F held (-t V x 0.01).

A call 2 % out of the money with 20 weeks left (F=49, K=50, r=0.05, t=0.3846, sigma=0.2):

>>> round(delta('c', 49, 50, 0.3846, 0.05, 0.2), 6), round(gamma('c', 49, 50, 0.3846, 0.05, 0.2), 6)
(0.45107, 0.064065)
"""

from __future__ import annotations

from ... import _engine
from ..._engine import FLAG, value_scalar
from ..._engine import black_d1 as d1  # noqa: F401
from ..._engine import black_d2 as d2  # noqa: F401

# names vollib's module also exposes (imported there), for code that imports them from here
from ..._engine import norm_cdf as N  # noqa: F401
from ..._fast import BLACK76, DELTA, GAMMA, PER_DAY, PER_POINT, RHO, THETA, VEGA, compiled
from ...helpers import pdf  # noqa: F401
from .. import black

__all__ = ["delta", "gamma", "rho", "theta", "vega"]


@compiled(BLACK76, DELTA, 1.0, 6)
def delta(flag: str, F: float, K: float, t: float, r: float, sigma: float) -> float:
    """Black delta dV/dF."""
    v = value_scalar(1, FLAG.get(flag), F, K, t, r, sigma, 0.0, 0, 0)
    if v is None or t <= 0.0 or sigma <= 0.0:
        return _engine.black_delta(flag, F, K, t, r, sigma)  # type: ignore[no-any-return]
    return v


@compiled(BLACK76, THETA, PER_DAY, 6)
def theta(flag: str, F: float, K: float, t: float, r: float, sigma: float) -> float:
    """Black theta per calendar day (annual dV/dt / 365, F held)."""
    v = value_scalar(4, FLAG.get(flag), F, K, t, r, sigma, 0.0, 0, 0)
    if v is None or t <= 0.0 or sigma <= 0.0:
        return _engine.black_theta(flag, F, K, t, r, sigma)  # type: ignore[no-any-return]
    return v / 365.0


@compiled(BLACK76, GAMMA, 1.0, 6)
def gamma(flag: str, F: float, K: float, t: float, r: float, sigma: float) -> float:
    """Black gamma d2V/dF2."""
    v = value_scalar(2, FLAG.get(flag), F, K, t, r, sigma, 0.0, 0, 0)
    if v is None or t <= 0.0 or sigma <= 0.0:
        return _engine.black_gamma(flag, F, K, t, r, sigma)  # type: ignore[no-any-return]
    return v


@compiled(BLACK76, VEGA, PER_POINT, 6)
def vega(flag: str, F: float, K: float, t: float, r: float, sigma: float) -> float:
    """Black vega per vol point (dV/dsigma x 0.01)."""
    v = value_scalar(3, FLAG.get(flag), F, K, t, r, sigma, 0.0, 0, 0)
    if v is None or t <= 0.0 or sigma <= 0.0:
        return _engine.black_vega(flag, F, K, t, r, sigma)  # type: ignore[no-any-return]
    return v * 0.01


@compiled(BLACK76, RHO, PER_POINT, 6)
def rho(flag: str, F: float, K: float, t: float, r: float, sigma: float) -> float:
    """Black rho per rate point with F held: -t V x 0.01."""
    v = value_scalar(5, FLAG.get(flag), F, K, t, r, sigma, 0.0, 0, 0)
    if v is None or t < 0.0:
        return -t * black(flag, F, K, t, r, sigma) * 0.01
    return v * 0.01
