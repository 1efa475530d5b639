"""vollib.black.greeks.numerical: vollib's finite-difference Black-76 Greeks (see helpers.numerical_greeks
for the definitions: 1 % relative spot bump, one-day theta, +/- 0.01 vol and rate bumps), with the prices
computed by riskoffset's core.  Units as vollib: theta per day, vega and rho per point (rho with F held)."""

from __future__ import annotations

from typing import Any

from ... import _numerical
from ...helpers.numerical_greeks import delta as numerical_delta  # noqa: F401
from ...helpers.numerical_greeks import gamma as numerical_gamma  # noqa: F401
from ...helpers.numerical_greeks import rho as numerical_rho  # noqa: F401
from ...helpers.numerical_greeks import theta as numerical_theta  # noqa: F401
from ...helpers.numerical_greeks import vega as numerical_vega  # noqa: F401
from .. import black
from .analytical import delta as adelta  # noqa: F401
from .analytical import gamma as agamma  # noqa: F401
from .analytical import rho as arho  # noqa: F401
from .analytical import theta as atheta  # noqa: F401
from .analytical import vega as avega  # noqa: F401

__all__ = ["delta", "gamma", "rho", "theta", "vega"]


def f(flag: Any, F: Any, K: Any, t: Any, r: Any, sigma: Any, b: Any) -> Any:
    """vollib's pricing adapter for the generic numerical Greeks (b is ignored: Black-76 has b = 0)."""
    return black(flag, F, K, t, r, sigma)


def delta(flag: str, F: float, K: float, t: float, r: float, sigma: float) -> float:
    """(black(F (1 + 0.01)) - black(F (1 - 0.01))) / (2 F 0.01)."""
    return _numerical.delta(flag, F, K, t, r, sigma, 0, 0.0, 0, f)  # type: ignore[no-any-return]


def theta(flag: str, F: float, K: float, t: float, r: float, sigma: float) -> float:
    """black(t - 1/365) - black(t): one calendar day of decay."""
    return _numerical.theta(flag, F, K, t, r, sigma, 0, 0.0, 0, f)  # type: ignore[no-any-return]


def vega(flag: str, F: float, K: float, t: float, r: float, sigma: float) -> float:
    """(black(sigma + 0.01) - black(sigma - 0.01)) / 2."""
    return _numerical.vega(flag, F, K, t, r, sigma, 0, 0.0, 0, f)  # type: ignore[no-any-return]


def rho(flag: str, F: float, K: float, t: float, r: float, sigma: float) -> float:
    """(black(r + 0.01) - black(r - 0.01)) / 2, F held."""
    return _numerical.rho(flag, F, K, t, r, sigma, 0, 0.0, 0.0, 0, f)  # type: ignore[no-any-return]


def gamma(flag: str, F: float, K: float, t: float, r: float, sigma: float) -> float:
    """(black(F (1 + 0.01)) - 2 black(F) + black(F (1 - 0.01))) / (F 0.01)^2."""
    return _numerical.gamma(flag, F, K, t, r, sigma, 0, 0.0, 0, f)  # type: ignore[no-any-return]
