"""riskoffset.compat.vectorized: the public API of py_vollib_vectorized 0.1.1, computed by riskoffset's core.

Same functions, signatures, keyword arguments and return formats::

    from riskoffset.compat.vectorized import (vectorized_black, vectorized_black_scholes,
        vectorized_black_scholes_merton, vectorized_implied_volatility, vectorized_implied_volatility_black,
        vectorized_delta, vectorized_gamma, vectorized_theta, vectorized_vega, vectorized_rho,
        get_all_greeks, price_dataframe)

Inputs may be scalars, lists, tuples, numpy arrays, pandas Series or one-column DataFrames; like
py_vollib_vectorized, everything is ravelled to 1-D and broadcast (length 1 or a common length n), so a scalar
comes back as a length-1 result.  Flags are 'c' / 'p' (or 1 / -1, '1' / '-1').  ``return_as``:
"dataframe" (the default), "series", anything else ("numpy", "array") a numpy array; ``get_all_greeks`` takes
"dataframe", "json", anything else a dict of arrays.  Units are vollib's: theta per calendar day, vega per vol
point, rho per rate point.

Differences from py_vollib_vectorized 0.1.1 (its defects are not copied):

* **Greeks are analytic.**  py_vollib_vectorized differentiates numerically with absolute bumps (dS = 0.01,
  sigma +/- 0.01, r +/- 0.01, theta = one-day price decay P(t - 1/365) - P(t)): its gamma is rounding noise
  for large underlyings, its vega is up to ~5 % off, and its theta is a one-day difference, not a derivative
  (100 % off for a one-day option).  Here theta is the annual dV/dt divided by 365, vega and rho are the
  derivatives times 0.01 -- exactly vollib's ``greeks.analytical`` values.
* **vectorized_black is discounted.**  py_vollib_vectorized ignores r and returns the undiscounted Black price
  (7.4 % too high at r = 5 %, t = 2); here it is exp(-r t) [F N(d1) - K N(d2)], vollib's ``black.black``.
* **model="black" Greeks are Black-76 Greeks** on the forward F (discounted, F held for rho = -t V x 0.01).
  py_vollib_vectorized's ``get_all_greeks(model="black")`` returns Black-Scholes Greeks treating F as a spot
  (delta up to 18 % off), and its ``vectorized_delta/gamma/theta/vega/rho(model="black")`` raise TypeError.
* **Black-Scholes-Merton rho holds q.**  py_vollib_vectorized bumps q together with r, so its rho is
  dV/dr + dV/dq.
* ``get_all_greeks(return_as="dict")`` returns numpy arrays (py_vollib_vectorized: lists), and
  ``return_as="json"`` works (py_vollib_vectorized raises AttributeError).
* **Implied volatility**: a row that cannot be solved is NaN whatever ``on_error`` says (py_vollib_vectorized
  with on_error="ignore" returns the lets_be_rational package's raw output there, e.g. 0.0 below intrinsic).  Rows with
  invalid inputs (t <= 0, NaN, S or K <= 0) are NaN with a warning (on_error="warn") or a ValueError
  (on_error="raise") instead of a ZeroDivisionError.  on_error="raise" raises BelowIntrinsicException /
  AboveMaximumException, subclasses of vollib's PriceIsBelowIntrinsic / PriceIsAboveMaximum, with the
  offending indices in the message; the warnings have py_vollib_vectorized's texts.
* **Invalid rows** of the pricing and Greek functions (S or K <= 0, NaN or inf inputs, sigma < 0) are NaN
  (py_vollib_vectorized: NaN, the intrinsic value for sigma < 0, ZeroDivisionError for K = 0).  t <= 0 is an
  expired option: intrinsic value and its limit Greeks (py_vollib_vectorized: NaN for t < 0).
* ``dtype``: computed in float64 and returned as ``dtype`` (py_vollib_vectorized rounds the inputs to dtype
  first).  numpy scalars of any kind are accepted (py_vollib_vectorized rejects numpy integers).
* pandas is optional: without it the module imports and every return_as except "dataframe" / "series" works;
  those raise ImportError.
* Importing this module does not monkey-patch vollib / py_vollib (py_vollib_vectorized patches py_vollib's
  functions on import); use ``riskoffset.compat.vollib`` for the scalar API.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import _core
from .._types import FloatArray
from .vollib._exceptions import AboveMaximumException, BelowIntrinsicException, CompatArgumentError

__all__ = [
    "get_all_greeks",
    "price_dataframe",
    "vectorized_black",
    "vectorized_black_scholes",
    "vectorized_black_scholes_merton",
    "vectorized_delta",
    "vectorized_gamma",
    "vectorized_implied_volatility",
    "vectorized_implied_volatility_black",
    "vectorized_rho",
    "vectorized_theta",
    "vectorized_vega",
]

_BINARY_FLAG: dict[Any, int] = {"c": 1, "p": -1, 1: 1, -1: -1, "1": 1, "-1": -1}
_MODELS = {"black": 0, "black_scholes": 1, "black_scholes_merton": 1}
_MODEL_ERROR = "Model must be one of: `black`, `black_scholes`, `black_scholes_merton`"
_Q_ERROR = "Must pass a `q` to black scholes merton model (annualized continuous dividend yield)."
_BIT = {name: 1 << i for i, name in enumerate(_core.pricing.OUTPUT_NAMES)}
_OUTPUT_ORDER = tuple(_core.pricing.OUTPUT_NAMES)
_GREEKS = ("delta", "gamma", "theta", "rho", "vega")  # py_vollib_vectorized's column order
_AUTO_THREAD_ROWS = 200_000
_ZERO = np.zeros(1)
_SAFE_ROW = (1.0, 1.0, 1.0, 1.0, 0.0, 0.2, 0.0)  # flag, S, K, t, r, sigma, q substituted into invalid rows
_UNIT = {"theta": 1.0 / 365.0, "vega": 0.01, "rho": 0.01}  # per unit -> vollib's units
_NO_SCALE = np.ones((1, 1))
_COLUMN_INDEX: dict[tuple[int, tuple[str, ...]], Any] = {}
_SCALES: dict[tuple[str, ...], FloatArray] = {
    ("price",): _NO_SCALE,
    ("delta",): _NO_SCALE,
    ("gamma",): _NO_SCALE,
}


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise ImportError(
            "return_as='dataframe' / 'series' (py_vollib_vectorized's default is 'dataframe') needs pandas, which "
            "is not installed: `pip install pandas`, or pass return_as='numpy' (return_as='dict' for "
            "get_all_greeks)"
        ) from None
    return pandas


def _pandas_types() -> tuple[Any, Any] | None:
    pd = sys.modules.get("pandas")
    if pd is None:
        return None
    return pd.Series, pd.DataFrame


def _column(data: Any) -> FloatArray:
    """py_vollib_vectorized's _maybe_format_data + ravel: a contiguous 1-D float64 array."""
    if type(data) is float or type(data) is int:
        return np.array([data], dtype=np.float64)
    if isinstance(data, np.ndarray):
        a = data
    elif isinstance(data, (int, float, np.number)):
        return np.array([data], dtype=np.float64)
    elif isinstance(data, (list, tuple)):
        a = np.asarray(data)
    else:
        kinds = _pandas_types()
        if kinds is not None and isinstance(data, kinds[0]):
            a = data.to_numpy(dtype=np.float64)
        elif kinds is not None and isinstance(data, kinds[1]):
            if data.shape[1] != 1:
                raise CompatArgumentError(
                    "You passed a `pandas.DataFrame` object that contains more than (1) column!"
                )
            a = data.to_numpy(dtype=np.float64)
        else:
            raise ValueError(
                f"Data type {type(data)} unsupported, must be in: list, tuple, np.array, pd.Series."
            )
    if a.dtype != np.float64:
        if np.iscomplexobj(a):  # (casting would drop the imaginary parts without a word)
            raise TypeError("option inputs must be real numbers, got complex values")
        a = a.astype(np.float64)
    return np.ascontiguousarray(a).reshape(-1)


