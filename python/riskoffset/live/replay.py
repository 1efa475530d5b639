"""Replay a recorded stream through a `RiskEngine`: every notification applied in order, the events written
as JSON lines, snapshots taken on the way, and a summary at the end (docs/live.md).

A replay stopped anywhere resumes exactly: ``replay(RiskEngine.restore(snapshot), stream)`` skips the lines
the snapshot had already applied (the snapshot stores the last line number) and ends in the state of an
uninterrupted run.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Any

from ..progress import bar
from ..scalars import plain
from .cluster import ClusterEngine
from .engine import RawMessage, RiskEngine
from .events import Event
from .messages import IndexUpdate, MessageError, TickerUpdate, parse_notification
from .stream import read_stream


@dataclass
class ReplaySummary:
    """What a replay did: lines read and applied, updates, bad lines (line, reason), events by kind, the
    accounts margin-called and liquidated, the worst accounts by MM ratio at the end, and the speed."""

    lines: int = 0
    messages: int = 0
    updates: int = 0
    skipped_lines: int = 0  # already applied before the snapshot the replay resumed from
    bad_lines: list[tuple[int, str]] = field(default_factory=list)
    events: Counter[str] = field(default_factory=Counter)
    called: set[Any] = field(default_factory=set)
    liquidated: set[Any] = field(default_factory=set)
    worst: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    counters: dict[str, int] = field(default_factory=dict)

    @property
    def messages_per_second(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "messages": self.messages,
            "updates": self.updates,
            "skipped_lines": self.skipped_lines,
            "bad_lines": [{"line": n, "error": e} for n, e in self.bad_lines],
            "events": dict(self.events),
            "accounts_called": sorted(map(str, self.called)),
            "accounts_liquidated": sorted(map(str, self.liquidated)),
            "worst_accounts": self.worst,
            "seconds": self.seconds,
            "messages_per_second": self.messages_per_second,
            "counters": self.counters,
        }


def replay(
    engine: RiskEngine | ClusterEngine,
    source: Any,
    *,
    events: str | os.PathLike[str] | IO[str] | None = None,
    snapshot: str | os.PathLike[str] | None = None,
    snapshot_every: int | None = None,
    stop_after: int | None = None,
    worst: int = 5,
) -> ReplaySummary:
    """Apply the stream ``source`` (a path or an open text file, as `read_stream` reads) to ``engine``.

    events: a path or text file that receives each event as one JSON line (appended to a path, so a resumed
    replay continues the file).  snapshot / snapshot_every: write the engine's snapshot to ``snapshot`` every
    that many messages and at the end.  stop_after: stop once that many messages are applied (at the end of a group; to test resumption).  A
    line that is not a notification, or a message the engine refuses, is listed in ``bad_lines`` and
    skipped; with a ``strict`` engine it raises instead."""
    if snapshot_every is not None and (isinstance(snapshot_every, bool) or snapshot_every < 1):
        raise ValueError(f"snapshot_every must be a positive number of messages, got {snapshot_every!r}")
    if snapshot_every is not None and snapshot is None:
        raise ValueError("snapshot_every needs a snapshot path")
    done = int(engine.snapshot_meta.get("line", 0))
    summary = ReplaySummary()
    sink, close = _sink(events)
    errors_before = len(engine.errors)
    start = time.perf_counter()
    last_line = done
    batch: list[tuple[int, list[Any]]] = []  # consecutive quote-only messages of one timestamp
    # Batches closed but not yet sent: a cluster's shards take many in one call (each call is a round trip to
    # the workers); one engine takes each at once.
    unsent: list[list[tuple[int | None, Any]] | RawMessage] = []
    per_call = GROUPS_PER_CALL if isinstance(engine, ClusterEngine) else 1

    def send() -> None:
        if unsent:
            summary.updates += engine.apply_batches(unsent)
            unsent.clear()
        for event in engine.events():
            _record(summary, event, sink)

    def close_group(group: list[tuple[int | None, Any]] | RawMessage, messages: int, line: int) -> bool:
        """A batch of ``messages`` messages ending at ``line`` closed; True when the replay must stop
        (``stop_after`` reached)."""
        nonlocal last_line
        before = summary.messages
        unsent.append(group)
        summary.messages += messages
        last_line = line
        due = snapshot is not None and snapshot_every and summary.messages // snapshot_every > before // snapshot_every
        stop = stop_after is not None and summary.messages >= stop_after
        if len(unsent) >= per_call or due or stop:
            send()
        if due and snapshot is not None:
            engine.snapshot(snapshot, line=last_line)
        shown.update(messages)
        return stop

    def flush() -> bool:
        """Close the batch of quotes; True when the replay must stop."""
        if not batch:
            return False
        group: list[tuple[int | None, Any]] = list(batch)
        batch.clear()
        return close_group(group, len(group), int(group[-1][0] or 0))

    try:
        with bar("replay", None, "msg", scale=True) as shown:  # drawn only when progress bars are on
            for item in read_stream(source):
                summary.lines += 1
                if item.line <= done:
                    summary.skipped_lines += 1
                    continue
                if item.message is None:
                    if engine.strict:
                        raise ValueError(f"line {item.line}: {item.error}")
                    summary.bad_lines.append((item.line, str(item.error)))
                    continue
                try:
                    updates = parse_notification(item.message)
                except MessageError:
                    updates = None
                quotes_only = bool(updates) and all(
                    isinstance(u, (IndexUpdate, TickerUpdate)) for u in updates or ()
                )
                if (
                    quotes_only
                    and batch
                    and len(batch) < MAX_BATCH
                    and _stamp(updates) == _stamp(batch[0][1])
                ):
                    batch.append((item.line, updates or []))
                    continue
                if flush():
                    break
                if quotes_only:
                    batch.append((item.line, updates or []))
                    continue
                # a trade, a balance, an ignored or a malformed message: on its own (the engine records a refusal)
                if close_group(RawMessage(item.line, item.message), 1, item.line):
                    break
            else:
                flush()
            send()
    finally:
        if close and sink is not None:
            sink.close()
    summary.seconds = time.perf_counter() - start
    summary.bad_lines += [(n if n is not None else -1, e) for n, e in engine.errors[errors_before:]]
    summary.bad_lines.sort()
    if snapshot is not None:
        engine.snapshot(snapshot, line=last_line)
    engine.snapshot_meta = {**engine.snapshot_meta, "line": last_line}
    summary.worst = engine.at_risk(0.0, limit=worst)
    summary.counters = dict(engine.counters)
    return summary


MAX_BATCH = 512  # quote messages applied together at most
GROUPS_PER_CALL = 64  # batches a cluster's shards take in one call


def _stamp(updates: Any) -> Any:
    """The timestamp of a message's first update (quotes of one instant are applied together)."""
    return updates[0].timestamp if updates else None


def _record(summary: ReplaySummary, event: Event, sink: IO[str] | None) -> None:
    summary.events[event.kind] += 1
    if event.kind == "margin_call":
        summary.called.add(event.account)
    elif event.kind == "liquidation":
        summary.liquidated.add(event.account)
    if sink is not None:
        sink.write(json.dumps(json_safe(event.to_dict()), allow_nan=False) + "\n")


def json_safe(value: Any) -> Any:
    """``value`` with numpy scalars made plain and non-finite floats (an MM ratio with no margin balance is
    infinite) written as None, so it is strict JSON."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    value = plain(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _sink(events: Any) -> tuple[IO[str] | None, bool]:
    if events is None:
        return None, False
    if hasattr(events, "write"):
        return events, False
    return open(events, "a", encoding="utf-8"), True


__all__ = ["ReplaySummary", "replay"]
