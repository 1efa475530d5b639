"""The live refresh's settle cells: each account's options value and futures P&L summed per (underlying,
settlement currency) pair of the instrument table, and each currency's sums added up from its cells.

An index tick of one coin changes the values of that coin's instruments only: the refresh re-sums that coin's
cells, reading only its positions, and keeps the other coins' (the engine's ``options_part`` and
``futures_part`` arrays, one row per account).  Every other update re-sums every cell of the accounts it
recomputes.  The currencies' sums add the cells in the same order on every path, so a tick and a full
recomputation give the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .._types import IntArray

# Above this many underlyings every instrument shares one segment: no cells are kept (their per-account rows would
# grow with underlyings x currencies while a tick re-sums one of them).
MAX_SEGMENTS = 64


@dataclass(frozen=True)
class SettleCells:
    """Per instrument row, its cell; per cell, its currency column and its segment (an underlying)."""

    cell_of: IntArray
    currency: IntArray
    segment: IntArray

    def __len__(self) -> int:
        return len(self.currency)


def settle_cells(underlying: npt.ArrayLike, settle_col: npt.ArrayLike) -> SettleCells | None:
    """The cells of a table whose rows have the underlying codes ``underlying`` and settle in the currency
    columns ``settle_col``, numbered in order of first appearance; None when the table has one underlying (the
    cells would be its currencies) or more than `MAX_SEGMENTS`."""
    codes = np.asarray(underlying, dtype=np.int64)
    columns = np.asarray(settle_col, dtype=np.int64)
    segments, segment_of = np.unique(codes, return_inverse=True)
    if not 2 <= len(segments) <= MAX_SEGMENTS:
        return None
    pairs = segment_of.astype(np.int64) * (int(columns.max(initial=0)) + 1) + columns
    _, first, cell_of = np.unique(pairs, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # cells numbered as the rows first name them
    renumber = np.empty_like(order)
    renumber[order] = np.arange(len(order))
    cell_of = renumber[cell_of.reshape(-1)].astype(np.int64)
    rows = first[order]
    return SettleCells(cell_of, columns[rows].copy(), segment_of[rows].astype(np.int64))