_FLAG_BYTES = bytes(1 if c in (ord("c"), ord("1")) else (255 if c == ord("p") else 0) for c in range(256))
_SINGLE_FLAG = {key: np.full(1, float(sign)) for key, sign in _BINARY_FLAG.items()}


def _flags(flag: Any) -> FloatArray:
    """+1.0 / -1.0 per contract from 'c'/'p'/1/-1/'1'/'-1' (py_vollib_vectorized's binary_flag); KeyError for
    anything else, like py_vollib_vectorized.  A string is iterated per character, as there."""
    if type(flag) is str and len(flag) == 1 and flag in _SINGLE_FLAG:
        return _SINGLE_FLAG[flag]
    kinds = _pandas_types()
    if kinds is not None and isinstance(flag, kinds[1]):
        if flag.shape[1] != 1:
            raise CompatArgumentError(
                "You passed a `pandas.DataFrame` object that contains more than (1) column!"
            )
        flag = flag.iloc[:, 0]
    if kinds is not None and isinstance(flag, kinds[0]):
        flag = flag.to_numpy()
    if isinstance(flag, np.ndarray):
        if flag.dtype.kind in "iuf":
            values = flag.reshape(-1).astype(np.float64)
            if ((values == 1.0) | (values == -1.0)).all():
                return values
        flag = flag.reshape(-1).tolist()
    if isinstance(flag, (str, list, tuple)):
        try:
            joined = "".join(flag)
        except TypeError:
            joined = ""
        if joined and len(joined) == len(flag):
            try:
                codes = joined.encode("latin-1").translate(_FLAG_BYTES)
            except UnicodeEncodeError:
                codes = b"\x00"
            if b"\x00" not in codes:
                return np.frombuffer(codes, dtype=np.int8).astype(np.float64)
    return np.array([_BINARY_FLAG[f] for f in flag], dtype=np.float64)


