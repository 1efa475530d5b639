"""The live engine's undo log: every update is all or nothing.

An update records, before it changes them, the market quotes and valuation time, the instrument columns it
reprices, the one account whose positions or balances it changes (and its SPAN margin), the last times of the quotes it takes (so a
refused quote's time does not make the next one look out of order), and every set of accounts it recomputes
(with their levels).  If the update fails half-way, `Undo` puts the inputs back, recomputes those accounts from
them (the same compiled code on the same inputs gives the same figures) and restores their levels, so the engine
is exactly as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .._types import IntArray

if TYPE_CHECKING:
    from .engine_state import EngineState


class Undo:
    """Restores what an update changed if it fails half-way: market quotes, instrument columns, one
    account's arrays and positions."""

    def __init__(self, engine: EngineState):
        self.e = engine
        self.saved_market: dict[str, dict[str, Any]] = {}
        self.saved_time: Any = None
        self.saved_rows: tuple[Any, ...] | None = None
        self.saved_account: tuple[Any, ...] | None = None
        self.saved_flags: tuple[Any, Any] | None = None
        self.saved_forwards: dict[int, float] = {}
        self.saved_times: dict[str, int | None] = {}  # the in-order times the update moved, as they were
        self.saved_margins: list[tuple[IntArray, Any, Any]] = []  # SPAN's margin columns of accounts, as they were

    def __enter__(self) -> Undo:  # noqa: PYI034 - a private helper, never subclassed
        e = self.e
        # (rows, keys, their levels before) of every recomputation so far
        self.refreshed: list[tuple[IntArray, IntArray | None, npt.NDArray[np.int8]]] = []
        e._undo = self
        self.saved_pm = (e._inputs, e._keys) if e.pm else None
        self.n_accounts = len(e.positions)
        return self

    def market(self, *, valuation_time: Any = None, **tables: Mapping[str, float]) -> None:
        m = self.e.market
        for name, values in tables.items():
            current = getattr(m, name)
            saved = self.saved_market.setdefault(name, {})
            for k in values:
                saved.setdefault(k, current.get(k))  # the value before the first change
        if valuation_time is not None and self.saved_time is None:
            self.saved_time = m.valuation_time
        m.update(valuation_time=valuation_time, **tables)  # type: ignore[arg-type]

    def instruments(self, rows: IntArray | slice, *, flags: bool = True) -> None:
        """Save the instrument columns of ``rows`` (and, with ``flags``, which instruments are held or stale:
        an update that cannot change them, one held option's ticker, leaves them out)."""
        e = self.e
        if flags and self.saved_flags is None:
            self.saved_flags = (e._held.copy(), e._stale.copy())
        pm = (e._inputs.vectors[rows].copy(), e._inputs.delta[rows].copy()) if e.pm else None
        units = e._standard
        standard = None if units is None else {f: getattr(units, f)[rows].copy() for f in units.MARKET_FIELDS}
        g = e._grid
        grid = None if g is None else (g.pnl[rows].copy(), None if g.delta is None else g.delta[rows].copy(), g.index.copy())
        # (the options' kept columns too: a later update compares their forwards with the market's to find the
        # options it moved, so columns left from an undone update would hide a move back to their forward)
        kept = tuple(column[rows].copy() for column in e._option_columns)
        self.saved_rows = (
            rows, e._unit_value[rows].copy(), e._unit_delta[rows].copy(), e._mark[rows].copy(), pm, standard, grid, kept,
        )  # fmt: skip

    def margins(self, rows: IntArray) -> None:
        """Save the margin columns of accounts ``rows`` (SPAN's, which the engine writes when positions change)."""
        e = self.e
        self.saved_margins.append((rows, e._initial[rows].copy(), e._maintenance[rows].copy()))

    def option_forward(self, row: int) -> None:
        """Save the kept forward of the option at ``row`` (a ticker's new forward replaces it)."""
        self.saved_forwards.setdefault(row, float(self.e._option_columns.forward[row]))

    def account(self, row: int) -> None:
        e = self.e
        self.saved_account = (row, e._balance[row].copy(), e.positions.save(row))

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        e = self.e
        e._undo = None
        if kind is None:
            if e._savepoints is not None:  # (kept undoable until the owner of the savepoints decides)
                e._savepoints.undos.append(self)
            return
        self.restore()

    def restore(self) -> None:
        """Put back what the update changed and recompute the accounts it recomputed: the engine is as it was
        before the update (of a failed update, or of a completed one a `Savepoints` kept)."""
        e = self.e
        m = e.market
        if self.saved_market or self.saved_time is not None:  # (a trade's or a balance's undo leaves the quotes)
            e._price_cache = e._moves_cache = None
            for name, values in self.saved_market.items():
                table = getattr(m, name)
                for k, v in values.items():
                    if v is None:
                        table.pop(k, None)
                    else:
                        table[k] = v
            if self.saved_time is not None:
                m.update(valuation_time=self.saved_time)
            m.clear_caches()
        if self.saved_pm is not None:
            e._inputs, e._keys = self.saved_pm
        if self.saved_flags is not None:
            e._held, e._stale = self.saved_flags
        if self.saved_rows is not None:
            rows, value, delta, mark, pm, standard, grid, kept = self.saved_rows
            e._unit_value[rows], e._unit_delta[rows], e._mark[rows] = value, delta, mark
            for column, saved in zip(e._option_columns, kept):
                column[rows] = saved
            if pm is not None:
                e._inputs.vectors[rows], e._inputs.delta[rows] = pm
            if standard is not None and e._standard is not None:
                for f, column in standard.items():
                    getattr(e._standard, f)[rows] = column
            if grid is not None and e._grid is not None:
                e._grid.pnl[rows], e._grid.index[:] = grid[0], grid[2]
                if grid[1] is not None and e._grid.delta is not None:
                    e._grid.delta[rows] = grid[1]
        for row, forward in self.saved_forwards.items():
            e._option_columns.forward[row] = forward
        for key, last in self.saved_times.items():
            if last is None:
                e._last_time.pop(key, None)
            else:
                e._last_time[key] = last
        if self.saved_account is not None:
            row, balance, saved = self.saved_account
            e._balance[row] = balance
            e.positions.restore(row, saved)
        for rows, initial, maintenance in reversed(self.saved_margins):
            e._initial[rows], e._maintenance[rows] = initial, maintenance
        if len(e.positions) > self.n_accounts:  # an account the failed update created
            e.positions.drop_from(self.n_accounts)
            e._shrink(self.n_accounts)
        # The inputs are back: the accounts recomputed so far are recomputed from them (the same code on the
        # same inputs gives the same figures), then the levels are those saved.
        for rows, keys, _ in self.refreshed:
            e._refresh(rows[rows < self.n_accounts], keys=keys, emit=False)
        for rows, _, levels in reversed(self.refreshed):
            kept = rows < self.n_accounts
            e._level[rows[kept]] = levels[kept]
        e._to_notify = []


# ====================================================================== helpers
