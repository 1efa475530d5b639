"""The one sparse product of the package: ``L = Q . P`` for a book, the positions of each (account, key)
group summed in CSR order (deterministic: threads split groups, never a group) by the C++ CSR kernel.

Every "quantity times a per-instrument matrix" goes through it: scenario P&L per account and risk group
(margin), Greeks per account (reports), a what-if basket's orders, the legacy portfolio-margin presets' gross
sizes (`group_sums`) and their net amount per strike (`cell_sums`, over the cells a book holds)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from . import _core
from ._types import FloatArray, IntArray

if TYPE_CHECKING:
    from .book import Book


@dataclass(frozen=True)
class AccountPnL:
    """``pnl[g, j]``: P&L of group ``g`` (an account, or an account's risk group ``key``) in scenario ``j``."""

    account: IntArray  # row of book.accounts
    key: IntArray  # group key code (0 when not grouped)
    pnl: FloatArray


@dataclass(frozen=True)
class Grouping:
    """Positions of a book grouped by (account, key): ``order`` (None when CSR order already groups them)
    puts each group's positions together, in CSR order within a group; ``starts`` and ``ids`` (account row x
    n_keys + key) describe the runs, ascending."""

    order: IntArray | None
    starts: IntArray
    ids: IntArray
    n_keys: int
    n_positions: int

    @property
    def lengths(self) -> IntArray:
        return np.diff(np.append(self.starts, self.n_positions))


def group_positions(book: Book, key_of_instrument: IntArray | None = None, n_keys: int = 1) -> Grouping:
    """The (account, key) groups of ``book``'s positions (see Grouping).  Keys interleave within an account
    (canonical order is by underlying and expiry, not settlement), so they are gathered by a stable counting
    sort in one compiled pass: linear in positions, no comparison sort."""
    n = len(book.indices)
    if key_of_instrument is None or n_keys == 1:
        key = np.zeros(n, dtype=np.int64)
        n_keys = 1
    else:
        key = np.asarray(key_of_instrument, dtype=np.int64)[book.indices]
    order, starts, ids = _core.book.group_positions(np.asarray(book.indptr, dtype=np.int64), key, n_keys)
    return Grouping(order, starts, ids, n_keys, n)


def _grouped_positions(book: Book, grouping: Grouping) -> tuple[IntArray, FloatArray]:
    """The book's (instrument row, quantity) columns in the order of ``grouping``."""
    if grouping.order is None:
        return book.indices, book.quantity
    return book.indices[grouping.order], book.quantity[grouping.order]


def group_sums(
    book: Book, matrix: FloatArray, grouping: Grouping, *, absolute: bool = False, threads: int = 1
) -> FloatArray:
    """``Q . M`` per group of ``grouping``: row ``g`` sums quantity x ``matrix[instrument]`` (rows =
    book.instruments) over the group's positions, in CSR order; with ``absolute``, |quantity| instead (gross
    sizes).  Shape (groups, columns of ``matrix``; a vector counts as one column).  One C++ pass
    (``riskoffset._core.book.csr_product``); threads split groups, never a group."""
    indices, quantity = _grouped_positions(book, grouping)
    m = np.asarray(matrix, dtype=np.float64)
    m = np.ascontiguousarray(m[:, None] if m.ndim == 1 else m)
    if m.shape[0] != len(book.instruments):
        raise ValueError(f"the matrix has {m.shape[0]} rows, the book {len(book.instruments)} instruments")
    if not len(grouping.ids):
        return np.zeros((0, m.shape[1]))
    return _core.book.csr_product(
        grouping.starts, grouping.lengths, indices, np.abs(quantity) if absolute else quantity, m, threads
    )


def account_pnl(
    book: Book,
    pnl: FloatArray,
    key_of_instrument: IntArray | None = None,
    n_keys: int = 1,
    *,
    grouping: Grouping | None = None,
    threads: int = 1,
) -> AccountPnL:
    """``L = Q . P``: the P&L of every account (or of every (account, key) with ``key_of_instrument``, a code
    ``< n_keys`` per row of ``book.instruments``) in every column of ``pnl`` (rows = book.instruments).

    A group's positions are added in CSR order (deterministic: a netted book is canonical, and threads split
    groups, never a group)."""
    if pnl.shape[0] != len(book.instruments):
        raise ValueError(f"pnl has {pnl.shape[0]} rows, the book {len(book.instruments)} instruments")
    g = grouping if grouping is not None else group_positions(book, key_of_instrument, n_keys)
    return AccountPnL(g.ids // g.n_keys, g.ids % g.n_keys, group_sums(book, pnl, g, threads=threads))


@dataclass(frozen=True)
class CellSums:
    """Sums per occupied (group, column) cell, cells ascending: ``group[c]`` (a row of the grouping),
    ``column[c]`` and ``total[c]``."""

    group: IntArray
    column: IntArray
    total: FloatArray


def cell_sums(book: Book, value: FloatArray, column: IntArray, grouping: Grouping) -> CellSums:
    """Sums of quantity x ``value[instrument]`` per group of ``grouping`` and per ``column[instrument]`` (e.g.
    the net amount per strike), over the cells a group's positions occupy only: positions whose instrument's
    column is negative are left out.  Linear in positions whatever the number of columns (a dense groups x
    columns matrix would not fit at exchange scale); each cell sums its positions in CSR order (one C++
    pass, ``riskoffset._core.book.cell_sums``)."""
    n = len(book.instruments)
    v = np.ascontiguousarray(value, dtype=np.float64)
    c = np.ascontiguousarray(column, dtype=np.int64)
    if v.shape != (n,) or c.shape != (n,):
        raise ValueError(f"value and column need one entry per instrument ({n}), got {v.shape} and {c.shape}")
    group, col, total = _core.book.cell_sums(
        grouping.starts, grouping.lengths, grouping.order, book.indices, book.quantity, v, c
    )
    return CellSums(group, col, total)


def account_sums(indptr: IntArray, indices: IntArray, quantity: FloatArray, per_instrument: FloatArray) -> FloatArray:
    """``Q . M`` per account of CSR arrays: row ``a`` sums quantity x ``per_instrument[instrument]`` over the
    account's positions, in CSR order (one C++ pass; an account without positions gets zeros)."""
    starts = np.ascontiguousarray(indptr[:-1], dtype=np.int64)
    matrix = np.ascontiguousarray(per_instrument, dtype=np.float64)
    if not len(starts):
        return np.zeros((0, matrix.shape[1]))
    return _core.book.csr_product(starts, np.diff(indptr).astype(np.int64), indices, quantity, matrix, 1)


def spread_by_column(values: FloatArray, column: IntArray, width: int) -> FloatArray:
    """An (instruments x ``width``) matrix holding each instrument's ``values`` (one row or several: shape
    (n,) or (n, m)) in its ``column`` (block ``b`` of m blocks at ``b x width + column``), zeros elsewhere: what
    `account_sums` turns into per [account, column] totals (a settlement currency, say)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[:, None] if v.ndim == 1 else v
    n, m = v.shape
    out = np.zeros((n, m * width))
    rows = np.arange(n)
    for b in range(m):
        out[rows, b * width + column] = v[:, b]
    return out


__all__ = [
    "AccountPnL",
    "CellSums",
    "Grouping",
    "account_pnl",
    "account_sums",
    "cell_sums",
    "group_positions",
    "group_sums",
    "spread_by_column",
]
