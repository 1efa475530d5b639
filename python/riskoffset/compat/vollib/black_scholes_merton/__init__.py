"""vollib.black_scholes_merton: Black-Scholes-Merton (spot S, rate r, continuous dividend yield q).

Drop-in for ``vollib.black_scholes_merton`` / ``py_vollib.black_scholes_merton`` 1.0.11, computed by
riskoffset's core.
"""

from __future__ import annotations

from .. import _engine
from .._engine import FLAG, value_scalar
from .._fast import BSM, PRICE, compiled

# names vollib's module also exposes (imported there), for code that imports them from here
from ..helpers import binary_flag  # noqa: F401
from ..lets_be_rational import black  # noqa: F401

__all__ = ["black_scholes_merton"]


@compiled(BSM, PRICE, 1.0, 7)
def black_scholes_merton(flag: str, S: float, K: float, t: float, r: float, sigma: float, q: float) -> float:
    """Black-Scholes-Merton price: the Black-Scholes price with a continuous dividend yield q.

    >>> abs(black_scholes_merton('p', 100, 95, 0.5, 0.1, 0.2, .05) - 2.4648) < 0.0001
    True
    """
    v = value_scalar(0, FLAG.get(flag), S, K, t, r, sigma, q, 1, 0)
    if v is None or t < 0.0:
        return _engine.black_scholes_merton(flag, S, K, t, r, sigma, q)  # type: ignore[no-any-return]
    return v
