"""Argument normalisation shared by the pricing entry points: flags, model and settlement names,
broadcasting of array inputs into contiguous float64 columns for the C++ kernels."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ._types import FloatArray
from .flags import is_call, is_call_array

MODELS = {"black76": 0, "black": 0, "bsm": 1, "black_scholes_merton": 1}
SETTLEMENTS = {"linear": 0, "inverse": 1}


def model_code(model: str) -> int:
    try:
        return MODELS[model]
    except (KeyError, TypeError):
        raise ValueError(f"model must be 'black76' or 'bsm', got {model!r}") from None


def settlement_code(settlement: str) -> int:
    try:
        return SETTLEMENTS[settlement]
    except (KeyError, TypeError):
        raise ValueError(f"settlement must be 'linear' or 'inverse', got {settlement!r}") from None


def flag_array(flag: Any) -> npt.NDArray[Any]:
    """Flags in the form the kernels read (the rule is riskoffset.flags): a bool array (True = call) or,
    for one string, +1.0 / -1.0."""
    if isinstance(flag, str):
        return np.array(1.0 if is_call(flag) else -1.0)
    a = np.asarray(flag)
    if a.size and (a.dtype == np.bool_ or a.dtype.kind in "US"):
        return a  # the compiled core reads bool and string columns as they are, by the same rule
    return is_call_array(flag)


MAX_THREADS = 1024


def thread_count(threads: int | None, n: int, auto_rows: int = 200_000) -> int:
    """threads=None: one thread below auto_rows rows, every core above."""
    if threads is None:
        return (os.cpu_count() or 1) if n >= auto_rows else 1
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= MAX_THREADS:
        raise ValueError(f"threads must be None or an integer from 1 to {MAX_THREADS}, got {threads!r}")
    return threads


_FLOAT64 = np.dtype(np.float64)


def float_array(name: str, value: Any) -> FloatArray:
    if type(value) is np.ndarray and value.dtype == _FLOAT64:  # the hot path: no conversion, no copy
        return value
    if type(value) is float:
        return np.array(value)
    if np.iscomplexobj(value):
        raise TypeError(f"{name} must be real, got complex values")
    try:
        a = np.asarray(value, dtype=np.float64)
    except OverflowError:  # a Python int beyond the float range
        raise ValueError(f"{name} is too large to be a float64 number") from None
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be a real number or an array of them, got {type(value).__name__}"
        ) from None
    return a


def broadcast_columns(
    names: Sequence[str], arrays: Sequence[FloatArray]
) -> tuple[tuple[int, ...], int, list[FloatArray]]:
    """Broadcast like a ufunc.  Returns the result shape, the row count and one column per input: a single
    value (passed to the kernels with stride 0) or an array of the result shape (not copied when it
    already has that shape)."""
    shapes = {a.shape for a in arrays if a.ndim}
    if len(shapes) <= 1:
        shape = shapes.pop() if shapes else ()  # the common case, without numpy's slower general rule
    else:
        try:
            shape = np.broadcast_shapes(*shapes)
        except ValueError:
            described = ", ".join(f"{n}{a.shape}" for n, a in zip(names, arrays))
            raise ValueError(f"input shapes do not broadcast together: {described}") from None
    n = math.prod(shape)
    # The kernels read any C-contiguous array of 1 or n elements, whatever its shape; pybind11 copies a
    # non-contiguous one.  Only partially broadcast inputs need materialising.
    columns = [
        a if a.size == 1 or a.shape == shape else np.ascontiguousarray(np.broadcast_to(a, shape))
        for a in arrays
    ]
    return shape, n, columns


def row_label(shape: tuple[int, ...], flat_index: int) -> str:
    if len(shape) <= 1:
        return str(flat_index)
    return str(tuple(int(i) for i in np.unravel_index(flat_index, shape)))
