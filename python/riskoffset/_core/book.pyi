# Type stubs for riskoffset._core.book (private; used by the margin methods).
import numpy as np
import numpy.typing as npt

def group_positions(
    indptr: npt.NDArray[np.int64], key: npt.NDArray[np.int64], n_keys: int
) -> tuple[npt.NDArray[np.int64] | None, npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
def csr_product(
    starts: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    instrument: npt.ArrayLike,
    quantity: npt.NDArray[np.float64],
    pnl: npt.NDArray[np.float64],
    threads: int,
) -> npt.NDArray[np.float64]: ...

def cell_sums(
    starts: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    order: npt.NDArray[np.int64] | None,
    instrument: npt.NDArray[np.int64],
    quantity: npt.NDArray[np.float64],
    value: npt.NDArray[np.float64],
    column: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]: ...
def net_positions(
    account: npt.NDArray[np.int64],
    row: npt.NDArray[np.int64],
    units: npt.NDArray[np.int64],
    n_accounts: int,
    n_instruments: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...

class LabelIndex:
    """The rows of integer account labels (row r for the r-th label)."""

    def __init__(self, labels: list[int]) -> None: ...
    def get(self, label: int, /) -> int | None: ...
    def append(self, label: int) -> None: ...
    def truncate(self, n: int) -> None: ...
    def __len__(self) -> int: ...
