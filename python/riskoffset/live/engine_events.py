"""`EngineEvents`: `RiskEngine`'s events (docs/live.md): made when an update moves an account's level (its
figures and the positions losing most in its worst scenario), kept until read (`events`) and given to the
subscribers once the update is complete.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import _core
from .._types import IntArray
from .engine_state import EngineState
from .events import Event, EventBatch, EventFeed
from .figures import Contributors, FigureColumns

if TYPE_CHECKING:
    from .._core.margin import Captured


class EngineEvents(EngineState, EventFeed):
    """Events of accounts whose level moved (module doc)."""

    def _emit(self, row: int, was: int, now: int, timestamp: int | None, captured: Captured | None = None) -> None:
        """The event of one account whose level went from ``was`` to ``now`` (none when it stayed)."""
        if was != now:
            self._emit_rows(np.array([row], dtype=np.int64), [was], timestamp, captured)

    def _emit_rows(
        self, rows: IntArray, was: list[int], timestamp: int | None, captured: Captured | None = None
    ) -> None:
        """The events of the accounts ``rows``, whose levels moved from ``was``: their figures and contributors
        as columns for all of them at once (an index tick can move thousands), made into dictionaries when an
        event is first read.  ``captured``: what the refresh that moved them captured (`LiveRefresh`); without
        it they are read from the engine's arrays now."""
        if captured is None:
            figures = self._columns(rows)  # (the worst scenarios found: the contributors read them from it)
            contributors = None if figures.worst is None else self._contributors(rows, worst=figures.worst[:2])
        else:
            figures, contributors = self._captured_columns(rows, captured)
        batch = EventBatch(figures, contributors)
        events = Event.of_batch(batch, was, figures.levels, figures.accounts, timestamp)
        self._events.extend(events)
        self._to_notify.extend(events)

    def _notify(self) -> None:
        """Call the subscribers with the events of the update just applied (after it is complete, so a
        failing callback cannot leave the engine half-updated)."""
        pending, self._to_notify = self._to_notify, []
        for event in pending:
            for callback in self._callbacks:
                callback(event)

    def _captured_columns(self, rows: IntArray, captured: Captured) -> tuple[FigureColumns, Contributors | None]:
        """The figures and contributors of the accounts ``rows`` from what `LiveRefresh` captured of them (figures,
        worst group and scenario, contributors).  Where an account's largest group was not recomputed and its
        worst scenario awaits the search a bulk update left to the queries, it is searched now, as queries do."""
        values, worst, instrument, quantity, pnl = captured  # (values: the six USD figures, then 4 per currency)
        waits = instrument[:, 0] == _core.margin.NOT_CAPTURED if self.pm else None
        if waits is not None and waits.any():
            awaiting = np.flatnonzero(waits)
            again = rows[awaiting]
            self._fresh_worst(again)  # (their worst scenarios found, as queries find them)
            found_worst = self._figures(again)[2][:2]
            found = self._contributors(again, instrument.shape[1], found_worst)
            worst[awaiting, 1] = found_worst[1]
            instrument[awaiting], quantity[awaiting], pnl[awaiting] = found.instrument, found.quantity, found.pnl
        # (the captured columns are the figures' own order, but for the worst P&L, sixth)
        block = np.concatenate((values[:, :5], values[:, 6:]), axis=1)
        figures = self._figure_columns(rows, block, worst[:, 0], worst[:, 1], values[:, 5])
        return figures, Contributors(instrument, quantity, pnl, self._names) if self._worst_kept() else None

    def _worst_kept(self) -> bool:
        """Whether the engine keeps each account's worst scenario (portfolio margin, a scenario grid)."""
        return self.pm or self._grid is not None

    def _contributors(
        self, rows: IntArray, top: int = EngineState.TOP_CONTRIBUTORS, worst: tuple[IntArray, IntArray] | None = None
    ) -> Contributors:
        """Per account of ``rows`` (under deribit-pm or a grid), the ``top`` positions whose P&L in the account's
        worst scenario (of its largest group) is most negative, in USD (ties by instrument row).  ``worst``: their
        largest group and its worst scenario when the caller has them (found after `_fresh_worst`)."""
        if worst is None:
            self._fresh_worst(rows)
            worst = self._figures(rows)[2][:2]
        worst_key, worst_index = worst
        p = self.positions
        starts, ends = p.ranges(rows)
        if self._grid is not None:  # (a grid's groups: the settlement currencies, valued at the account view's prices)
            key, vectors, rate = self._settle_col, self._grid.pnl, self._prices()
        else:
            key, vectors = self._inputs.instrument_key, self._inputs.vectors
            rate = np.where(self._keys.coin, self._keys.index, 1.0).astype(np.float64)
        instrument, quantity, pnl = _core.margin.worst_contributors(
            starts, ends, p.indices, p.quantity, key, vectors, worst_key, worst_index, rate, top
        )
        return Contributors(instrument, quantity, pnl, self._names)
