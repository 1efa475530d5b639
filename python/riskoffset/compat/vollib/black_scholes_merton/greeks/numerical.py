"""vollib.black_scholes_merton.greeks.numerical: vollib's finite-difference Black-Scholes-Merton Greeks
(definitions in helpers.numerical_greeks; b = r - q is the cost of carry, and the dividend yield passed to
the pricing function is r - b, so q is held in the rho bumps), prices from riskoffset's core."""

from __future__ import annotations

from typing import Any

from ... import _numerical
from ...helpers.numerical_greeks import delta as numerical_delta  # noqa: F401
from ...helpers.numerical_greeks import gamma as numerical_gamma  # noqa: F401
from ...helpers.numerical_greeks import rho as numerical_rho  # noqa: F401
from ...helpers.numerical_greeks import theta as numerical_theta  # noqa: F401
from ...helpers.numerical_greeks import vega as numerical_vega  # noqa: F401
from .. import black_scholes_merton
from .analytical import delta as adelta  # noqa: F401
from .analytical import gamma as agamma  # noqa: F401
from .analytical import rho as arho  # noqa: F401
from .analytical import theta as atheta  # noqa: F401
from .analytical import vega as avega  # noqa: F401

__all__ = ["delta", "gamma", "rho", "theta", "vega"]


def f(flag: Any, S: Any, K: Any, t: Any, r: Any, sigma: Any, b: Any) -> Any:
    """vollib's pricing adapter: black_scholes_merton(flag, S, K, t, r, sigma, r - b)."""
    return black_scholes_merton(flag, S, K, t, r, sigma, r - b)


def delta(flag: str, S: float, K: float, t: float, r: float, sigma: float, q: float) -> float:
    """(P(S (1 + 0.01)) - P(S (1 - 0.01))) / (2 S 0.01)."""
    b = r - q
    return _numerical.delta(flag, S, K, t, r, sigma, b, r - b, 1, f)  # type: ignore[no-any-return]


def theta(flag: str, S: float, K: float, t: float, r: float, sigma: float, q: float) -> float:
    """P(t - 1/365) - P(t): one calendar day of decay."""
    b = r - q
    return _numerical.theta(flag, S, K, t, r, sigma, b, r - b, 1, f)  # type: ignore[no-any-return]


def vega(flag: str, S: float, K: float, t: float, r: float, sigma: float, q: float) -> float:
    """(P(sigma + 0.01) - P(sigma - 0.01)) / 2."""
    b = r - q
    return _numerical.vega(flag, S, K, t, r, sigma, b, r - b, 1, f)  # type: ignore[no-any-return]


def rho(flag: str, S: float, K: float, t: float, r: float, sigma: float, q: float) -> float:
    """(P(r + 0.01, b + 0.01) - P(r - 0.01, b - 0.01)) / 2, i.e. q held."""
    b = r - q
    q_up, q_dn = (r + 0.01) - (b + 0.01), (r - 0.01) - (b - 0.01)
    return _numerical.rho(flag, S, K, t, r, sigma, b, q_up, q_dn, 1, f)  # type: ignore[no-any-return]


def gamma(flag: str, S: float, K: float, t: float, r: float, sigma: float, q: float) -> float:
    """(P(S (1 + 0.01)) - 2 P(S) + P(S (1 - 0.01))) / (S 0.01)^2."""
    b = r - q
    return _numerical.gamma(flag, S, K, t, r, sigma, b, r - b, 1, f)  # type: ignore[no-any-return]
