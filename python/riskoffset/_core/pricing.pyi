# Type stubs for riskoffset._core.pricing (private; use riskoffset.greeks, price, implied_vol).
from collections.abc import Iterable, Mapping
from typing import Any, Callable

import numpy as np
import numpy.typing as npt

OUTPUT_NAMES: list[str]
OUTPUT_INDEX: dict[str, int]
LINEAR_OUTPUT_COUNT: int

def greeks(
    flag: npt.ArrayLike,
    underlying: npt.ArrayLike,
    strike: npt.ArrayLike,
    t: npt.ArrayLike,
    r: npt.ArrayLike,
    sigma: npt.ArrayLike,
    q: npt.ArrayLike,
    model: int,
    settlement: int,
    mask: int,
    n: int,
    threads: int,
    out: list[npt.NDArray[np.float64]] | tuple[npt.NDArray[np.float64], ...] | None = None,
) -> tuple[list[npt.NDArray[np.float64]], int, str]: ...
def implied_vol(
    price: npt.ArrayLike,
    flag: npt.ArrayLike,
    underlying: npt.ArrayLike,
    strike: npt.ArrayLike,
    t: npt.ArrayLike,
    r: npt.ArrayLike,
    q: npt.ArrayLike,
    model: int,
    settlement: int,
    n: int,
    threads: int,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int8]]: ...
def value_scalar(
    output: int,
    flag: Any,
    underlying: Any,
    strike: Any,
    t: Any,
    r: Any,
    sigma: Any,
    q: Any,
    model: int,
    settlement: int,
) -> float | None: ...

class ScalarFunction:
    """Compiled fast path for one option with a Python fallback (used by riskoffset.compat.vollib)."""

    def __init__(
        self, model: int, output: int, scale: float, nargs: int, fallback: Callable[..., float]
    ) -> None: ...
    def __call__(self, *args: Any, **kwargs: Any) -> float: ...

def greeks_scalar(
    flag: Any,
    underlying: Any,
    strike: Any,
    t: Any,
    r: Any,
    sigma: Any,
    q: Any,
    model: int,
    settlement: int,
    outputs: str | Iterable[str] | tuple[int, ...] | None = None,
) -> dict[str, float] | None: ...
def implied_vol_scalar(
    price: Any, flag: Any, underlying: Any, strike: Any, t: Any, r: Any, q: Any, model: int, settlement: int
) -> tuple[float, int] | None: ...
def greeks_arrays(
    flag: Any,
    underlying: Any,
    strike: Any,
    t: Any,
    r: Any,
    sigma: Any,
    q: Any,
    model: int,
    settlement: int,
    outputs: str | Iterable[str] | tuple[int, ...] | None,
    threads: int,
    out: Mapping[str, npt.NDArray[np.float64]] | None = None,
) -> dict[str, npt.NDArray[np.float64]] | None: ...
def implied_vol_arrays(
    price: Any,
    flag: Any,
    underlying: Any,
    strike: Any,
    t: Any,
    r: Any,
    q: Any,
    model: int,
    settlement: int,
    threads: int,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int8]] | None: ...
