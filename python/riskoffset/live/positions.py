"""The live engine's positions: a CSR book that trades change one account at a time.

Accounts keep the CSR arrays of the book they started from; an account that trades moves to a small
per-account table (instrument row -> [quantity, average price]) until the next `compact`.  Quantities are
netted in the same integer units as `Book` (so a position that trades back to zero disappears exactly as it
would in a book built from the same rows), and the average entry price of futures follows
`riskoffset.accounts.equity.futures_fill`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .._types import FloatArray, IntArray
from ..accounts.equity import futures_fill
from ..book import _SCALE, Book
from ..instruments import InstrumentTable

Csr = tuple[IntArray, IntArray, FloatArray, FloatArray]  # indptr, indices, quantity, average price


class Positions:
    """Per account and instrument row of an instrument table: signed amount and, for futures, the average
    entry price (NaN where there is none)."""

    def __init__(self, book: Book, average_price: FloatArray):
        self.labels: list[Any] = np.asarray(book.accounts).tolist()
        self.row_of: dict[Any, int] = {label: i for i, label in enumerate(self.labels)}
        self.indptr = np.asarray(book.indptr, dtype=np.int64)
        self.indices = np.asarray(book.indices, dtype=np.int64)
        self.quantity = np.asarray(book.quantity, dtype=np.float64)
        self.average = np.asarray(average_price, dtype=np.float64)
        self.changed: dict[int, dict[int, list[float]]] = {}
        self._csc: tuple[IntArray, IntArray] | None = None
        self.version = 0  # changes whenever a position does (caches of the CSR arrays check it)

    def __len__(self) -> int:
        return len(self.labels)

    # ------------------------------------------------------------------ accounts
    def account_row(self, label: Any, *, create: bool = False) -> int:
        """Row of an account label; a new account (no positions) is added with ``create``."""
        row = self.row_of.get(label)
        if row is None:
            if not create:
                raise KeyError(label)
            row = len(self.labels)
            self.labels.append(label)
            self.row_of[label] = row
            self.indptr = np.append(self.indptr, self.indptr[-1])
            self.version += 1
        return row

    def segment(self, row: int) -> dict[int, list[float]]:
        """An account's positions as {instrument row: [quantity, average price]} (a copy)."""
        own = self.changed.get(row)
        if own is not None:
            return {i: list(v) for i, v in own.items()}
        s, e = int(self.indptr[row]), int(self.indptr[row + 1])
        return {
            int(i): [float(q), float(a)]
            for i, q, a in zip(self.indices[s:e], self.quantity[s:e], self.average[s:e])
        }

    # ------------------------------------------------------------------ trades
    def trade(
        self, row: int, instrument: int, quantity: float, price: float, *, future: bool, inverse: bool
    ) -> float:
        """Add a fill to the account; returns the futures P&L it realises (settlement currency, 0 for
        anything else).  ``price`` is the fill price (used for futures' average price)."""
        self.version += 1
        own = self.changed.get(row)
        if own is None:
            own = self.segment(row)
            self.changed[row] = own
        held, average = own.get(instrument, [0.0, float("nan")])
        realised = 0.0
        units = round(held * _SCALE) + round(quantity * _SCALE)
        after = units / _SCALE
        if future:
            _, average, realised = futures_fill(held, average, after - held, price, inverse)
        if units == 0:
            own.pop(instrument, None)
        else:
            own[instrument] = [after, average if future else float("nan")]
        return realised

    # ------------------------------------------------------------------ CSR views
    def csr(self, rows: IntArray | None = None) -> Csr:
        """The positions of accounts ``rows`` (all when None) as CSR arrays, account order as given."""
        if rows is None:
            if not self.changed:
                return self.indptr, self.indices, self.quantity, self.average
            rows = np.arange(len(self.labels), dtype=np.int64)
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) == 1:  # one account (a trade, a balance): no gather
            return self._one(int(rows[0]))
        n = len(self.labels)
        if not self.changed and len(rows) == n and (n == 0 or (rows[0] == 0 and rows[-1] == n - 1)):
            return self.indptr, self.indices, self.quantity, self.average  # every account, in order
        lengths = (self.indptr[rows + 1] - self.indptr[rows]).astype(np.int64)
        changed = np.array([r in self.changed for r in rows.tolist()], dtype=bool) if self.changed else None
        if changed is not None:
            lengths[changed] = [len(self.changed[r]) for r in rows[changed].tolist()]
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        n = int(indptr[-1])
        indices = np.empty(n, dtype=np.int64)
        quantity = np.empty(n)
        average = np.empty(n)
        kept = np.flatnonzero(~changed) if changed is not None else np.arange(len(rows))
        if len(kept):
            size = lengths[kept]
            dst_start = indptr[kept]
            src_start = self.indptr[rows[kept]]
            total = int(size.sum())
            offset = np.arange(total) - np.repeat(np.cumsum(size) - size, size)
            dst = np.repeat(dst_start, size) + offset
            src = np.repeat(src_start, size) + offset
            indices[dst], quantity[dst], average[dst] = (
                self.indices[src],
                self.quantity[src],
                self.average[src],
            )
        if changed is not None:
            for j in np.flatnonzero(changed).tolist():
                own = self.changed[int(rows[j])]
                s = int(indptr[j])
                for k, i in enumerate(sorted(own)):
                    indices[s + k] = i
                    quantity[s + k], average[s + k] = own[i]
        return indptr, indices, quantity, average

    def _one(self, row: int) -> Csr:
        """One account's positions as CSR arrays (views of the book's arrays when it has not traded)."""
        own = self.changed.get(row)
        if own is None:
            s, e = int(self.indptr[row]), int(self.indptr[row + 1])
            return np.array([0, e - s], dtype=np.int64), self.indices[s:e], self.quantity[s:e], self.average[s:e]
        n = len(own)
        order = sorted(own)
        indices = np.array(order, dtype=np.int64).reshape(n)
        values = np.array([own[i] for i in order], dtype=np.float64).reshape(n, 2)
        return np.array([0, n], dtype=np.int64), indices, values[:, 0].copy(), values[:, 1].copy()

    def compact(self) -> None:
        """Fold the traded accounts back into the CSR arrays."""
        if self.changed:
            self.indptr, self.indices, self.quantity, self.average = self.csr()
            self.changed = {}
            self._csc = None
            self.version += 1

    def holders(self, instrument_mask: npt.NDArray[np.bool_]) -> IntArray:
        """Rows of the accounts holding any instrument where ``instrument_mask`` is True (for a few
        instruments from the by-instrument index, else by a scan of the positions)."""
        wanted = np.flatnonzero(instrument_mask)
        if len(wanted) <= 16:
            ptr, accounts = self._by_instrument()
            hit = np.zeros(len(self.labels), dtype=bool)
            for i in wanted[wanted + 1 < len(ptr)].tolist():
                hit[accounts[ptr[i] : ptr[i + 1]]] = True
        else:
            before = np.concatenate(([0], np.cumsum(instrument_mask[self.indices], dtype=np.int64)))
            hit = before[self.indptr[1:]] - before[self.indptr[:-1]] > 0
        for r, own in self.changed.items():  # traded accounts: their own table decides
            hit[r] = any(instrument_mask[i] for i in own)
        return np.flatnonzero(hit).astype(np.int64)

    def _by_instrument(self) -> tuple[IntArray, IntArray]:
        """The CSR arrays' accounts per instrument row (a CSC index), built once per compaction."""
        if self._csc is None:
            n_instruments = int(self.indices.max()) + 1 if len(self.indices) else 0
            order = np.argsort(self.indices, kind="stable")
            account = np.repeat(np.arange(len(self.labels), dtype=np.int64), np.diff(self.indptr))
            ptr = np.zeros(n_instruments + 1, dtype=np.int64)
            np.cumsum(np.bincount(self.indices, minlength=n_instruments), out=ptr[1:])
            self._csc = (ptr, account[order])
        ptr, accounts = self._csc
        return ptr, accounts

    def book(self, table: InstrumentTable, name: str = "") -> Book:
        """The current positions as a `Book` with the futures' average prices (accounts without positions are
        left out, as a book does)."""
        indptr, indices, quantity, average = self.csr()
        account = np.asarray(self.labels)[np.repeat(np.arange(len(self.labels)), np.diff(indptr))]
        known = average if np.isfinite(average).any() else None
        return Book.from_arrays(account, indices, quantity, instruments=table, name=name, average_price=known)

    def __getstate__(self) -> dict[str, Any]:
        self.compact()
        return dict(self.__dict__)
