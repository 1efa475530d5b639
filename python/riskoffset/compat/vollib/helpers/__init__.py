"""vollib.helpers: flag constants, the normal pdf and the forward price, as in vollib 1.0.11."""

from __future__ import annotations

from typing import Any

import numpy

ONE_OVER_SQRT_TWO_PI = 0.3989422804014326779399460599343818684758586311649
CALL = "c"
PUT = "p"

binary_flag = {CALL: 1, PUT: -1}


def pdf(x: Any) -> Any:
    """The standard normal probability density (numpy: works on scalars and arrays)."""
    return ONE_OVER_SQRT_TWO_PI * numpy.exp(-0.5 * x * x)


def forward_price(S: Any, t: Any, r: Any) -> Any:
    """Forward price S / exp(-r t) of an asset with spot S, as vollib computes it.

    >>> bool(abs(forward_price(95, .5, .02) - 95.95476587299596) < 1e-9)
    True
    """
    return S / numpy.exp(-r * t)


__all__ = ["CALL", "ONE_OVER_SQRT_TWO_PI", "PUT", "binary_flag", "forward_price", "pdf"]
