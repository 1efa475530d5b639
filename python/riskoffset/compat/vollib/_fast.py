"""Compiled fast paths for the closed-form vollib functions.

`compiled(model, output, scale, nargs)` turns a compat function into a `riskoffset._core.pricing.ScalarFunction`:
called with vollib's positional arguments as plain numbers inside the model's domain (flag 'c' or 'p';
S or F, K, t, sigma > 0 and finite; r, q finite) it prices in C++ and returns ``scale * output`` without
entering Python; any other call (keywords, other types, edge values) runs the decorated Python function,
which keeps vollib's exact behaviour.  The wrapper carries the function's name, docstring and signature.
"""

from __future__ import annotations

import functools
from typing import Callable, TypeVar, cast

from ... import _core

F = TypeVar("F", bound=Callable[..., float])

BLACK76, BSM = 0, 1
PRICE, DELTA, GAMMA, VEGA, THETA, RHO = 0, 1, 2, 3, 4, 5
PER_DAY = 1.0 / 365.0  # vollib's theta: per calendar day
PER_POINT = 0.01  # vollib's vega and rho: per vol / rate point


def compiled(model: int, output: int, scale: float, nargs: int) -> Callable[[F], F]:
    def wrap(function: F) -> F:
        fast = _core.pricing.ScalarFunction(model, output, scale, nargs, function)
        functools.update_wrapper(fast, function)
        return cast(F, fast)

    return wrap