def _length(columns: Iterable[FloatArray]) -> int:
    n = 1
    sizes = []
    for c in columns:
        sizes.append(c.size)
        if c.size != 1:
            if n == 1:
                n = c.size
            elif c.size != n:
                raise ValueError(
                    "shape mismatch: objects cannot be broadcast to a single shape.  Input lengths: "
                    f"{sizes + ['...']}"
                )
    return n


def _threads(n: int) -> int:
    return (os.cpu_count() or 1) if n >= _AUTO_THREAD_ROWS else 1


def _valid_rows(columns: list[FloatArray], n: int) -> npt.NDArray[np.bool_]:
    flag, S, K, t, r, sigma, q = columns
    ok = np.isfinite(flag) & (S > 0) & np.isfinite(S) & (K > 0) & np.isfinite(K) & np.isfinite(t)
    ok = ok & np.isfinite(r) & (sigma >= 0) & np.isfinite(sigma) & np.isfinite(q)
    return np.broadcast_to(ok, (n,))


def _compute_buffer(
    model: int, flag: Any, S: Any, K: Any, t: Any, r: Any, sigma: Any, q: Any, names: tuple[str, ...]
) -> tuple[FloatArray, list[str]]:
    """Price and/or Greeks for the broadcast rows, in vollib's units (theta per day, vega and rho per point),
    NaN in rows outside the model's domain: one (k, n) array, rows in the core's output order (returned)."""
    columns = [
        _flags(flag),
        _column(S),
        _column(K),
        _column(t),
        _column(r),
        _column(sigma),
        _ZERO if q is None else _column(q),
    ]
    n = _length(columns)
    mask = 0
    for name in names:
        mask |= _BIT[name]
    ordered = [name for name in _OUTPUT_ORDER if mask & _BIT[name]]
    buffer = np.empty((len(ordered), n))
    if n == 0:
        return buffer, ordered
    rows = list(buffer)
    fl, u, k, tt, rr, sg, qq = columns
    bad = _core.pricing.greeks(fl, u, k, tt, rr, sg, qq, model, 0, mask, n, _threads(n), rows)[1]
    if bad >= 0:
        valid = _valid_rows(columns, n)
        fl, u, k, tt, rr, sg, qq = (np.where(valid, c, fill) for c, fill in zip(columns, _SAFE_ROW))
        _core.pricing.greeks(fl, u, k, tt, rr, sg, qq, model, 0, mask, n, _threads(n), rows)
        buffer[:, ~valid] = np.nan
    key = tuple(ordered)
    scale = _SCALES.get(key)
    if scale is None:
        scale = _SCALES[key] = np.array([[_UNIT.get(name, 1.0)] for name in ordered])
    if scale is not _NO_SCALE:
        buffer *= scale
    return buffer, ordered


