"""vollib.black_scholes.implied_volatility: ``implied_volatility(price, S, K, t, r, flag)`` (flag last).

Raises ``BelowIntrinsicException`` / ``AboveMaximumException`` (also ``helpers.exceptions.PriceIsBelowIntrinsic``
/ ``PriceIsAboveMaximum``) where vollib 1.0.11 does.
"""

from __future__ import annotations

from .. import _engine
from .._engine import FLAG, implied_vol_scalar

# names vollib's module also exposes (imported there), for code that imports them from here
from ..helpers import binary_flag, forward_price  # noqa: F401
from ..helpers.constants import FLOAT_MAX, MINUS_FLOAT_MAX  # noqa: F401
from ..helpers.exceptions import PriceIsAboveMaximum, PriceIsBelowIntrinsic  # noqa: F401
from ..lets_be_rational import implied_volatility_from_a_transformed_rational_guess as iv  # noqa: F401
from . import black_scholes

__all__ = ["black_scholes", "implied_volatility"]


def implied_volatility(price: float, S: float, K: float, t: float, r: float, flag: str) -> float:
    """Black-Scholes implied volatility.

    >>> p = black_scholes('c', 100, 100, .5, .01, .2)
    >>> round(p, 10), abs(implied_volatility(p, 100, 100, .5, .01, 'c') - 0.2) < 1e-12
    (5.8760242338, True)
    """
    res = implied_vol_scalar(price, FLAG.get(flag), S, K, t, r, 0.0, 1, 0)
    if res is not None and res[1] == 0:
        return res[0]
    return _engine.black_scholes_implied_volatility(price, S, K, t, r, flag)  # type: ignore[no-any-return]
