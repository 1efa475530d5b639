"""`UpdateGuards`: what every update of `RiskEngine` goes through: its undo log (all or nothing: `Undo`), the
order of timestamped updates (one older than the last of its key is dropped and counted), the instrument it
names.
"""

from __future__ import annotations

from typing import Any

from .engine_state import EngineState
from .input_checks import _checked_time
from .messages import MAX_TIMESTAMP_MS
from .undo import Undo


class UpdateGuards(EngineState):
    """An update's undo log, order and instrument (module doc)."""

    def _transaction(self) -> Undo:
        return Undo(self)

    def _out_of_order(self, key: str, timestamp: int) -> bool:
        """True (and counted) for an update older than the last one applied to ``key`` (its timestamp checked)."""
        if not (type(timestamp) is int and 0 <= timestamp < MAX_TIMESTAMP_MS):
            timestamp = _checked_time(timestamp)  # type: ignore[assignment]
        last = self._last_time.get(key)
        if last is not None and timestamp < last:
            self.counters["out_of_order"] += 1
            return True
        return False

    def _in_order(self, key: str, timestamp: int | None) -> bool:
        """False (and counted) for an update older than the last one applied to ``key``; else the update's time
        is recorded (put back if the update fails)."""
        if timestamp is None:
            return True
        if self._out_of_order(key, timestamp):
            return False
        last = self._last_time.get(key)
        if self._undo is not None:  # (a failed update puts it back: its quotes were not applied)
            self._undo.saved_times.setdefault(key, last)
        if self._savepoints is not None:
            self._savepoints.times.append((key, last))
        self._last_time[key] = int(timestamp)
        return True

    def _instrument(self, name: Any) -> int:
        if type(name) is str:  # the usual call: one lookup
            row = self._row_of_name.get(name)
            if row is not None:
                return row
        try:
            return self.table.row(str(name))
        except (KeyError, ValueError):
            raise ValueError(
                f"instrument {name!r} is not among the engine's instruments (the book's and the market's listed ones)"
            ) from None