def _compute(
    model: int, flag: Any, S: Any, K: Any, t: Any, r: Any, sigma: Any, q: Any, names: tuple[str, ...]
) -> dict[str, FloatArray]:
    buffer, ordered = _compute_buffer(model, flag, S, K, t, r, sigma, q, names)
    return dict(zip(ordered, buffer))


def _frame(table: FloatArray, names: tuple[str, ...]) -> Any:
    """DataFrame over the rows of ``table`` (k, n) without copying, with a cached column Index (building the
    Index is most of the cost of a small DataFrame)."""
    pd = _pandas()
    key = (id(pd), names)
    columns = _COLUMN_INDEX.get(key)
    if columns is None:
        columns = _COLUMN_INDEX[key] = pd.Index(list(names))
    return pd.DataFrame(table.T, columns=columns, copy=False)


def _cast(values: FloatArray, dtype: Any) -> Any:
    if dtype is np.float64 or np.dtype(dtype) == np.float64:
        return values
    return values.astype(dtype)


def _single(values: FloatArray, name: str, return_as: str, dtype: Any) -> Any:
    values = _cast(values, dtype)
    if return_as == "series":
        return _pandas().Series(values, name=name)
    if return_as == "dataframe":
        return _frame(values.reshape(1, -1), (name,))
    return values


def _model_code(model: str, q: Any) -> int:
    try:
        code = _MODELS[model]
    except (KeyError, TypeError):
        raise ValueError(_MODEL_ERROR) from None
    if model == "black_scholes_merton" and q is None:
        raise ValueError(_Q_ERROR)
    return code


# ---------------------------------------------------------------------------------------------------------
# pricing


def vectorized_black(
    flag: Any,
    F: Any,
    K: Any,
    t: Any,
    r: Any,
    sigma: Any,
    *,
    return_as: str = "dataframe",
    dtype: Any = np.float64,
) -> Any:
    """Price options on a future/forward with Black's model, discounted at exp(-r t).

    (py_vollib_vectorized ignores r here and returns the undiscounted price.)

    >>> vectorized_black(['c', 'p'], 95, [100, 90], .2, .2, .2, return_as='numpy').round(8)
    array([1.47392948, 1.3298214 ])
    """
    return _single(_compute(0, flag, F, K, t, r, sigma, None, ("price",))["price"], "Price", return_as, dtype)


def vectorized_black_scholes(
    flag: Any,
    S: Any,
    K: Any,
    t: Any,
    r: Any,
    sigma: Any,
    *,
    return_as: str = "dataframe",
    dtype: Any = np.float64,
) -> Any:
    """Price options with the Black-Scholes model (spot S, rate r).

    >>> vectorized_black_scholes(['c', 'p'], 95, [100, 90], .2, .2, .2, return_as='numpy').round(8)
    array([2.89558836, 0.61109351])
    """
    return _single(_compute(1, flag, S, K, t, r, sigma, None, ("price",))["price"], "Price", return_as, dtype)


def vectorized_black_scholes_merton(
    flag: Any,
    S: Any,
    K: Any,
    t: Any,
    r: Any,
    sigma: Any,
    q: Any,
    *,
    return_as: str = "dataframe",
    dtype: Any = np.float64,
) -> Any:
    """Price options with the Black-Scholes-Merton model (spot S, rate r, dividend yield q).

    >>> vectorized_black_scholes_merton(['c', 'p'], [95, 99], [100, 90], .2, .2, .2, 0, return_as='numpy').round(8)
    array([2.89558836, 0.23536284])
    """
    return _single(_compute(1, flag, S, K, t, r, sigma, q, ("price",))["price"], "Price", return_as, dtype)


# ---------------------------------------------------------------------------------------------------------
# implied volatility


def _report_iv(status: npt.NDArray[np.int8], on_error: str) -> None:
    if on_error == "ignore" or not status.any():
        return
    groups = (
        (1, "Found Below Intrinsic contracts at index {}", BelowIntrinsicException),
        (2, "Found Above Maximum Price contracts at index {}", AboveMaximumException),
        (
            4,
            "Found contracts with invalid inputs (NaN/inf, underlying or strike <= 0, t <= 0) at index {}",
            ValueError,
        ),
        (3, "Found contracts where the implied volatility did not converge at index {}", ValueError),
    )
    for code, text, error in groups:
        rows = np.flatnonzero(status == code)
        if rows.size:
            message = text.format(rows.tolist())
            if on_error == "raise":
                raise error(message)
            warnings.warn(message, stacklevel=4)


