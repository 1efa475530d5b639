"""Arrays with one row per account that grow an account at a time (the engine's per-account figures, the pool's
segment bounds).  Each array is a view of the first ``n`` rows of a store with room to spare, which doubles when
full: accounts added one by one cost amortised O(1), where a copy of every array per new account cost
milliseconds at 100,000 accounts."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


class RowStores:
    """The stores behind named per-account arrays (kept out of pickles: an unpickled array gets a new store when
    it next grows)."""

    def __init__(self) -> None:
        self._stores: dict[str, npt.NDArray[Any]] = {}

    def grown(self, name: str, rows: npt.NDArray[Any], n: int, fill: Any) -> npt.NDArray[Any]:
        """``rows`` (the array called ``name``) with ``n`` >= len(rows) rows, the new ones set to ``fill``."""
        have = len(rows)
        store = self._stores.get(name)
        if store is None or len(store) < n or rows.base is not store or rows.ctypes.data != store.ctypes.data:
            capacity = max(n + n // 8, 2 * have, 16)  # (an eighth spare from the first: the first new accounts)
            store = np.full((capacity, *rows.shape[1:]), fill, dtype=rows.dtype)
            store[:have] = rows
            self._stores[name] = store
        else:  # (rows past ``have`` may hold those of accounts an undone update dropped)
            store[have:n] = fill
        return store[:n]
