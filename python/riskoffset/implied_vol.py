"""Implied volatility for whole arrays, never raising per element: NaN plus a reason code."""

from __future__ import annotations

import enum
import warnings
from typing import Any, Union

import numpy as np
import numpy.typing as npt

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

_INPUT_NAMES = ("price", "flag", "underlying", "strike", "t", "r", "q")
_ON_ERROR = ("ignore", "warn", "raise")


class IVStatus(enum.IntEnum):
    """Why an implied volatility is NaN (OK = solved)."""

    OK = 0
    BELOW_INTRINSIC = 1  #: price below intrinsic measured on the discounted forward
    ABOVE_MAXIMUM = 2  #: price at or above the discounted forward (call) or strike (put)
    NO_CONVERGENCE = 3
    BAD_INPUT = 4  #: NaN/inf input, non-positive underlying or strike, t <= 0

    @property
    def reason(self) -> str:
        return _REASONS[self]


_REASONS = {
    IVStatus.OK: "solved",
    IVStatus.BELOW_INTRINSIC: "price is below the intrinsic value on the discounted forward",
    IVStatus.ABOVE_MAXIMUM: "price is at or above the maximum (discounted forward for calls, strike for puts)",
    IVStatus.NO_CONVERGENCE: "the solver did not converge",
    IVStatus.BAD_INPUT: "an input is NaN/inf, the underlying or strike is not > 0, or t <= 0",
}

Sigma = Union[float, FloatArray]


def implied_vol(
    price: Any,
    flag: Any,
    underlying: Any,
    strike: Any,
    t: Any,
    r: Any,
    *,
    q: Any = 0.0,
    model: str = "black76",
    settlement: str = "linear",
    on_error: str = "ignore",
    return_status: bool = False,
    threads: int | None = None,
) -> Sigma | tuple[Sigma, Any]:
    """Volatility sigma (decimal) such that riskoffset.price(flag, underlying, strike, t, r, sigma, ...)
    equals price (in the same currency: quote currency for linear, coin for inverse).

    Unsolvable rows give NaN and a status (IVStatus): below intrinsic, above maximum, no convergence, bad
    input.  on_error="ignore" (default) stays silent, "warn" emits one RuntimeWarning naming the first
    failing rows, "raise" raises ValueError for the first failing row.  return_status=True returns
    (sigma, status) with status an int8 array (or an IVStatus for scalar input).
    """
    if on_error not in _ON_ERROR:
        raise ValueError(f"on_error must be one of {_ON_ERROR}, got {on_error!r}")
    m, s = model_code(model), settlement_code(settlement)
    t = years_from_time_argument(t)
    fast = _core.pricing.implied_vol_scalar(price, flag, underlying, strike, t, r, q, m, s)
    if fast is not None and (fast[1] == 0 or on_error == "ignore"):
        sigma_value, code = fast
        if return_status:
            return float(sigma_value), IVStatus(code)
        return float(sigma_value)

    if threads is None or (type(threads) is int and 1 <= threads <= MAX_THREADS):
        solved = _core.pricing.implied_vol_arrays(price, flag, underlying, strike, t, r, q, m, s, threads or 0)
        # Failures to report take the Python path below, which names the field and row.
        if solved is not None and (on_error == "ignore" or not solved[1].any()):
            return solved if return_status else solved[0]

    arrays = [float_array("price", price), flag_array(flag)] + [
        float_array(n, v) for n, v in zip(_INPUT_NAMES[2:], (underlying, strike, t, r, q))
    ]
    shape, n, columns = broadcast_columns(_INPUT_NAMES, arrays)
    threads = thread_count(threads, n)
    prices, flags, underlyings, strikes, times, rates, carries = columns
    sigma, status = _core.pricing.implied_vol(
        prices, flags, underlyings, strikes, times, rates, carries, m, s, n, threads
    )
    if on_error != "ignore" and status.any():
        _report(on_error, status, shape, columns)
    if shape == ():
        if return_status:
            return float(sigma[0]), IVStatus(int(status[0]))
        return float(sigma[0])
    sigma = sigma.reshape(shape)
    if return_status:
        return sigma, status.reshape(shape)
    return sigma


def _bad_field(columns: list[FloatArray], row: int) -> str:
    """The first input of a BAD_INPUT row that is out of its domain, for the error message."""
    value = {name: float(c.reshape(-1)[row if c.size > 1 else 0]) for name, c in zip(_INPUT_NAMES, columns)}
    if not np.isfinite(value["price"]):
        return f"price is {value['price']!r}"
    for name in ("underlying", "strike"):
        if not (np.isfinite(value[name]) and value[name] > 0):
            return f"{name} is {value[name]!r} (must be finite and > 0)"
    if not (np.isfinite(value["t"]) and value["t"] > 0):
        return f"t is {value['t']!r} (must be finite and > 0)"
    for name in ("r", "q"):
        if not np.isfinite(value[name]):
            return f"{name} is {value[name]!r} (must be finite)"
    return "an input is invalid"


def _report(
    on_error: str, status: npt.NDArray[np.int8], shape: tuple[int, ...], columns: list[FloatArray]
) -> None:
    failing = np.flatnonzero(status)
    first = int(failing[0])
    code = IVStatus(int(status[first]))
    reason = _bad_field(columns, first) if code == IVStatus.BAD_INPUT else code.reason
    if on_error == "raise":
        where = f" at row {row_label(shape, first)}" if shape else ""
        raise ValueError(f"implied volatility{where}: {reason} ({len(failing)} row(s) failed)")
    if on_error == "warn":
        rows = ", ".join(row_label(shape, int(i)) for i in failing[:5]) if shape else "the input"
        warnings.warn(
            f"implied volatility is NaN for {len(failing)} row(s) (first: {rows}): first reason: {reason}",
            RuntimeWarning,
            stacklevel=3,
        )
