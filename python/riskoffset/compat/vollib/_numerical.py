"""Fast paths of vollib's numerical Greeks (helpers.numerical_greeks), shared by the three models.

Each function evaluates exactly vollib's finite-difference definition (same bumps, same arithmetic, same
edge cases) with the prices taken from the compiled core.  Whenever a bumped price is outside the core's
domain (or t < 0), it falls back to the generic definition in ``helpers.numerical_greeks`` called with the
model's full pricing function, which then behaves exactly like vollib's.

``q_of(r, b)`` in vollib's Black-Scholes-Merton numerical Greeks is ``r - b`` with b = r - q; the callers
pass the resulting dividend yields (q0 for unbumped rates, q_up / q_dn for the rho bumps).
"""

from __future__ import annotations

from typing import Any, Callable

from . import _engine
from .helpers import numerical_greeks as _nh

value_scalar = _engine.value_scalar
FLAG = _engine.FLAG

dS = _nh.dS
_UP = 1 + dS
_DN = 1 - dS
_DAY = 1.0 / 365.0

PricingFunction = Callable[..., Any]


def delta(
    flag: Any, S: Any, K: Any, t: Any, r: Any, sigma: Any, b: Any, q0: float, model: int, f: PricingFunction
) -> Any:
    if S != 0 and t != 0.0:
        fb = FLAG.get(flag)
        up = value_scalar(0, fb, S * _UP, K, t, r, sigma, q0, model, 0)
        if up is not None and t > 0.0:
            dn = value_scalar(0, fb, S * _DN, K, t, r, sigma, q0, model, 0)
            if dn is not None:
                return (up - dn) / (2 * S * dS)
    return _nh.delta(flag, S, K, t, r, sigma, b, f)


def gamma(
    flag: Any, S: Any, K: Any, t: Any, r: Any, sigma: Any, b: Any, q0: float, model: int, f: PricingFunction
) -> Any:
    if S != 0 and t != 0:
        fb = FLAG.get(flag)
        up = value_scalar(0, fb, S * _UP, K, t, r, sigma, q0, model, 0)
        if up is not None and t > 0.0:
            mid = value_scalar(0, fb, S, K, t, r, sigma, q0, model, 0)
            dn = value_scalar(0, fb, S * _DN, K, t, r, sigma, q0, model, 0)
            if mid is not None and dn is not None:
                return (up - 2.0 * mid + dn) / (S * dS) ** 2.0
    return _nh.gamma(flag, S, K, t, r, sigma, b, f)


def theta(
    flag: Any, S: Any, K: Any, t: Any, r: Any, sigma: Any, b: Any, q0: float, model: int, f: PricingFunction
) -> Any:
    fb = FLAG.get(flag)
    now = value_scalar(0, fb, S, K, t, r, sigma, q0, model, 0)
    if now is not None and t >= 0.0:
        later = value_scalar(0, fb, S, K, 0.00001 if t <= _DAY else t - _DAY, r, sigma, q0, model, 0)
        if later is not None:
            return later - now
    return _nh.theta(flag, S, K, t, r, sigma, b, f)


def vega(
    flag: Any, S: Any, K: Any, t: Any, r: Any, sigma: Any, b: Any, q0: float, model: int, f: PricingFunction
) -> Any:
    fb = FLAG.get(flag)
    up = value_scalar(0, fb, S, K, t, r, sigma + 0.01, q0, model, 0)
    if up is not None and t >= 0.0:
        dn = value_scalar(0, fb, S, K, t, r, sigma - 0.01, q0, model, 0)
        if dn is not None:
            return (up - dn) / 2.0
    return _nh.vega(flag, S, K, t, r, sigma, b, f)


def rho(
    flag: Any,
    S: Any,
    K: Any,
    t: Any,
    r: Any,
    sigma: Any,
    b: Any,
    q_up: float,
    q_dn: float,
    model: int,
    f: PricingFunction,
) -> Any:
    fb = FLAG.get(flag)
    up = value_scalar(0, fb, S, K, t, r + 0.01, sigma, q_up, model, 0)
    if up is not None and t >= 0.0:
        dn = value_scalar(0, fb, S, K, t, r - 0.01, sigma, q_dn, model, 0)
        if dn is not None:
            return (up - dn) / 2.0
    return _nh.rho(flag, S, K, t, r, sigma, b, f)
