"""vollib.black_scholes: the Black-Scholes model (spot S, rate r, no dividend).

Drop-in for ``vollib.black_scholes`` / ``py_vollib.black_scholes`` 1.0.11, computed by riskoffset's core.
"""

from __future__ import annotations

from .. import _engine
from .._engine import FLAG, value_scalar
from .._fast import BSM, PRICE, compiled

# names vollib's module also exposes (imported there), for code that imports them from here
from ..black import undiscounted_black  # noqa: F401

__all__ = ["black_scholes"]


@compiled(BSM, PRICE, 1.0, 6)
def black_scholes(flag: str, S: float, K: float, t: float, r: float, sigma: float) -> float:
    """Black-Scholes price of a European call ('c') or put ('p').

    >>> round(black_scholes('c', 100, 90, .5, .01, .2), 9), round(black_scholes('p', 100, 90, .5, .01, .2), 9)
    (12.111581435, 1.662704562)
    """
    v = value_scalar(0, FLAG.get(flag), S, K, t, r, sigma, 0.0, 1, 0)
    if v is None or t < 0.0:
        return _engine.black_scholes(flag, S, K, t, r, sigma)  # type: ignore[no-any-return]
    return v
