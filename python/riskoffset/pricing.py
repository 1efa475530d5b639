"""Prices and Greeks of European options for whole arrays at once (Black-76 and Black-Scholes-Merton,
linear and inverse settlement), computed by the SIMD kernels of the compiled core.

Units: t in years (ACT/365), sigma, r and q as decimals (continuously compounded).  Greeks
are per unit: vega per 1.00 of vol, theta = dV/dt per year with calendar time running forward (usually
negative), rho per 1.00 of rate with the underlying argument held, vanna = d2V/dS dsigma,
volga = d2V/dsigma2, charm = d(delta)/dt per year.  For settlement="inverse" every output is the
derivative of the coin value c = V / underlying, plus delta_pa = underlying * dc/dS (premium-adjusted
coin delta) and delta_b76 = dV/dS (the plain delta that Deribit displays).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any, Union

import numpy as np

from . import _core
from ._inputs import (
    MAX_THREADS,
    broadcast_columns,
    flag_array,
    float_array,
    model_code,
    row_label,
    settlement_code,
    thread_count,
)
from ._types import FloatArray
from .times import years_from_time_argument

GREEK_NAMES: tuple[str, ...] = tuple(_core.pricing.OUTPUT_NAMES)
LINEAR_OUTPUTS = GREEK_NAMES[:9]
_BIT = {name: 1 << i for i, name in enumerate(GREEK_NAMES)}
_INPUT_NAMES = ("flag", "underlying", "strike", "t", "r", "sigma", "q")

Result = Union[float, FloatArray]


@functools.lru_cache(maxsize=256)
def _selection(
    greeks: str | tuple[str, ...], settlement: int
) -> tuple[tuple[str, ...], tuple[str, ...], int]:
    """(names asked for, the same in kernel output order, output bit mask)."""
    available = GREEK_NAMES if settlement == 1 else LINEAR_OUTPUTS
    chosen = available if greeks == "all" else ((greeks,) if isinstance(greeks, str) else greeks)
    unknown = [g for g in chosen if g not in available]
    if unknown:
        raise ValueError(f"unknown greek(s) {unknown}; available: {', '.join(available)}")
    names = tuple(dict.fromkeys(chosen))
    mask = 0
    for name in names:
        mask |= _BIT[name]
    return names, tuple(n for n in GREEK_NAMES if mask & _BIT[n]), mask


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
    greeks: str | tuple[str, ...],
    threads: int | None,
    out: Mapping[str, FloatArray] | None = None,
) -> dict[str, Result]:
    names, ordered, mask = _selection(greeks, settlement)
    arrays = [
        flag_array(flag),
        float_array("underlying", underlying),
        float_array("strike", strike),
        float_array("t", t),
        float_array("r", r),
        float_array("sigma", sigma),
        float_array("q", q),
    ]
    shape, n, columns = broadcast_columns(_INPUT_NAMES, arrays)
    out_list = None if out is None else _out_arrays(out, names, shape)
    flags, underlyings, strikes, times, rates, sigmas, carries = columns
    outputs, bad, field = _core.pricing.greeks(
        flags,
        underlyings,
        strikes,
        times,
        rates,
        sigmas,
        carries,
        model,
        settlement,
        mask,
        n,
        thread_count(threads, n),
        out_list,
    )
    if bad >= 0:
        column = columns[_INPUT_NAMES.index(field)].reshape(-1)
        value = float(column[bad if column.size > 1 else 0])
        raise ValueError(
            f"{field} at row {row_label(shape, bad)} is {value!r}: underlying and strike must lie in [1e-100, "
            "1e100], sigma in [0, 1e100], t at most 1e100, r and q finite with |r t| and |q t| at most 300"
        )
    if out is not None:
        return {name: out[name] for name in names}
    by_name = dict(zip(ordered, outputs))
    if len(shape) == 1:
        return {name: by_name[name] for name in names}
    if shape == ():
        return {name: float(by_name[name][0]) for name in names}
    return {name: by_name[name].reshape(shape) for name in names}


def _out_arrays(
    out: Mapping[str, FloatArray], names: tuple[str, ...], shape: tuple[int, ...]
) -> list[FloatArray]:
    """Preallocated outputs (reused buffers avoid the page faults of fresh multi-MB arrays)."""
    missing = [n for n in names if n not in out]
    if missing:
        raise ValueError(f"out is missing arrays for {missing}")
    arrays = []
    for name in (n for n in GREEK_NAMES if n in names):
        a = out[name]
        if not isinstance(a, np.ndarray) or a.dtype != np.float64 or a.shape != shape:
            raise ValueError(f"out[{name!r}] must be a float64 ndarray of shape {shape}")
        if not (a.flags.c_contiguous and a.flags.writeable):
            raise ValueError(f"out[{name!r}] must be C-contiguous and writeable")
        arrays.append(a)
    return arrays


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
    t = years_from_time_argument(t)
    price_index = _core.pricing.OUTPUT_INDEX["price"]
    fast = _core.pricing.value_scalar(price_index, flag, underlying, strike, t, r, sigma, q, m, s)
    if fast is not None:
        return float(fast)
    arrays = _core.pricing.greeks_arrays(flag, underlying, strike, t, r, sigma, q, m, s, (price_index,), 0)
    if arrays is not None:
        return arrays["price"]
    return _compute(flag, underlying, strike, t, r, sigma, q, m, s, "price", None)["price"]


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
    out: Mapping[str, FloatArray] | None = None,
) -> Mapping[str, Result]:
    """Price and Greeks in one pass, only those asked for.

    Returns a dict name -> array (or float for scalar input) with keys among: price, delta, gamma, vega,
    theta, rho, vanna, volga, charm (+ delta_pa, delta_b76 for settlement="inverse").  Units are per unit
    (see the module docstring).  threads=None uses one thread below 200,000 options and every core
    above; the GIL is released while the kernels run.  out: optional mapping name -> preallocated
    float64 array of the broadcast shape for every requested output, filled in place and returned.
    """
    # The defaults and the common call are recognised without function calls: at 1,000 options every
    # microsecond of argument handling is a tenth of the pricing.
    m = 0 if model.__class__ is str and model == "black76" else model_code(model)
    s = 0 if settlement.__class__ is str and settlement == "linear" else settlement_code(settlement)
    if threads is None and out is None and t.__class__ is float:
        # One option of plain scalars, the names as the user wrote them (a list, a tuple, a name): C++ reads
        # them and builds the dict of what was asked; None sends anything unusual down the general path.
        fast = _core.pricing.greeks_scalar(flag, underlying, strike, t, r, sigma, q, m, s, greeks)
        if fast is not None:
            return fast
    if threads.__class__ is int and 1 <= threads <= MAX_THREADS and t.__class__ is np.ndarray:
        # Arrays with a thread count, the usual risk-loop call (into `out` when given): straight to C++, which
        # reads float64 times as years and the names as written, and returns None for anything else
        # (timedelta64 included, an unknown name, or an `out` that is not a dict of arrays of the call's shape),
        # which the paths below convert or word.
        arrays = _core.pricing.greeks_arrays(flag, underlying, strike, t, r, sigma, q, m, s, greeks, threads, out)
        if arrays is not None:
            return arrays
    selection = greeks if isinstance(greeks, (str, tuple)) else tuple(greeks)
    if type(t) is not float:
        t = years_from_time_argument(t)
        if threads is None and out is None:  # the scalar call again, now that t is in years
            fast = _core.pricing.greeks_scalar(flag, underlying, strike, t, r, sigma, q, m, s, selection)
            if fast is not None:
                return fast
    if threads is None or (type(threads) is int and 1 <= threads <= MAX_THREADS):
        # The common array call, argument handling in C++; None sends anything unusual down the Python path.
        arrays = _core.pricing.greeks_arrays(
            flag, underlying, strike, t, r, sigma, q, m, s, selection, threads or 0, out
        )
        if arrays is not None:
            return arrays
    return _compute(flag, underlying, strike, t, r, sigma, q, m, s, selection, threads, out)


def rho_deribit(flag: Any, underlying: Any, strike: Any, t: Any, sigma: Any, r: Any = 0.0) -> Result:
    """The rho Deribit displays: Black-Scholes rho with the underlying price held, per 1 % rate point, in the
    quote currency per unit of underlying: ``K t exp(-r t) N(d2) / 100`` for a call, ``-K t exp(-r t) N(-d2) / 100``
    for a put (``underlying`` is the price Deribit quotes the option on).

    Not the same number as ``greeks(...)["rho"]`` of the default Black-76 model, which holds the forward so
    only the discount factor moves (``-t V`` per 1.00 of rate); see docs/units.md.  Computed by the
    same kernel as `greeks` with ``model="bsm"``."""
    rho = greeks(flag, underlying, strike, t, r, sigma, model="bsm", greeks=("rho",))["rho"]
    return rho / 100.0
