"""Full revaluation of instruments under scenarios: the instrument x scenario value matrix that every
scenario margin method and the hedging engine build on (revalue each instrument once, then net).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _core
from ._inputs import float_array, thread_count
from ._types import FloatArray

_FLOAT64 = np.dtype(np.float64)
_INT32 = np.dtype(np.int32)


def _column(name: str, value: Any) -> FloatArray:
    """A flat contiguous float64 array of the values (the usual 1-d float64 column as it is); complex or
    non-numeric values are refused (TypeError naming ``name``)."""
    if type(value) is np.ndarray and value.dtype == _FLOAT64 and value.ndim == 1 and value.flags.c_contiguous:
        return value
    return np.ascontiguousarray(float_array(name, value)).reshape(-1)


def revalue(
    flag: Any,
    forward: Any,
    strike: Any,
    t: Any,
    sigma: Any,
    move: Any,
    *,
    vol_state: Any = None,
    r: float = 0.0,
    inverse: Any = False,
    time_shift: Any = None,
    threads: int | None = None,
    base_first: bool = False,
    out: FloatArray | None = None,
    base_out: FloatArray | None = None,
) -> FloatArray:
    """Values of n instruments under m scenarios, shape (n, m), Black-76 on the forward.

    flag: per instrument, +1 call, -1 put, 0 a forward-like position (futures, perpetuals: its value is
    the scenario forward, or 1 coin for inverse).  forward, strike, t (years): per instrument.
    sigma: per instrument (n,), per instrument and scenario (n, m), or per instrument and vol state (n, k)
    with vol_state (m integers in [0, k)) naming each scenario's column (e.g. Deribit's up / same / down
    vols shared by nine price moves), decimal.  move: per scenario,
    the relative forward move m (the forward becomes F (1 + m); m > -1).  time_shift: per scenario, years
    of calendar time elapsed (t becomes max(t - shift, 0)), or None.  inverse: per instrument (or one
    bool): coin value V / F_scenario instead of the quote-currency value.  r: discount rate.
    base_first: scenario 0 is the base state and the result is the P&L of scenarios 1..m-1 against it,
    shape (n, m - 1), in one pass.  out: a C-contiguous float64 array of the result shape to fill.
    base_out: with base_first, a C-contiguous float64 array of shape (2, n) that receives the base state's
    value in the quote currency (row 0, before any coin conversion) and its delta dV/dF (row 1: the
    discounted N(d1) of a call, N(d1) - 1 of a put, 1 for a forward-like position), from the same pass.
    """
    if not (type(r) is float and math.isfinite(r)) and (
        isinstance(r, bool) or not isinstance(r, (int, float, np.integer, np.floating)) or not np.isfinite(r)
    ):
        raise ValueError(f"r must be a finite number, got {r!r}")
    flags = _column("flag", flag)
    n = flags.size
    moves = _column("move", move)
    m = moves.size

    def per_instrument(name: str, value: Any) -> FloatArray:
        if type(value) is np.ndarray and value.dtype == _FLOAT64 and value.shape == (n,):
            return value  # the usual column: the binding reads it as it is (copying a strided view)
        a = float_array(name, value)
        if a.size == 1 and n != 1:
            return np.full(n, float(a.reshape(-1)[0]))
        if a.size != n:
            raise ValueError(f"{name} must have one value per instrument ({n}), got shape {a.shape}")
        return np.ascontiguousarray(a).reshape(-1)

    sig = float_array("sigma", sigma)
    if sig.ndim <= 1:
        sig = per_instrument("sigma", sig).reshape(n, 1)
    if sig.ndim != 2 or sig.shape[0] != n:
        raise ValueError(f"sigma must have shape ({n},), ({n}, {m}) or ({n}, k), got {sig.shape}")
    if vol_state is None:
        if sig.shape[1] == 1:
            states = np.zeros(m, dtype=np.int32)
        elif sig.shape[1] == m:
            states = np.arange(m, dtype=np.int32)
        else:
            raise ValueError(f"sigma of shape {sig.shape} needs vol_state: one column index per scenario")
    else:
        states = np.asarray(vol_state)
        if states.shape != (m,) or states.dtype.kind not in "iu":
            raise ValueError(f"vol_state must be {m} integers, got {states.dtype} of shape {states.shape}")
        # int32 states are range-checked by the kernel (the error is worded below); other widths here, before
        # the conversion could wrap them
        if states.dtype != _INT32 or n == 0:
            _check_states(states, sig.shape[1])
            states = states.astype(np.int32, copy=False)
    shift = None if time_shift is None else np.broadcast_to(float_array("time_shift", time_shift), (m,))
    strikes = per_instrument("strike", strike)  # read for options only: forward-like rows may carry NaN
    values, bad = _core.scenarios.scenario_values(
        flags,
        per_instrument("forward", forward),
        strikes,
        per_instrument("t", t),
        np.zeros(n) if inverse is False else per_instrument("inverse", inverse),
        np.ascontiguousarray(sig.T),  # state-major: a scenario reads one contiguous row
        states,
        moves,
        None if shift is None else np.ascontiguousarray(shift),
        float(r),
        thread_count(threads, n * m),
        base_first,
        out,
        base_out,
    )
    if bad >= 0:
        _check_states(states, sig.shape[1])
        raise invalid_scenario_input(int(bad), m)
    return values


def _check_states(states: np.ndarray, n_states: int) -> None:
    listed = states.tolist()  # builtin min and max: a few times cheaper than numpy's on tens of entries
    if listed and (min(listed) < 0 or max(listed) >= n_states):
        raise ValueError(f"vol_state entries must lie in [0, {n_states})")


def invalid_scenario_input(bad: int, m: int) -> ValueError:
    """The error for the scenario kernel's first bad (instrument, scenario), ``bad = i m + j`` of ``m``."""
    i, j = divmod(bad, max(m, 1))
    return ValueError(
        f"invalid scenario input at instrument {i}, scenario {j}: flag must be -1, 0 or 1, forward and "
        "strike finite and > 0, t finite, inverse 0 or 1, sigma finite and >= 0, move finite and > -1, "
        "time_shift finite"
    )