def vectorized_implied_volatility(
    price: Any,
    S: Any,
    K: Any,
    t: Any,
    r: Any,
    flag: Any,
    q: Any = None,
    *,
    on_error: str = "warn",
    model: str = "black_scholes",
    return_as: str = "dataframe",
    dtype: Any = np.float64,
    **kwargs: Any,
) -> Any:
    """Implied volatility of option prices (model "black_scholes", "black_scholes_merton" or "black").

    Rows below intrinsic, at or above the maximum price, or with invalid inputs are NaN; on_error="warn"
    (default) warns with their indices, "raise" raises, "ignore" stays silent.  Other keyword arguments are
    ignored (as in py_vollib_vectorized).

    >>> vectorized_implied_volatility(0.10, 95, [100, 90], .2, .2, ['c', 'p'], q=0,
    ...     model='black_scholes_merton', return_as='numpy').round(8)
    array([0.02621257, 0.12585767])
    """
    if on_error not in ("warn", "ignore", "raise"):
        raise CompatArgumentError("`on_error` must be 'warn', 'ignore' or 'raise'.")
    m = _model_code(model, q)
    columns = [
        _column(price),
        _flags(flag),
        _column(S),
        _column(K),
        _column(t),
        _column(r),
        _column(q) if model == "black_scholes_merton" else _ZERO,
    ]
    n = _length(columns)
    if n == 0:
        return _single(np.empty(0), "IV", return_as, dtype)
    if on_error != "ignore":
        with np.errstate(all="ignore"):
            deflater_is_zero = (np.exp(-columns[5] * columns[4]) == 0).any()
        if deflater_is_zero:
            if on_error == "raise":
                raise ValueError(
                    "Unexpected value encountered in Interest Free Rate (r) or Annualized time to expiration (t)."
                )
            warnings.warn(
                "Unexpected value encountered in Interest Free Rate (r) or Annualized time to expiration (t). Are "
                "you sure the time to expiration is annualized?",
                stacklevel=2,
            )
    p, flags, u, k, tt, rr, qq = columns
    sigma, status = _core.pricing.implied_vol(p, flags, u, k, tt, rr, qq, m, 0, n, _threads(n))
    _report_iv(status, on_error)
    return _single(sigma, "IV", return_as, dtype)


def vectorized_implied_volatility_black(
    price: Any,
    F: Any,
    K: Any,
    r: Any,
    t: Any,
    flag: Any,
    *,
    on_error: str = "warn",
    return_as: str = "dataframe",
    dtype: Any = np.float64,
    **kwargs: Any,
) -> Any:
    """Black-76 implied volatility; argument order as py_vollib's (r before t).

    >>> vectorized_implied_volatility_black(0.10, 95, [100, 90], .2, .2, ['c', 'p'], return_as='numpy').round(8)
    array([0.07758129, 0.08177732])
    """
    return vectorized_implied_volatility(
        price, F, K, t, r, flag, model="black", on_error=on_error, return_as=return_as, dtype=dtype
    )


# ---------------------------------------------------------------------------------------------------------
# Greeks (analytic, vollib's units)


def _greek(
    name: str,
    flag: Any,
    S: Any,
    K: Any,
    t: Any,
    r: Any,
    sigma: Any,
    q: Any,
    model: str,
    return_as: str,
    dtype: Any,
) -> Any:
    m = _model_code(model, q)
    values = _compute(m, flag, S, K, t, r, sigma, q if model == "black_scholes_merton" else None, (name,))
    return _single(values[name], name, return_as, dtype)


