"""Prices and Greeks of European options for whole arrays at once (Black-76 and Black-Scholes-Merton,
linear and inverse settlement), computed by the SIMD kernels of the compiled core.

Units (DESIGN §3): t in years (ACT/365), sigma, r and q as decimals (continuously compounded).  Greeks
are per unit: vega per 1.00 of vol, theta = dV/dt per year with calendar time running forward (usually
negative), rho per 1.00 of rate with the underlying argument held, vanna = d2V/dS dsigma,
volga = d2V/dsigma2, charm = d(delta)/dt per year.  For settlement="inverse" every output is the
derivative of the coin value c = V / underlying, plus delta_pa = underlying * dc/dS (premium-adjusted
coin delta) and delta_b76 = dV/dS (the plain delta that Deribit displays).
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Mapping, Union

import numpy as np

from . import _core
from ._inputs import (
    FloatArray,
    broadcast_columns,
    flag_array,
    float_array,
    model_code,
    row_label,
    settlement_code,
)

GREEK_NAMES: tuple[str, ...] = tuple(_core.OUTPUT_NAMES)
LINEAR_OUTPUTS = GREEK_NAMES[:9]
_BIT = {name: 1 << i for i, name in enumerate(GREEK_NAMES)}
_INPUT_NAMES = ("flag", "underlying", "strike", "t", "r", "sigma", "q")
_AUTO_THREAD_ROWS = 200_000

Result = Union[float, FloatArray]


def _threads(threads: int | None, n: int) -> int:
    if threads is None:
        return (os.cpu_count() or 1) if n >= _AUTO_THREAD_ROWS else 1
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
    return threads


def _selection(greeks: str | Iterable[str], settlement: int) -> tuple[str, ...]:
    available = GREEK_NAMES if settlement == 1 else LINEAR_OUTPUTS
    if isinstance(greeks, str):
        if greeks == "all":
            return available
        greeks = (greeks,)
    chosen = tuple(greeks)
    unknown = [g for g in chosen if g not in available]
    if unknown:
        raise ValueError(f"unknown greek(s) {unknown}; available: {', '.join(available)}")
    return tuple(dict.fromkeys(chosen))


def _compute(
    flag: Any,
    underlying: Any,
    strike: Any,
    t: Any,
    r: Any,
    sigma: Any,
    q: Any,
    model: int,
    settlement: int,
    names: tuple[str, ...],
    threads: int | None,
) -> dict[str, Result]:
    arrays = [flag_array(flag)] + [
        float_array(n, v) for n, v in zip(_INPUT_NAMES[1:], (underlying, strike, t, r, sigma, q))
    ]
    shape, n, columns = broadcast_columns(_INPUT_NAMES, arrays)
    mask = 0
    for name in names:
        mask |= _BIT[name]
    outputs, bad, field = _core.greeks(*columns, model, settlement, mask, n, _threads(threads, n))
    if bad >= 0:
        column = columns[_INPUT_NAMES.index(field)]
        value = column[bad if column.size > 1 else 0]
        raise ValueError(
            f"{field} at row {row_label(shape, bad)} is {value!r}: underlying and strike must be finite and "
            "> 0, sigma finite and >= 0, t, r and q finite"
        )
    ordered = [name for name in GREEK_NAMES if mask & _BIT[name]]
    by_name = dict(zip(ordered, outputs))
    if shape == ():
        return {name: float(by_name[name][0]) for name in names}
    return {name: by_name[name].reshape(shape) for name in names}


def price(
    flag: Any,
    underlying: Any,
    strike: Any,
    t: Any,
    r: Any,
    sigma: Any,
    *,
    q: Any = 0.0,
    model: str = "black76",
    settlement: str = "linear",
) -> Result:
    """Option value: Black-76 on the forward (model="black76", underlying = forward F) or
    Black-Scholes-Merton on spot with carry q (model="bsm", underlying = spot S).

    black76 call: exp(-r t) [F N(d1) - K N(d2)], d1 = (ln(F/K) + sigma^2 t / 2) / (sigma sqrt t).
    Linear settlement gives the value in the quote currency; inverse gives coins (value / underlying).
    Arrays broadcast like a ufunc; plain scalars in give a float out.  t <= 0 prices at intrinsic.
    """
    m, s = model_code(model), settlement_code(settlement)
    fast = _core.price_scalar(flag, underlying, strike, t, r, sigma, q, m, s)
    if fast is not None:
        return float(fast)
    return _compute(flag, underlying, strike, t, r, sigma, q, m, s, ("price",), None)["price"]


def greeks(
    flag: Any,
    underlying: Any,
    strike: Any,
    t: Any,
    r: Any,
    sigma: Any,
    *,
    q: Any = 0.0,
    model: str = "black76",
    settlement: str = "linear",
    greeks: str | Iterable[str] = "all",
    threads: int | None = None,
) -> Mapping[str, Result]:
    """Price and Greeks in one pass, only those asked for.

    Returns a dict name -> array (or float for scalar input) with keys among: price, delta, gamma, vega,
    theta, rho, vanna, volga, charm (+ delta_pa, delta_b76 for settlement="inverse").  Units are per unit
    (see the module docstring).  threads=None uses one thread below 200,000 options and every core
    above; the GIL is released while the kernels run.
    """
    m, s = model_code(model), settlement_code(settlement)
    if greeks == "all" and threads is None:
        fast = _core.greeks_scalar(flag, underlying, strike, t, r, sigma, q, m, s)
        if fast is not None:
            return fast  # type: ignore[no-any-return]
    names = _selection(greeks, s)
    return _compute(flag, underlying, strike, t, r, sigma, q, m, s, names, threads)
