"""The one rule for option flags (call or put), used by every entry point that takes one: pricing, implied
vol, instrument names, the compat layer and the book and market readers.

The rule:

- a bool: True is a call, False a put (numpy bools too);
- a string "c", "p", "call" or "put", in any case ("C", "Put", "cAll"); no surrounding spaces, no other
  words ("calls", "Cal" and "" are refused);
- a numpy array (or list) of bools, or of those strings: dtype '<U' (str), 'S' (bytes, read as ASCII) or
  object holding str, bytes or bool items;
- anything else (numbers, including 1 / -1 and 0 / 1, None, other strings) is a ValueError that names
  the value and, for arrays, its row (a flat index for 1-d input, a tuple for n-d input).

The C++ fast path of the pricing functions reads flag arrays too and follows this same rule.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

CALL_WORDS = frozenset({"c", "call"})
PUT_WORDS = frozenset({"p", "put"})
SPELLINGS = "True/False (True = call) or 'c', 'p', 'call', 'put' in any case"


def _word(value: Any) -> bool | None:
    """True (call), False (put) or None (not a flag) for one item."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (bytes, np.bytes_)):
        try:
            value = bytes(value).decode("ascii")
        except UnicodeDecodeError:
            return None
    if isinstance(value, str):
        low = value.lower()
        if low in CALL_WORDS:
            return True
        if low in PUT_WORDS:
            return False
    return None


def _where(shape: tuple[int, ...], flat: int) -> str:
    if len(shape) <= 1:
        return f" at row {flat}"
    return f" at row {tuple(int(i) for i in np.unravel_index(flat, shape))}"


def is_call(flag: Any, name: str = "flag") -> bool:
    """One flag: True for a call, False for a put (see the module rule); ValueError otherwise."""
    answer = _word(flag)
    if answer is None:
        raise ValueError(f"{name} must be {SPELLINGS}, got {flag!r}")
    return answer


def is_call_array(flags: Any, name: str = "flag") -> npt.NDArray[np.bool_]:
    """An array of flags (or one flag, as a 0-d array) as a bool array, True = call; ValueError naming the
    first value that is not a flag and its row."""
    a = flags if isinstance(flags, np.ndarray) else np.asarray(flags)
    if a.dtype == np.bool_:
        return a
    if a.size == 0 and a.dtype.kind in "fUSO":  # an empty list comes out float64
        return np.zeros(a.shape, dtype=bool)
    if a.dtype.kind == "U":
        low = np.char.lower(a)
        call = np.isin(low, ("c", "call"))
        bad = ~(call | np.isin(low, ("p", "put")))
    elif a.dtype.kind in "SO":
        answers = [_word(x) for x in a.reshape(-1).tolist()]
        call = np.array([x is True for x in answers], dtype=bool).reshape(a.shape)
        bad = np.array([x is None for x in answers], dtype=bool).reshape(a.shape)
    else:
        first = a.reshape(-1)[0].item() if a.size else a
        raise ValueError(
            f"{name}{_where(a.shape, 0) if a.ndim else ''} must be {SPELLINGS}, got {first!r} "
            f"(an array of dtype {a.dtype}: numbers are not flags)"
        )
    if bad.any():
        flat = int(np.flatnonzero(bad.reshape(-1))[0])
        value = a.reshape(-1)[flat]
        shown = value.item() if isinstance(value, np.generic) else value
        where = _where(a.shape, flat) if a.ndim else ""
        raise ValueError(f"{name}{where} must be {SPELLINGS}, got {shown!r}")
    return call


__all__ = ["CALL_WORDS", "PUT_WORDS", "SPELLINGS", "is_call", "is_call_array"]