def vectorized_delta(
    flag: Any,
    S: Any,
    K: Any,
    t: Any,
    r: Any,
    sigma: Any,
    q: Any = None,
    *,
    model: str = "black_scholes",
    return_as: str = "dataframe",
    dtype: Any = np.float64,
) -> Any:
    """Delta dV/dS (dV/dF for model="black").

    >>> vectorized_delta(['c', 'p'], 95, [100, 90], .2, .2, .2, return_as='numpy').round(5)
    array([ 0.46751, -0.13645])
    """
    return _greek("delta", flag, S, K, t, r, sigma, q, model, return_as, dtype)


def vectorized_gamma(
    flag: Any,
    S: Any,
    K: Any,
    t: Any,
    r: Any,
    sigma: Any,
    q: Any = None,
    *,
    model: str = "black_scholes",
    return_as: str = "dataframe",
    dtype: Any = np.float64,
) -> Any:
    """Gamma d2V/dS2.

    >>> vectorized_gamma(['c', 'p'], 95, [100, 90], .2, .2, .2, return_as='numpy').round(6)
    array([0.046795, 0.025739])
    """
    return _greek("gamma", flag, S, K, t, r, sigma, q, model, return_as, dtype)


def vectorized_theta(
    flag: Any,
    S: Any,
    K: Any,
    t: Any,
    r: Any,
    sigma: Any,
    q: Any = None,
    *,
    model: str = "black_scholes",
    return_as: str = "dataframe",
    dtype: Any = np.float64,
) -> Any:
    """Theta per calendar day: annual dV/dt / 365 (py_vollib_vectorized: one-day price difference).

    >>> vectorized_theta(['c', 'p'], 95, [100, 90], .2, .2, .2, return_as='numpy').round(6)
    array([-0.04589 , -0.005291])
    """
    return _greek("theta", flag, S, K, t, r, sigma, q, model, return_as, dtype)


def vectorized_vega(
    flag: Any,
    S: Any,
    K: Any,
    t: Any,
    r: Any,
    sigma: Any,
    q: Any = None,
    *,
    model: str = "black_scholes",
    return_as: str = "dataframe",
    dtype: Any = np.float64,
) -> Any:
    """Vega per vol point: dV/dsigma x 0.01.

    >>> vectorized_vega(['c', 'p'], 95, [100, 90], .2, .2, .2, return_as='numpy').round(6)
    array([0.168929, 0.092919])
    """
    return _greek("vega", flag, S, K, t, r, sigma, q, model, return_as, dtype)


def vectorized_rho(
    flag: Any,
    S: Any,
    K: Any,
    t: Any,
    r: Any,
    sigma: Any,
    q: Any = None,
    *,
    model: str = "black_scholes",
    return_as: str = "dataframe",
    dtype: Any = np.float64,
) -> Any:
    """Rho per rate point: dV/dr x 0.01 (q held; F held for model="black").

    >>> vectorized_rho(['c', 'p'], 95, [100, 90], .2, .2, .2, return_as='numpy').round(6)
    array([ 0.083035, -0.027147])
    """
    return _greek("rho", flag, S, K, t, r, sigma, q, model, return_as, dtype)


def get_all_greeks(
    flag: Any,
    S: Any,
    K: Any,
    t: Any,
    r: Any,
    sigma: Any,
    q: Any = None,
    *,
    model: str = "black_scholes",
    return_as: str = "dataframe",
    dtype: Any = np.float64,
) -> Any:
    """delta, gamma, theta, rho and vega in one pass: a DataFrame (default), a JSON string (return_as="json")
    or a dict of numpy arrays (any other return_as).

    >>> g = get_all_greeks(['c', 'p'], 95, [100, 90], .2, .2, .2, return_as='dict')
    >>> list(g), g['delta'].round(5), g['gamma'].round(6)
    (['delta', 'gamma', 'theta', 'rho', 'vega'], array([ 0.46751, -0.13645]), array([0.046795, 0.025739]))
    """
    m = _model_code(model, q)
    buffer, ordered = _compute_buffer(
        m, flag, S, K, t, r, sigma, q if model == "black_scholes_merton" else None, _GREEKS
    )
    table = buffer.take([ordered.index(name) for name in _GREEKS], axis=0)  # py_vollib_vectorized's order
    if return_as == "dataframe":
        return _frame(_cast(table, dtype), _GREEKS)
    greeks = {name: _cast(row, dtype) for name, row in zip(_GREEKS, table)}
    if return_as == "json":
        return json.dumps({name: v.tolist() for name, v in greeks.items()})
    return greeks


