"""vollib.lets_be_rational: the lets_be_rational entry points vollib re-exports, backed by riskoffset's core.

``black(F, K, sigma, T, q)`` is the undiscounted Black price with q = +1 (call) / -1 (put); the
``normalised_*`` functions work on x = ln(F/K) and s = sigma sqrt(T).  The ``..._with_limited_iterations``
variants accept N for compatibility and always solve to full precision.
"""

from __future__ import annotations

from .. import _engine
from .._engine import norm_cdf, normalised_black, normalised_black_call, normalised_vega
from .exceptions import (
    AboveMaximumException,
    BelowIntrinsicException,
    PriceIsAboveMaximum,
    PriceIsBelowIntrinsic,
    VolatilityValueException,
)

__all__ = [
    "AboveMaximumException",
    "BelowIntrinsicException",
    "PriceIsAboveMaximum",
    "PriceIsBelowIntrinsic",
    "VolatilityValueException",
    "black",
    "implied_volatility_from_a_transformed_rational_guess",
    "implied_volatility_from_a_transformed_rational_guess_with_limited_iterations",
    "norm_cdf",
    "normalised_black",
    "normalised_black_call",
    "normalised_implied_volatility_from_a_transformed_rational_guess",
    "normalised_implied_volatility_from_a_transformed_rational_guess_with_limited_iterations",
    "normalised_vega",
]


def black(F: float, K: float, sigma: float, T: float, q: float) -> float:
    """Undiscounted Black price; q = +1 for a call, -1 for a put."""
    v = _engine.value_scalar(0, q > 0, F, K, T, 0.0, sigma, 0.0, 0, 0) if (q == 1 or q == -1) else None
    if v is None or T < 0.0:
        return _engine.lbr_black(F, K, sigma, T, q)
    return v


def implied_volatility_from_a_transformed_rational_guess(
    price: float, F: float, K: float, T: float, q: float
) -> float:
    """Implied volatility of an undiscounted Black price (q = +1 call, -1 put)."""
    return _engine.lbr_implied_volatility(price, F, K, T, q)  # type: ignore[no-any-return]


def implied_volatility_from_a_transformed_rational_guess_with_limited_iterations(
    price: float, F: float, K: float, T: float, q: float, N: int
) -> float:
    """As implied_volatility_from_a_transformed_rational_guess (N ignored)."""
    return _engine.lbr_implied_volatility(price, F, K, T, q)  # type: ignore[no-any-return]


def normalised_implied_volatility_from_a_transformed_rational_guess(beta: float, x: float, q: float) -> float:
    """Normalised implied volatility s of a normalised Black price beta."""
    return _engine.normalised_implied_volatility(beta, x, q)  # type: ignore[no-any-return]


def normalised_implied_volatility_from_a_transformed_rational_guess_with_limited_iterations(
    beta: float, x: float, q: float, N: int
) -> float:
    """As normalised_implied_volatility_from_a_transformed_rational_guess (N ignored)."""
    return _engine.normalised_implied_volatility(beta, x, q)  # type: ignore[no-any-return]
