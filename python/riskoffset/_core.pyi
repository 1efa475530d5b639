# Type stubs for the compiled module riskoffset._core (private; use the riskoffset package).
from typing import Any, Callable

import numpy as np
import numpy.typing as npt

OUTPUT_NAMES: list[str]

def compiled_targets() -> list[str]: ...
def supported_targets() -> list[str]: ...
def active_target() -> str: ...
def set_active_target(name: str) -> None: ...
def vmath(target: str, function: str, x: float) -> float: ...
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
    out: list[npt.NDArray[np.float64]] | None = None,
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
    """Compiled fast path for one option with a Python fallback (see compat/vollib/_fast.py)."""

    def __init__(
        self, model: int, output: int, scale: float, nargs: int, fallback: Callable[..., float]
    ) -> None: ...
    def __call__(self, *args: Any, **kwargs: Any) -> float: ...

def greeks_scalar(
    flag: Any, underlying: Any, strike: Any, t: Any, r: Any, sigma: Any, q: Any, model: int, settlement: int
) -> dict[str, float] | None: ...
def implied_vol_scalar(
    price: Any, flag: Any, underlying: Any, strike: Any, t: Any, r: Any, q: Any, model: int, settlement: int
) -> tuple[float, int] | None: ...
def scenario_values(
    flag: npt.NDArray[np.float64],
    forward: npt.NDArray[np.float64],
    strike: npt.NDArray[np.float64],
    t: npt.NDArray[np.float64],
    inverse: npt.NDArray[np.float64],
    sigma: npt.NDArray[np.float64],
    vol_state: npt.NDArray[np.int32],
    move: npt.NDArray[np.float64],
    time_shift: npt.NDArray[np.float64] | None,
    r: float,
    threads: int,
    base_first: bool = False,
    out: npt.NDArray[np.float64] | None = None,
) -> tuple[npt.NDArray[np.float64], int]: ...
def csr_product(
    starts: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    instrument: npt.ArrayLike,
    quantity: npt.NDArray[np.float64],
    pnl: npt.NDArray[np.float64],
    threads: int,
) -> npt.NDArray[np.float64]: ...
def pooled_bytes() -> int: ...
def release_pooled_memory() -> int: ...
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
    order: tuple[int, ...],
    threads: int,
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