# ---------------------------------------------------------------------------------------------------------
# DataFrame utility


def _require_column(col: Any, df: Any) -> None:
    if not isinstance(col, str):
        raise ValueError(f"Column {col} must be a string!")  # noqa: TRY004 (py_vollib_vectorized's type)
    if col not in df:
        raise ValueError(f"Column {col} not found in dataframe!")


def price_dataframe(
    df: Any,
    *,
    flag_col: str | None = None,
    underlying_price_col: str | None = None,
    strike_col: str | None = None,
    annualized_tte_col: str | None = None,
    riskfree_rate_col: str | None = None,
    sigma_col: str | None = None,
    price_col: str | None = None,
    dividend_col: str | None = None,
    model: str = "black_scholes",
    inplace: bool = False,
    dtype: Any = np.float64,
) -> Any:
    """Price a DataFrame of contracts: with ``sigma_col`` adds "Price" and the Greeks, with ``price_col`` adds
    "IV" and the Greeks, with both only the Greeks.  Returns a new DataFrame (same index), or None with
    inplace=True (columns added to ``df``).

    >>> import pandas as pd
    >>> df = pd.DataFrame({'Flag': ['c', 'p'], 'S': 95, 'K': [100, 90], 'T': 0.2, 'R': 0.2, 'IV': 0.2})
    >>> out = price_dataframe(df, flag_col='Flag', underlying_price_col='S', strike_col='K',
    ...     annualized_tte_col='T', riskfree_rate_col='R', sigma_col='IV', model='black_scholes')
    >>> list(out.columns), out['Price'].round(6).tolist()
    (['Price', 'delta', 'gamma', 'theta', 'rho', 'vega'], [2.895588, 0.611094])
    """
    for value, name in (
        (flag_col, "flag_col"),
        (underlying_price_col, "underlying_price_col"),
        (strike_col, "strike_col"),
        (annualized_tte_col, "annualized_tte_col"),
        (riskfree_rate_col, "riskfree_rate_col"),
    ):
        if value is None:
            raise CompatArgumentError(f"You must specify a `{name}` argument!")
    pd = _pandas()
    for col in (flag_col, underlying_price_col, strike_col, annualized_tte_col, riskfree_rate_col):
        _require_column(col, df)
    flag = _flags(df[flag_col])
    S, K, t, r = (
        _column(df[c]) for c in (underlying_price_col, strike_col, annualized_tte_col, riskfree_rate_col)
    )
    if price_col is not None and sigma_col is not None:
        warnings.warn(
            "Both `price_col` and `sigma_col` were specified. If these two calculations were not calculated using "
            "the same library, this may lead to inconsistencies.",
            stacklevel=2,
        )
        _require_column(price_col, df)
        _require_column(sigma_col, df)
        price, sigma, price_calc, iv_calc = _column(df[price_col]), _column(df[sigma_col]), False, False
    elif price_col is not None:
        _require_column(price_col, df)
        price, sigma, price_calc, iv_calc = _column(df[price_col]), None, False, True
    elif sigma_col is not None:
        _require_column(sigma_col, df)
        price, sigma, price_calc, iv_calc = None, _column(df[sigma_col]), True, False
    else:
        raise ValueError("You must specify either `sigma_col`, `price_col`, or both!")
    q = None
    if model == "black_scholes_merton":
        if dividend_col is None:
            raise ValueError("You must specify a `dividend_col` value with `black_scholes_merton` model.")
        _require_column(dividend_col, df)
        q = _column(df[dividend_col])
    m = _model_code(model, q)

    target = df if inplace else pd.DataFrame(index=df.index)
    if price_calc:
        target["Price"] = _cast(_compute(m, flag, S, K, t, r, sigma, q, ("price",))["price"], dtype)
    if iv_calc:
        sigma = vectorized_implied_volatility(price, S, K, t, r, flag, q=q, model=model, return_as="numpy")
        target["IV"] = _cast(sigma, dtype)
    greeks = get_all_greeks(flag, S, K, t, r, sigma, q, model=model, return_as="dict", dtype=dtype)
    for name in _GREEKS:
        target[name] = greeks[name]
    if inplace:
        return None
    return target
