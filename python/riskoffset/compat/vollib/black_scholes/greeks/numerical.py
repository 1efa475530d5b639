"""vollib.black_scholes.greeks.numerical: vollib's finite-difference Black-Scholes Greeks (definitions in
helpers.numerical_greeks), with the prices computed by riskoffset's core.  Units as vollib."""

from __future__ import annotations

from typing import Any

from ... import _numerical
from ...helpers.numerical_greeks import delta as numerical_delta  # noqa: F401
from ...helpers.numerical_greeks import gamma as numerical_gamma  # noqa: F401
from ...helpers.numerical_greeks import rho as numerical_rho  # noqa: F401
from ...helpers.numerical_greeks import theta as numerical_theta  # noqa: F401
from ...helpers.numerical_greeks import vega as numerical_vega  # noqa: F401
from .. import black_scholes
from .analytical import delta as adelta  # noqa: F401
from .analytical import gamma as agamma  # noqa: F401
from .analytical import rho as arho  # noqa: F401
from .analytical import theta as atheta  # noqa: F401
from .analytical import vega as avega  # noqa: F401

__all__ = ["delta", "gamma", "rho", "theta", "vega"]


def f(flag: Any, S: Any, K: Any, t: Any, r: Any, sigma: Any, b: Any) -> Any:
    """vollib's pricing adapter for the generic numerical Greeks (b = r, ignored)."""
    return black_scholes(flag, S, K, t, r, sigma)


def delta(flag: str, S: float, K: float, t: float, r: float, sigma: float) -> float:
    """(P(S (1 + 0.01)) - P(S (1 - 0.01))) / (2 S 0.01)."""
    return _numerical.delta(flag, S, K, t, r, sigma, r, 0.0, 1, f)  # type: ignore[no-any-return]


def theta(flag: str, S: float, K: float, t: float, r: float, sigma: float) -> float:
    """P(t - 1/365) - P(t): one calendar day of decay."""
    return _numerical.theta(flag, S, K, t, r, sigma, r, 0.0, 1, f)  # type: ignore[no-any-return]


def vega(flag: str, S: float, K: float, t: float, r: float, sigma: float) -> float:
    """(P(sigma + 0.01) - P(sigma - 0.01)) / 2."""
    return _numerical.vega(flag, S, K, t, r, sigma, r, 0.0, 1, f)  # type: ignore[no-any-return]


def rho(flag: str, S: float, K: float, t: float, r: float, sigma: float) -> float:
    """(P(r + 0.01) - P(r - 0.01)) / 2."""
    return _numerical.rho(flag, S, K, t, r, sigma, r, 0.0, 0.0, 1, f)  # type: ignore[no-any-return]


def gamma(flag: str, S: float, K: float, t: float, r: float, sigma: float) -> float:
    """(P(S (1 + 0.01)) - 2 P(S) + P(S (1 - 0.01))) / (S 0.01)^2."""
    return _numerical.gamma(flag, S, K, t, r, sigma, r, 0.0, 1, f)  # type: ignore[no-any-return]
