"""The live engine's positions: one segment per account in a pool of arrays, that trades change one account at
a time.

Account ``r`` holds the pool's positions ``start[r] .. end[r] - 1`` (instrument row, signed amount, average
entry price of futures or NaN), sorted by instrument row.  The pool starts as the book's CSR arrays; a trade
that opens or closes a position writes the account's new segment at the end of the pool (grown by doubling) and
points the account at it, so the compiled refresh reads every account where it lies, without gathering the
book, whatever traded.  The old segment stays behind until `compact` (an undo points the account back at it).
Outside an undo, a trade that only changes a position's size writes it where it lies.  Quantities are netted in the
same integer units as `Book` (a position that trades back to zero disappears exactly as it would in a book
built from the same rows), and the average entry price of futures follows
`riskoffset.accounts.equity.futures_fill`.  The trade itself is compiled (the engine's refresh writes the new
segment, ``LiveRefresh.trade``); this class keeps the pool's bookkeeping.

The pool's arrays (``start``, ``end``, ``indices``, ``quantity``, ``average``) are read-only: only this class
and the compiled trade write them, and every writer keeps each segment inside the pool, in the instrument table
and ascending.  Once a refresh of every account has checked them (`trusted`), an index tick need not read every
position again to know it; an array made writeable from outside is checked again at every refresh.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import _core
from .._types import FloatArray, IntArray
from ..book import Book
from ..instruments import InstrumentTable
from ..io.deribit import excerpt
from .rows import RowStores

# Up to this many instruments, their holders come from the by-instrument index (kept between calls); more, by a
# scan of every position.
FEW_INSTRUMENTS = 16
# The change log that keeps `kept_holders` current is dropped past this many entries (they then scan afresh), and
# at most this many masks are kept.
MAX_CHANGES = 65_536
MAX_KEPT = 4_096
# `collect` rebuilds the by-instrument index when more than 1 / REINDEX_SHARE of the accounts traded since it was
# built (each of them is otherwise checked one by one whenever holders are looked up).
REINDEX_SHARE = 8

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

Csr = tuple[IntArray, IntArray, FloatArray, FloatArray]  # indptr, indices, quantity, average price
Saved = tuple[int, int, int]  # an account's start and end in the pool, the pool's size


def _check_new_label(label: Any) -> None:
    """A new account's label: a str, or an int within 64 bits (what the engine's book and balances can hold)."""
    if type(label) is str or (type(label) is int and _INT64_MIN <= label <= _INT64_MAX):
        return
    raise TypeError(f"account {excerpt(label, 40)}: a new account's label must be a str or an int within 64 bits")


class Positions:
    """Per account and instrument row of an instrument table: signed amount and, for futures, the average
    entry price (NaN where there is none)."""

    def __init__(self, book: Book, average_price: FloatArray):
        self.labels: list[Any] = np.asarray(book.accounts).tolist()  # Python scalars (str or int), never numpy ones
        self.relabel(self.labels)
        indptr = np.asarray(book.indptr, dtype=np.int64)
        self.start = _locked(indptr[:-1].copy())
        self.end = _locked(indptr[1:].copy())
        # Half again the room the book fills: the first trades write there, and the pool's first full moment is
        # then a collection (`reserve`: positions fill at most 3/4 of it), not a doubling that copies the book.
        self.size = len(book.indices)  # the pool's used length
        capacity = self.size + self.size // 2 + 64
        self.indices = np.empty(capacity, dtype=np.int64)
        self.quantity = np.empty(capacity, dtype=np.float64)
        self.average = np.empty(capacity, dtype=np.float64)
        self.indices[: self.size], self.quantity[: self.size] = book.indices, book.quantity
        self.average[: self.size] = average_price
        for column in (self.indices, self.quantity, self.average):
            _locked(column)
        # Whether a refresh of every account has checked the pool since it was built or read back (the engine
        # sets it; every writer here and the compiled trade keep what it checked true).
        self.trusted = False
        self.moved: set[int] = set()  # accounts whose segment is not the one the holders' index was built from
        self._csc: tuple[IntArray, IntArray] | None = None
        self.version = 0  # changes whenever a position does (caches of where segments lie check it)
        self._init_kept()

    def _init_kept(self) -> None:
        # What keeps `kept_holders` current: the (account, instrument row) of each trade that opened or closed a
        # position, and an epoch that moves when the holders may have changed otherwise (an undo, dropped
        # accounts, a long log): then they are found afresh.
        self.changes: list[tuple[int, int]] = []
        self.epoch = 0
        self._kept: dict[Hashable, _KeptHolders] = {}
        self._rows = RowStores()  # behind start and end, as accounts are added

    def __len__(self) -> int:
        return len(self.labels)

    # ------------------------------------------------------------------ accounts
    def relabel(self, labels: list[Any]) -> None:
        """The accounts' labels, row by row (Python scalars)."""
        self.labels = labels
        self.row_of: dict[Any, int] = {label: i for i, label in enumerate(labels)}
        # Integer labels also have a compiled index: a trade's lookup of a random account reads one cache line
        # there, three in the dict (`find` picks it).
        self.int_rows: _core.book.LabelIndex | None = None
        if all(type(label) is int and _INT64_MIN <= label <= _INT64_MAX for label in labels):
            self.int_rows = _core.book.LabelIndex(labels)

    def find(self, label: Any) -> int | None:
        """The row of an account label, or None."""
        if type(label) is int and self.int_rows is not None:
            return self.int_rows.get(label)
        return self.row_of.get(label)

    def account_row(self, label: Any, *, create: bool = False) -> int:
        """Row of an account label; a new account (no positions) is added with ``create``."""
        row = self.row_of.get(label)
        if row is None:
            if not create:
                raise KeyError(label)
            _check_new_label(label)
            row = len(self.labels)
            self.labels.append(label)
            self.row_of[label] = row
            if self.int_rows is not None:
                if type(label) is int and _INT64_MIN <= label <= _INT64_MAX:
                    self.int_rows.append(label)
                else:  # (labels of mixed types: the dict alone)
                    self.int_rows = None
            self.start = _locked(self._rows.grown("start", self.start, row + 1, self.size))
            self.end = _locked(self._rows.grown("end", self.end, row + 1, self.size))
            self.version += 1
        return row

    def drop_from(self, n: int) -> None:
        """Forget the accounts from row ``n`` on (an update that created them failed)."""
        for label in self.labels[n:]:
            del self.row_of[label]
        del self.labels[n:]
        if self.int_rows is not None:
            self.int_rows.truncate(n)
        self.start, self.end = _locked(self.start[:n].copy()), _locked(self.end[:n].copy())
        self.moved = {r for r in self.moved if r < n}
        self._csc = None  # (built since, it may list them: an undone update's later ones can have built it)
        self.version += 1
        self.epoch += 1

    def segment(self, row: int) -> dict[int, list[float]]:
        """An account's positions as {instrument row: [quantity, average price]} (a copy)."""
        s, e = int(self.start[row]), int(self.end[row])
        return {
            int(i): [float(q), float(a)]
            for i, q, a in zip(self.indices[s:e].tolist(), self.quantity[s:e].tolist(), self.average[s:e].tolist())
        }

    # ------------------------------------------------------------------ trades
    def save(self, row: int) -> Saved:
        """What `restore` needs to undo the next changes of the account."""
        return int(self.start[row]), int(self.end[row]), self.size

    def restore(self, row: int, saved: Saved) -> None:
        """Point the account back at its saved segment and drop what was written after it."""
        start, end, size = saved
        for column, value in ((self.start, start), (self.end, end)):
            column.flags.writeable = True
            column[row] = value
            column.flags.writeable = False
        self.size = size
        self.moved.add(row)  # always safe: the holders' index then reads this account's segment itself
        self.version += 1
        self.epoch += 1

    def reserve(self, row: int, *, collect: bool = False) -> None:
        """Room at the end of the pool for the account's segment plus one position.  With ``collect`` (no undo
        holds a place in the pool), a full pool drops what trades left behind (`collect`) unless the accounts'
        positions fill more than three quarters of it; then, or without ``collect``, it doubles.  So a
        long-running engine's pool stays below 8/3 of what its accounts hold, and a trade costs amortised O(1) per
        position either way."""
        length = int(self.end[row] - self.start[row])
        if self.size + length + 1 <= len(self.indices):
            return
        if collect and 4 * (int((self.end - self.start).sum()) + length + 1) <= 3 * len(self.indices):
            self.collect()
            return
        capacity = max(2 * len(self.indices), self.size + length + 1, 64)
        for name in ("indices", "quantity", "average"):
            old = getattr(self, name)
            grown = np.empty(capacity, dtype=old.dtype)
            grown[: self.size] = old[: self.size]
            setattr(self, name, _locked(grown))

    def collect(self) -> None:
        """Gather every account's segment to the front of the pool, in account order, keeping its capacity and the
        holders' index (no account's holdings change).  Every account's start and end move: nothing may hold a
        place in the pool across it (an undo does)."""
        indptr, take = _gather(self.start, self.end)
        total = int(indptr[-1])
        for name in ("indices", "quantity", "average"):
            old = getattr(self, name)
            pool = np.empty(len(old), dtype=old.dtype)
            np.take(old, take, out=pool[:total])
            setattr(self, name, _locked(pool))
        self.start, self.end = _locked(indptr[:-1].copy()), _locked(indptr[1:].copy())
        self.size = total
        self.version += 1
        if len(self.moved) > len(self.labels) // REINDEX_SHARE:  # `holders` checks each moved account in turn
            self._csc = None

    def appended(self, row: int, length: int, opened_or_closed: int = -1) -> None:
        """The account's new segment of ``length`` positions was written at the end of the pool (``start`` and
        ``end`` already point at it); ``opened_or_closed``: the instrument row the trade opened or closed a
        position in, or -1 when it changed one in size."""
        self.size += length
        self.moved.add(row)
        self.version += 1
        if opened_or_closed >= 0:
            self.changes.append((row, opened_or_closed))
            if len(self.changes) > MAX_CHANGES:  # the kept holders find theirs afresh
                self.changes, self.epoch = [], self.epoch + 1

    # ------------------------------------------------------------------ views
    def ranges(self, rows: IntArray | None = None) -> tuple[IntArray, IntArray]:
        """(start, end) in the pool of the accounts ``rows`` (all when None): what the compiled refresh reads."""
        if rows is None:
            return self.start, self.end
        return self.start[rows], self.end[rows]

    def csr(self, rows: IntArray | None = None) -> Csr:
        """The positions of accounts ``rows`` (all when None) gathered into CSR arrays, account order as given."""
        starts, ends = self.ranges(None if rows is None else np.asarray(rows, dtype=np.int64))
        if self.start.flags.writeable or self.end.flags.writeable:  # (made writeable from outside: checked here too)
            self._check_segments(starts, ends, rows)
        if len(starts) and np.array_equal(starts[1:], ends[:-1]) and starts[0] == 0 and ends[-1] == self.size:
            indptr = np.zeros(len(starts) + 1, dtype=np.int64)
            np.cumsum(ends - starts, out=indptr[1:])
            return indptr, self.indices[: self.size], self.quantity[: self.size], self.average[: self.size]
        indptr, take = _gather(starts, ends)
        return indptr, self.indices[take], self.quantity[take], self.average[take]

    def _check_segments(self, starts: IntArray, ends: IntArray, rows: IntArray | None) -> None:
        """ValueError naming the first account whose segment does not lie inside the pool."""
        bad = np.flatnonzero((starts < 0) | (ends < starts) | (ends > self.size))
        if len(bad):
            k = int(bad[0])
            row = k if rows is None else int(np.asarray(rows)[k])
            raise ValueError(
                f"account {self.labels[row]!r}: the account's segment [{int(starts[k])}, {int(ends[k])}) lies outside "
                f"the pool of {self.size} positions"
            )

    def compact(self) -> None:
        """Gather every account's segment back into one contiguous CSR pool (dropping what trades left)."""
        if self.moved or self.size != int(self.end[-1] if len(self.end) else 0):
            indptr, indices, quantity, average = self.csr()
            self.start, self.end = _locked(indptr[:-1].copy()), _locked(indptr[1:].copy())
            self.indices, self.quantity, self.average = (_locked(a.copy()) for a in (indices, quantity, average))
            self.size = len(self.indices)
        self.moved = set()
        self._csc = None
        self.version += 1

    def holders(self, instrument_mask: npt.NDArray[np.bool_]) -> IntArray:
        """Rows of the accounts holding any instrument where ``instrument_mask`` is True (for a few
        instruments from the by-instrument index, else by a scan of the positions)."""
        wanted = np.flatnonzero(instrument_mask)
        if len(wanted) > FEW_INSTRUMENTS:  # a scan reads every account's current segment
            return np.flatnonzero(self._holding(None, instrument_mask)).astype(np.int64)
        ptr, accounts = self._by_instrument()
        hit = np.zeros(len(self.labels), dtype=bool)
        for i in wanted[wanted + 1 < len(ptr)].tolist():
            hit[accounts[ptr[i] : ptr[i + 1]]] = True
        if self.moved:  # traded accounts: their current segments decide, not the index
            rows = np.fromiter(self.moved, dtype=np.int64, count=len(self.moved))
            hit[rows] = self._holding(rows, instrument_mask)
        return np.flatnonzero(hit).astype(np.int64)

    def _holding(self, rows: IntArray | None, instrument_mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        """Per account of ``rows`` (all when None): whether its segment holds an instrument of the mask."""
        indptr, indices, _, _ = self.csr(rows)
        before = np.concatenate(([0], np.cumsum(instrument_mask[indices], dtype=np.int64)))
        return np.asarray(before[indptr[1:]] - before[indptr[:-1]] > 0)

    def kept_holders(self, key: Hashable, instrument_mask: npt.NDArray[np.bool_]) -> IntArray:
        """`holders` (``instrument_mask``) kept under ``key`` (the caller's name for that mask: a coin, an
        instrument row) and brought up to date from the trades that opened or closed a position since, each
        changing one account at most: an update after trades then finds its holders without a scan."""
        kept = self._kept.get(key)
        n = len(self.labels)
        if kept is None or kept.epoch != self.epoch:
            if len(self._kept) >= MAX_KEPT:
                self._kept.clear()
            hit = np.zeros(n, dtype=bool)
            hit[self.holders(instrument_mask)] = True
            kept = self._kept[key] = _KeptHolders(self.epoch, len(self.changes), hit, None)
        if len(kept.hit) < n:  # accounts added since hold nothing yet (their first trades are in the log)
            kept.hit = np.concatenate((kept.hit, np.zeros(n - len(kept.hit), dtype=bool)))
        for account, instrument in self.changes[kept.seen :]:
            if instrument_mask[instrument]:
                now = bool(instrument_mask[self.indices[self.start[account] : self.end[account]]].any())
                if now != kept.hit[account]:
                    kept.hit[account], kept.rows = now, None
        kept.seen = len(self.changes)
        if kept.rows is None:
            kept.rows = np.flatnonzero(kept.hit).astype(np.int64)
        return kept.rows

    def _by_instrument(self) -> tuple[IntArray, IntArray]:
        """The accounts per instrument row (a CSC index) of the segments as they were at the last compaction
        (`moved` lists the accounts that changed since)."""
        if self._csc is None:
            self.moved = set()
            indptr, indices, _, _ = self.csr()
            n_instruments = int(indices.max()) + 1 if len(indices) else 0
            # A stable sort of 16-bit keys is a radix sort (~6x faster than on int64 keys for a venue's book).
            keys = indices.astype(np.uint16) if n_instruments <= np.iinfo(np.uint16).max else indices
            order = np.argsort(keys, kind="stable")
            account = np.repeat(np.arange(len(self.labels), dtype=np.int64), np.diff(indptr))
            ptr = np.zeros(n_instruments + 1, dtype=np.int64)
            np.cumsum(np.bincount(indices, minlength=n_instruments), out=ptr[1:])
            self._csc = (ptr, account[order])
        return self._csc

    def book(self, table: InstrumentTable, name: str = "") -> Book:
        """The current positions as a `Book` with the futures' average prices (accounts without positions are
        left out, as a book does)."""
        indptr, indices, quantity, average = self.csr()
        account = np.asarray(self.labels)[np.repeat(np.arange(len(self.labels)), np.diff(indptr))]
        known = average if np.isfinite(average).any() else None
        return Book.from_arrays(account, indices, quantity, instruments=table, name=name, average_price=known)

    def __getstate__(self) -> dict[str, Any]:
        self.compact()
        skip = ("changes", "epoch", "_kept", "_rows", "row_of", "int_rows")
        return {k: v for k, v in self.__dict__.items() if k not in skip}

    def __setstate__(self, state: dict[str, Any]) -> None:
        state.pop("row_of", None)  # (kept by engines saved before the labels' index)
        self.__dict__.update(state)
        self.relabel(self.labels)
        for name in ("start", "end", "indices", "quantity", "average"):
            setattr(self, name, _locked(np.array(getattr(self, name), copy=True)))  # (memory of its own)
        self.trusted = False  # (read back from outside: the next refresh of every account checks it)
        self._init_kept()


def _locked(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """``a`` made read-only (the pool's arrays: `Positions`)."""
    a.flags.writeable = False
    return a


def _gather(starts: IntArray, ends: IntArray) -> tuple[IntArray, IntArray]:
    """(indptr, take): segments [starts[a], ends[a]) of the pool laid end to end, as CSR offsets and the pool
    positions to read in that order."""
    lengths = ends - starts
    indptr = np.zeros(len(starts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    take = np.repeat(starts - indptr[:-1], lengths) + np.arange(int(indptr[-1]))
    return indptr, take


class _KeptHolders:
    """One `Positions.kept_holders` entry: its epoch, how much of the change log it has read, which accounts hold
    the mask's instruments, and their rows (None until asked again after a change)."""

    __slots__ = ("epoch", "hit", "rows", "seen")

    def __init__(self, epoch: int, seen: int, hit: npt.NDArray[np.bool_], rows: IntArray | None):
        self.epoch, self.seen, self.hit, self.rows = epoch, seen, hit, rows
