"""vollib.black.implied_volatility: Black-76 implied volatility (note vollib's argument order: r before t).

A price below intrinsic raises ``BelowIntrinsicException`` and a price at or above the maximum (the discounted
forward for a call, the discounted strike for a put) raises ``AboveMaximumException``, exactly where vollib
1.0.11 raises them; both are also ``helpers.exceptions.PriceIsBelowIntrinsic`` / ``PriceIsAboveMaximum``.
The ``..._limited_iterations`` variants accept N for compatibility and always solve to full precision.
"""

from __future__ import annotations

from .. import _engine
from .._engine import BINARY_FLAG, FLAG, implied_vol_scalar

# names vollib's module also exposes (imported there), for code that imports them from here
from ..helpers import binary_flag, forward_price  # noqa: F401
from ..helpers.constants import FLOAT_MAX, MINUS_FLOAT_MAX  # noqa: F401
from ..helpers.exceptions import PriceIsAboveMaximum, PriceIsBelowIntrinsic  # noqa: F401
from ..lets_be_rational import implied_volatility_from_a_transformed_rational_guess as iv  # noqa: F401
from . import black, normalised_black, undiscounted_black

__all__ = [
    "black",
    "implied_volatility",
    "implied_volatility_of_discounted_option_price",
    "implied_volatility_of_undiscounted_option_price",
    "implied_volatility_of_undiscounted_option_price_limited_iterations",
    "normalised_black",
    "normalised_implied_volatility",
    "normalised_implied_volatility_limited_iterations",
    "undiscounted_black",
]


def implied_volatility_of_discounted_option_price(
    discounted_option_price: float, F: float, K: float, r: float, t: float, flag: str
) -> float:
    """Implied volatility of a discounted Black price.

    >>> p = black('c', 100, 100, .5, .02, .2)
    >>> abs(implied_volatility_of_discounted_option_price(p, 100, 100, .02, .5, 'c') - 0.2) < 1e-12
    True
    """
    res = implied_vol_scalar(discounted_option_price, FLAG.get(flag), F, K, t, r, 0.0, 0, 0)
    if res is not None and res[1] == 0:
        return res[0]
    return _engine.black_implied_volatility(discounted_option_price, F, K, r, t, flag)  # type: ignore[no-any-return]


def implied_volatility(
    discounted_option_price: float, F: float, K: float, r: float, t: float, flag: str
) -> float:
    """Implied volatility of a discounted Black price: ``implied_volatility(price, F, K, r, t, flag)``."""
    res = implied_vol_scalar(discounted_option_price, FLAG.get(flag), F, K, t, r, 0.0, 0, 0)
    if res is not None and res[1] == 0:
        return res[0]
    return _engine.black_implied_volatility(discounted_option_price, F, K, r, t, flag)  # type: ignore[no-any-return]


def implied_volatility_of_undiscounted_option_price(
    undiscounted_option_price: float, F: float, K: float, t: float, flag: str
) -> float:
    """Implied volatility of an undiscounted Black price."""
    res = implied_vol_scalar(undiscounted_option_price, FLAG.get(flag), F, K, t, 0.0, 0.0, 0, 0)
    if res is not None and res[1] == 0:
        return res[0]
    return _engine.lbr_implied_volatility(  # type: ignore[no-any-return]
        undiscounted_option_price, F, K, t, BINARY_FLAG[flag]
    )


def implied_volatility_of_undiscounted_option_price_limited_iterations(
    undiscounted_option_price: float, F: float, K: float, t: float, flag: str, N: int
) -> float:
    """As implied_volatility_of_undiscounted_option_price (N is accepted and ignored: full precision)."""
    return implied_volatility_of_undiscounted_option_price(undiscounted_option_price, F, K, t, flag)


def normalised_implied_volatility(beta: float, x: float, flag: str) -> float:
    """Normalised implied volatility s = sigma sqrt(t) of a normalised Black price beta at x = ln(F/K)."""
    return _engine.normalised_implied_volatility(beta, x, BINARY_FLAG[flag])  # type: ignore[no-any-return]


def normalised_implied_volatility_limited_iterations(beta: float, x: float, flag: str, N: int) -> float:
    """As normalised_implied_volatility (N is accepted and ignored: full precision)."""
    return _engine.normalised_implied_volatility(beta, x, BINARY_FLAG[flag])  # type: ignore[no-any-return]
