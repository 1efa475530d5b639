"""vollib.black: Black's model for options on futures/forwards, discounted at exp(-r t).

Drop-in for ``vollib.black`` / ``py_vollib.black`` 1.0.11, computed by riskoffset's compiled core.
"""

from __future__ import annotations

from .. import _engine
from .._engine import BINARY_FLAG, FLAG, value_scalar
from .._fast import BLACK76, PRICE, compiled

# names vollib's module also exposes (imported there), for code that imports them from here
from ..helpers import binary_flag  # noqa: F401

__all__ = ["black", "normalised_black", "undiscounted_black"]


@compiled(BLACK76, PRICE, 1.0, 6)
def black(flag: str, F: float, K: float, t: float, r: float, sigma: float) -> float:
    """Discounted Black option price exp(-r t) [F N(d1) - K N(d2)] (call), flag 'c' or 'p'.

    >>> round(black('c', 100, 100, .5, .02, .2), 10)
    5.5811067246
    """
    v = value_scalar(0, FLAG.get(flag), F, K, t, r, sigma, 0.0, 0, 0)
    if v is None or t < 0.0:
        return _engine.black(flag, F, K, t, r, sigma)  # type: ignore[no-any-return]
    return v


def undiscounted_black(F: float, K: float, sigma: float, t: float, flag: str) -> float:
    """Undiscounted Black option price (note vollib's argument order: F, K, sigma, t, flag).

    >>> round(undiscounted_black(100, 100, .2, .5, 'c'), 10)
    5.6371977797
    """
    v = value_scalar(0, FLAG.get(flag), F, K, t, 0.0, sigma, 0.0, 0, 0)
    if v is None or t < 0.0:
        return _engine.undiscounted_black(F, K, sigma, t, flag)  # type: ignore[no-any-return]
    return v


def normalised_black(x: float, s: float, flag: str) -> float:
    """Normalised Black value b(x, s) with x = ln(F/K), s = sigma sqrt(t): price / sqrt(F K).

    >>> from math import log, sqrt
    >>> round(normalised_black(log(100 / 95.), 0.3 * sqrt(0.5), 'p'), 12)
    0.061296663818
    """
    return _engine.normalised_black(x, s, BINARY_FLAG[flag])
