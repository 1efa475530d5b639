"""Events of the live engine: an account crossing its initial or maintenance margin, or recovering.

An account is at one of three levels: ``ok`` (equity covers initial margin), ``margin_call`` (below initial
margin: no new risk may be opened) and ``liquidation`` (below maintenance margin).  An event is emitted each
time an account's level changes, once per crossing: ``margin_call`` or ``liquidation`` when it worsens,
``recovery`` when it improves.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .figures import LEVELS, Contributors, FigureColumns


def level_change(was: int, now: int) -> str:
    """The event kind of a move from level ``was`` to ``now`` (indices into LEVELS)."""
    if now == was:
        raise ValueError("no level change")
    return LEVELS[now] if now > was else "recovery"


# (kind, level, previous level) of each move between two levels, at 3 x previous + level (None: no move)
_CHANGES: list[tuple[str, str, str] | None] = [
    (level_change(w, n), LEVELS[n], LEVELS[w]) if w != n else None for w in range(3) for n in range(3)
]


class EventBatch:
    """The figures and contributors of the accounts one update moved, captured when it was applied: each of
    its events reads its own row, and the dictionaries are made for the whole batch when the first is read."""

    __slots__ = ("contributors", "figures")

    def __init__(self, figures: FigureColumns, contributors: Contributors | None) -> None:
        self.figures, self.contributors = figures, contributors

    def figures_of(self, at: int) -> dict[str, Any]:
        return self.figures.dicts()[at]

    def contributors_of(self, at: int) -> tuple[dict[str, Any], ...]:
        return () if self.contributors is None else self.contributors.tuples()[at]

    def __getstate__(self) -> tuple[Any, ...]:
        return self.figures, self.contributors

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.figures, self.contributors = state


class _Given:
    """The figures and contributors of an event made directly (not from an update's batch)."""

    __slots__ = ("contributors", "figures")

    def __init__(self, figures: dict[str, Any], contributors: tuple[dict[str, Any], ...]) -> None:
        self.figures, self.contributors = figures, contributors

    def figures_of(self, at: int) -> dict[str, Any]:
        return self.figures

    def contributors_of(self, at: int) -> tuple[dict[str, Any], ...]:
        return self.contributors

    def __getstate__(self) -> tuple[Any, ...]:
        return self.figures, self.contributors

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.figures, self.contributors = state


class Event:
    """One level change of one account (read-only).  ``figures``: the account's figures after the update (as
    ``RiskEngine.account``); ``contributors``: under deribit-pm or a grid, the positions losing most in the account's
    worst scenario (instrument, quantity, P&L in USD); ``timestamp``: of the update, in ms, when it had one."""

    __slots__ = ("_account", "_at", "_change", "_source", "_timestamp")  # (_change: kind, level, previous)

    def __init__(
        self,
        kind: str,
        account: Any,
        level: str,
        previous: str,
        timestamp: int | None,
        figures: dict[str, Any],
        contributors: tuple[dict[str, Any], ...] = (),
    ) -> None:
        self._change, self._account, self._timestamp = (kind, level, previous), account, timestamp
        self._source: EventBatch | _Given = _Given(figures, tuple(contributors))
        self._at = 0

    @classmethod
    def of_batch(
        cls, batch: EventBatch, was: Iterable[int], now: Iterable[int], accounts: Iterable[Any], timestamp: int | None
    ) -> list[Event]:
        """The events of ``batch``'s accounts, whose levels went from ``was`` to ``now`` (indices into LEVELS): the
        event of row ``at`` reads its figures and contributors from that row (made when first read).  A crash
        makes thousands at once: one loop here, each event's slots set directly."""
        new = object.__new__
        changes = _CHANGES
        out: list[Event] = []
        append = out.append
        for at, (w, n, account) in enumerate(zip(was, now, accounts)):
            change = changes[3 * w + n] if 0 <= w < 3 and 0 <= n < 3 else None
            if change is None:
                raise ValueError(f"no level change: {w!r} to {n!r}")
            event = new(cls)
            event._change = change
            event._account = account
            event._timestamp = timestamp
            event._source = batch
            event._at = at
            append(event)
        return out

    @property
    def kind(self) -> str:
        """margin_call, liquidation or recovery."""
        return self._change[0]

    @property
    def account(self) -> Any:
        """The account's label."""
        return self._account

    @property
    def level(self) -> str:
        """The level after the update (one of LEVELS)."""
        return self._change[1]

    @property
    def previous(self) -> str:
        """The level before it."""
        return self._change[2]

    @property
    def timestamp(self) -> int | None:
        """The update's timestamp in ms, or None."""
        return self._timestamp

    @property
    def figures(self) -> dict[str, Any]:
        """The account's figures after the update (as ``RiskEngine.account`` gives them)."""
        return self._source.figures_of(self._at)

    @property
    def contributors(self) -> tuple[dict[str, Any], ...]:
        """The positions losing most in the account's worst scenario (instrument, quantity, pnl_usd)."""
        return self._source.contributors_of(self._at)

    def _fields(self) -> tuple[Any, ...]:
        return (*self._change, self._account, self._timestamp, self.figures, self.contributors)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]  # the figures are a dictionary

    def __repr__(self) -> str:
        kind, level, previous = self._change
        return (f"Event(kind={kind!r}, account={self._account!r}, level={level!r}, previous={previous!r}, "
                f"timestamp={self._timestamp!r}, contributors={self.contributors!r})")  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        kind, level, previous = self._change
        return {
            "kind": kind,
            "account": self._account,
            "level": level,
            "previous": previous,
            "timestamp": self._timestamp,
            "figures": self.figures,
            "contributors": list(self.contributors),
        }

    def __getstate__(self) -> tuple[Any, ...]:
        kind, level, previous = self._change
        return kind, self._account, level, previous, self._timestamp, self._source, self._at

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, dict):  # written when an event was a dataclass: its fields by name
            source = _Given(state["figures"], tuple(state["contributors"]))
            state = (state["kind"], state["account"], state["level"], state["previous"], state["timestamp"], source, 0)
        kind, self._account, level, previous, self._timestamp, self._source, self._at = state
        self._change = (kind, level, previous)



class EventFeed:
    """How events reach their readers, on one engine as on a cluster's client: callbacks called as each event
    arrives, and an iterator over those not yet read."""

    _events: deque[Event]
    _callbacks: list[Callable[[Event], None]]
    _lock: threading.RLock

    def subscribe(self, callback: Callable[[Event], None]) -> None:
        """Call ``callback(event)`` for every event, as it happens (on a cluster's client, as it arrives)."""
        with self._lock:
            self._callbacks.append(callback)

    def events(self) -> Iterator[Event]:
        """The events not yet read, oldest first (each is given once)."""
        while self._events:
            yield self._events.popleft()


__all__ = ["LEVELS", "Event", "EventBatch", "EventFeed", "level_change"]
