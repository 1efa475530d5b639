"""Savepoints: a live engine's completed updates kept undoable until its owner says which of them stand.

A `ClusterEngine` shard applies a batch of updates before the client knows whether every shard applied each quote:
one engine over the whole book refuses a quote whole when any account's figures come out non-finite, so a quote
one shard refused must be undone on the shards that applied it.  While a `Savepoints` is set on an engine
(``engine._savepoints``), every update goes through the engine's undo log (`Undo`) and each completed update's log
is kept here, with the in-order timestamps and trade ids the updates recorded; `rollback` undoes the updates after
a `mark`, last first, so the engine is exactly as it was at the mark (the same compiled code on the same inputs
recomputes the same figures).  Counters, recorded errors and events are the owner's to put back (the shard keeps
them per unit of work).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .engine_state import EngineState
    from .undo import Undo

Mark = tuple[int, int, int]


class Savepoints:
    """The undo logs of an engine's completed updates, and what else they changed, in order."""

    def __init__(self) -> None:
        self.undos: list[Undo] = []
        self.times: list[tuple[str, int | None]] = []  # (key, the last time before the update set it)
        self.trade_ids: list[str] = []  # trade ids the updates recorded

    def mark(self) -> Mark:
        """Where the engine is now: `rollback` to it undoes every update after it."""
        return len(self.undos), len(self.times), len(self.trade_ids)

    def rollback(self, engine: EngineState, mark: Mark) -> None:
        """Undo the updates kept since ``mark``, last first."""
        undos, times, trade_ids = mark
        while len(self.undos) > undos:
            self.undos.pop().restore()
        while len(self.times) > times:
            key, last = self.times.pop()
            if last is None:
                engine._last_time.pop(key, None)
            else:
                engine._last_time[key] = last
        while len(self.trade_ids) > trade_ids:
            engine._trade_ids.discard(self.trade_ids.pop())
