"""`ClusterEngine`: the live engine with its accounts spread over the workers of a Dask cluster (docs/live.md,
"On a Dask cluster").

Each shard is a `RiskEngine` over a contiguous range of the book's accounts (about the same number of positions
each), held on a worker by a Dask actor.  Quotes and valuation-time moves go to every shard (each keeps its own
copy of the market, moved the same way); a trade or a balance goes to the shard that holds its account (an
account first seen in a trade or a balance joins the shard with the fewest accounts).  An account's figures
depend only on its own positions and balances and on the market, so every figure, event and query equals what
one `RiskEngine` over the whole book gives for the same stream, bit for bit (after a `ClusterEngine.rebalance`,
which rebuilds the shards, to the last bits of pricing each instrument afresh).  The shards of one update work at
the same time, each on its own worker; the client waits for all of them.  A quote one shard refuses (one of its
accounts' figures would not be finite) is refused on every shard: the others undo it (`ClusterEngine._agreed`).

Updates and queries from several threads take turns (a lock, as on one engine).  Counters and refused messages
are counted once per update: a quote's on the first shard (every shard sees the
same quotes), a trade's or a balance's on its account's shard.
"""

from __future__ import annotations

import heapq
import os
import pickle
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..accounts.balances import Balances
from ..accounts.view import AccountView
from ..book import Book
from ..margining.bulk import account_ranges, indptr_ranges
from ..market import Market
from .engine import (
    CLUSTER_SNAPSHOT_FORMAT,
    COUNTERS,
    SNAPSHOT_FORMAT,
    IndexQuote,
    RawMessage,
    RiskEngine,
    TickerQuote,
    account_label,
)
from .engine_state import _locked
from .events import Event, EventFeed
from .messages import BalanceUpdate, MessageError, TradeUpdate, parse_notification
from .savepoints import Savepoints
from .snapshots import read_snapshot, write_snapshot

IN_PROCESS = "in-process"  # as `client`: the shards in this process (`ClusterEngine.in_process`)

# One unit of work, applied by each of its shards in the order the units came: ("updates", [(line, updates)])
# for `RiskEngine.apply_updates`, or ("call", method, args, kwargs) for one of the engine's update methods; or,
# with no shard, ("refused", error, line) / ("ignored",) for a message the client could not parse / ignores.
Unit = tuple[Any, ...]


# ---------------------------------------------------------------------------------------------- the shards
class Shard:
    """One shard's `RiskEngine`, on a worker (a Dask actor) or in this process.  ``source``: the engine's
    arguments (a dict) or a document `RiskEngine.snapshot_document` wrote, or either pickled."""

    def __init__(self, source: Mapping[str, Any] | bytes) -> None:
        given: Mapping[str, Any] = pickle.loads(source) if isinstance(source, bytes) else source
        if given.get("format") is not None:
            self.engine = RiskEngine.from_document(given)
        else:
            args = dict(given)
            carried = args.pop("carried", None)
            self.engine = RiskEngine(args.pop("book"), args.pop("market"), **args)
            if carried is not None:  # (a shard rebuilt by `ClusterEngine.rebalance`)
                e = self.engine
                # Its book and balances name the accounts 0, 1, ... (a Book would turn labels of mixed types
                # into text): each becomes its label again.
                p = e.positions
                p.relabel([carried["labels"][i] for i in p.labels])
                e._last_time.update(carried["last_time"])
                e._trade_ids.update(carried["trade_ids"])

    def run(self, units: Sequence[tuple[int, Unit]]) -> list[tuple[Any, ...]]:
        """Apply ``units`` (each with its index) in order.  Returns per unit its index, the events it emitted,
        the messages it refused (line, reason), what it added to the counters (or the ValueError or TypeError a
        called method raised: the update was not applied) and the accounts it created.  The units stay undoable
        (`rollback`) until the next call: the client has then compared every shard's outcome of them."""
        engine = self.engine
        engine._savepoints = Savepoints()  # (the previous call's units stand: the client compared them)
        self.marks: dict[int, tuple[Any, ...]] = {}
        out = []
        for index, unit in units:
            counters, errors, accounts = dict(engine.counters), len(engine.errors), len(engine.positions.labels)
            self.marks[index] = (engine._savepoints.mark(), counters, errors)
            outcome: Any = None
            try:
                if unit[0] == "updates":
                    for line, reason in unit[2] if len(unit) > 2 else ():  # refused on another shard (`_agreed`)
                        engine._refuse(ValueError(reason), line)
                    engine.apply_updates(unit[1])
                elif unit[0] == "raise":  # refused on another shard: refused here too, with its error
                    raise unit[1]
                else:
                    getattr(engine, unit[1])(*unit[2], **unit[3])
            except (ValueError, TypeError) as exc:  # (refused whole: the shard goes on with the next unit)
                outcome = exc
            added = {k: v - counters.get(k, 0) for k, v in engine.counters.items() if v != counters.get(k, 0)}
            out.append((index, list(engine.events()), engine.errors[errors:], outcome if outcome else added,
                        engine.positions.labels[accounts:]))  # fmt: skip
        return out

    def rollback(self, index: int) -> None:
        """Undo the units of the last `run` from the first whose index is ``index`` or more: the engine, its
        counters and its recorded errors are as they were before it."""
        engine = self.engine
        later = sorted(i for i in self.marks if i >= index)
        if not later or engine._savepoints is None:
            return
        mark, counters, errors = self.marks[later[0]]
        engine._savepoints.rollback(engine, mark)
        engine.counters.clear()
        engine.counters.update(counters)
        del engine.errors[errors:]  # (the undone units' events went out with `run`'s results: the client drops them)
        for i in later:
            del self.marks[i]

    def accounts_and_labels(self) -> tuple[AccountView, list[Any]]:
        """The engine's account view and its accounts' labels as they are (the view's array makes them one
        type), in one call."""
        return self.engine.accounts(), list(self.engine.positions.labels)

    def query(self, method: str, *args: Any) -> Any:
        """One of the engine's queries (``account``, ``accounts``, ``at_risk``, ``book``, ``balances``)."""
        value = getattr(self.engine, method)
        return value(*args) if callable(value) else value

    def at_risk(self, threshold: float, limit: int | None) -> list[dict[str, Any]]:
        """`RiskEngine.at_risk` of this shard, with the accounts tied with the last one past ``limit``."""
        engine = self.engine
        with engine._lock:
            return engine._rows(engine._at_risk_rows(threshold, limit, ties=True))

    def document(self) -> dict[str, Any]:
        """The engine's snapshot document (`RiskEngine.snapshot_document`)."""
        return self.engine.snapshot_document()

    def parts(self) -> dict[str, Any]:
        """What rebuilding its accounts on other shards takes (`ClusterEngine.rebalance`): their positions (over
        the engine's instrument table) and balances, the market, the last time of each kind of quote, the trade
        ids seen and the engine's options."""
        e = self.engine
        options = {"method": e.method, "params": e.params, "cross": e.cross, "collateral": e.collateral,
                   "dynamic_collateral": e.dynamic, "threads": e.threads}  # fmt: skip
        p = e.positions
        indptr, indices, quantity, average = p.csr()
        return {"labels": list(p.labels), "indptr": indptr, "indices": indices, "quantity": quantity,
                "average": average, "table": e.table, "currencies": list(e.currencies), "balance": e._balance.copy(),
                "market": e.market, "last_time": dict(e._last_time), "trade_ids": set(e._trade_ids),
                "options": options}  # fmt: skip


class _Ready:
    """A value computed in this process, read as a Dask future is (``result()``)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def result(self) -> Any:
        return self.value


class _InProcess:
    """A shard in this process, called as its actor would be (each call runs at once)."""

    def __init__(self, source: Mapping[str, Any]) -> None:
        self.shard = Shard(source)

    def call(self, method: str, *args: Any) -> _Ready:
        return _Ready(getattr(self.shard, method)(*args))


class _OnWorker:
    """A shard held by a Dask actor on one worker: each call returns a future at once."""

    def __init__(self, client: Any, source: Mapping[str, Any], worker: str) -> None:
        # Pickled here: Dask serialises a container's items one by one, which would part arrays an engine's
        # state shares between its attributes (pickle keeps them one object).
        data = client.scatter(pickle.dumps(dict(source), protocol=pickle.HIGHEST_PROTOCOL), workers=[worker])
        self.actor = client.submit(Shard, data, actor=True, workers=[worker], allow_other_workers=False).result()

    def call(self, method: str, *args: Any) -> Any:
        return getattr(self.actor, method)(*args)


@dataclass(frozen=True)
class _Unnumbered:
    """A message given without a line, numbered within one call so that a shard's refusal names it among the
    messages of its unit; reported with no line."""

    n: int


def _refused_lines(outcome: tuple[Any, ...]) -> list[Any]:
    """The lines of the messages a shard refused in a unit (its outcome as `Shard.run` returns it), in order."""
    return [line for line, _ in outcome[1]]


def _disagree(entry: tuple[Unit, Sequence[int], bool], outcomes: Mapping[int, tuple[Any, ...]]) -> bool:
    """Whether the shards a unit was sent to all (a quote) differ on whether they refused it or which of its
    messages they refused."""
    _, shards, lead_only = entry
    if not lead_only or len(shards) < 2:
        return False
    raised = {isinstance(outcomes[s][2], (ValueError, TypeError)) for s in shards}
    lines = {tuple(_refused_lines(outcomes[s])) for s in shards}
    return len(raised) > 1 or len(lines) > 1


def _refused_everywhere(
    entry: tuple[Unit, Sequence[int], bool], outcomes: Mapping[int, tuple[Any, ...]]
) -> list[tuple[Unit, Sequence[int], bool]]:
    """The unit again with what any of its shards refused refused on all: a call raises its error; a batch of
    messages becomes one unit per message, each refused one carrying the reason a shard gave."""
    unit, shards, lead_only = entry
    if unit[0] == "updates" and not unit[1]:
        return [entry]
    if unit[0] != "updates":
        error = next(outcomes[s][2] for s in shards if isinstance(outcomes[s][2], (ValueError, TypeError)))
        return [(("raise", error), shards, lead_only)]
    reasons: dict[Any, str] = {}
    for s in shards:
        for line, reason in outcomes[s][1]:
            reasons.setdefault(line, reason)
    earlier = list(unit[2]) if len(unit) > 2 else []  # (refusals carried from an earlier round)
    again: list[tuple[Unit, Sequence[int], bool]] = []
    for line, updates in unit[1]:
        refused = [(line, reasons[line])] if line in reasons else []
        again.append((("updates", [] if refused else [(line, updates)], earlier + refused), shards, lead_only))
        earlier = []
    return again


# ---------------------------------------------------------------------------------------------- the engine
@dataclass
class _Routing:
    """Which shard holds each account, and each account's place in the whole engine's account order: the
    order one `RiskEngine` over the book creates them in (the book's accounts, the other balances' accounts,
    then each account as an update first creates it)."""

    sizes: list[int]  # accounts routed to each shard
    labels: list[Any] = field(default_factory=list)  # in that order
    shard_of: dict[Any, int] = field(default_factory=dict)
    rank: dict[Any, int] = field(default_factory=dict)

    def add(self, label: Any, shard: int) -> None:
        """``label`` routed to ``shard`` and created there."""
        self.shard_of[label] = shard
        self.sizes[shard] += 1
        self.created(label)

    def created(self, label: Any) -> None:
        if label not in self.rank:
            self.rank[label] = len(self.labels)
            self.labels.append(label)

    def label(self, account: Any) -> Any:
        """``account`` as the engines label it (`account_label`)."""
        return account_label(account, self.labels)

    def owner(self, account: Any) -> tuple[Any, int]:
        """The account's label and shard; an account not seen yet joins the shard with the fewest accounts."""
        label = self.label(account)
        shard = self.shard_of.get(label)
        if shard is None:
            shard = self.shard_of[label] = min(range(len(self.sizes)), key=self.sizes.__getitem__)
            self.sizes[shard] += 1
        return label, shard


class ClusterEngine(EventFeed):
    """`RiskEngine` with its accounts spread over a Dask cluster (module doc).

    book, market, method, params, balances, and the keyword options (cross, collateral, dynamic_collateral,
    threads): as `RiskEngine`, for every shard.  client: a ``dask.distributed.Client``, or scheduler: the
    address of a scheduler (a client is then opened and closed by `close`).  shards: how many engines (default:
    one per worker, at most one per account; placed on the workers in turn).  strict: the first message
    refused raises `MessageError` and nothing after it is applied (without strict it is counted and recorded in
    ``errors``), as `RiskEngine` does.

    The updates and queries of `RiskEngine` are here under the same names; `riskoffset replay` and
    `riskoffset.live.replay.replay` run on it as on one engine.  Use it as a context manager, or call `close`.
    """

    def __init__(
        self,
        book: Book,
        market: Market,
        method: str = "deribit-pm",
        params: Any = None,
        balances: Balances | None = None,
        *,
        client: Any = None,
        scheduler: str | None = None,
        shards: int | None = None,
        strict: bool = False,
        **options: Any,
    ) -> None:
        if not isinstance(book, Book):
            raise TypeError(f"book must be a riskoffset Book, got {type(book).__name__}")
        if not isinstance(market, Market):
            raise TypeError(f"market must be a riskoffset Market, got {type(market).__name__}")
        self._open(client, scheduler)
        try:
            n = self._n_shards(shards, len(book.accounts))
            ranges = account_ranges(book, n)
            routing = _Routing([0] * len(ranges))
            for s, (start, stop) in enumerate(ranges):
                for label in book.accounts[start:stop].tolist():
                    routing.add(label, s)
            given: list[list[int]] = [[] for _ in ranges]
            if balances is not None:
                for i, label in enumerate(balances.accounts.tolist()):
                    label, shard = routing.owner(label)
                    routing.created(label)
                    given[shard].append(i)
            sources = []
            for s, (start, stop) in enumerate(ranges):
                shard_balances = None
                if balances is not None:
                    rows = np.array(given[s], dtype=np.int64)
                    shard_balances = Balances(balances.accounts[rows], balances.currencies, balances.amounts[rows],
                                              allow_negative=True, source=balances.source)  # fmt: skip
                sources.append({"book": book.account_range(start, stop), "market": market, "method": method,
                                "params": params, "balances": shard_balances, "strict": False, **options})  # fmt: skip
            self._start(sources)
        except BaseException:
            self.close()
            raise
        self._routing = routing
        self.strict = bool(strict)
        self.method = method
        self.cross = bool(options.get("cross", True))
        self._setup_state()

    def _setup_state(self) -> None:
        self._lock = threading.RLock()  # one update or query at a time, as on one engine
        self._lost: str | None = None  # why the engine refuses every call (a shard lost)
        self._events: deque[Event] = deque()
        self._callbacks: list[Callable[[Event], None]] = []
        self.counters: Counter[str] = Counter(dict.fromkeys(COUNTERS, 0))
        self.errors: list[tuple[int | None, str]] = []
        self.snapshot_meta: dict[str, Any] = {}

    def _open(self, client: Any, scheduler: str | None) -> None:
        self._own_client = None
        self._shards: list[Any] = []
        if client is None and scheduler is None:
            raise ValueError("give client= (a dask.distributed.Client) or scheduler= (its address)")
        if client is not None and scheduler is not None:
            raise ValueError("give client= or scheduler=, not both")
        if client is None:
            from ..distributed import require_distributed

            if not isinstance(scheduler, str) or not scheduler:
                raise ValueError(f"scheduler must be the address of a Dask scheduler, got {scheduler!r}")
            client = self._own_client = require_distributed().Client(scheduler)
        self._client = client

    def _workers(self) -> list[str]:
        if self._client == IN_PROCESS:
            return []
        return sorted(self._client.scheduler_info().get("workers", {}))

    def _n_shards(self, shards: int | None, accounts: int) -> int:
        if shards is None:  # one per worker, at most one per account
            shards = max(1, min(len(self._workers()), accounts))
        if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
            raise ValueError(f"shards must be a positive integer, got {shards!r}")
        if accounts < shards:
            raise ValueError(f"{shards} shards need a book of at least {shards} accounts, got {accounts}")
        return shards

    def _start(self, sources: Sequence[Mapping[str, Any]]) -> None:
        if self._client == IN_PROCESS:
            self._shards = [_InProcess(source) for source in sources]
            return
        workers = self._workers()
        if not workers:
            raise ValueError("the Dask cluster has no workers")
        futures = [_OnWorker(self._client, source, workers[s % len(workers)]) for s, source in enumerate(sources)]
        self._shards = futures

    def _call(self, method: str, args: Mapping[int, tuple[Any, ...]] | tuple[Any, ...] = ()) -> dict[int, Any]:
        """``method`` on the shards at once, with ``args`` (the same for every shard, or per shard: then on those
        shards only); their results by shard.  A shard whose worker is lost leaves the others' state ahead of
        it: the engine refuses every call after that."""
        if self._lost is not None:
            raise RuntimeError(self._lost)
        given = args if isinstance(args, Mapping) else dict.fromkeys(range(len(self._shards)), args)
        futures, results = {}, {}
        s = -1
        try:
            for s, a in given.items():
                futures[s] = self._shards[s].call(method, *a)
            for s, future in futures.items():
                results[s] = future.result()
        except (ValueError, TypeError):  # (a query's own error: the shard is fine)
            raise
        except Exception as exc:  # whatever Dask raises for a lost worker or actor
            self._lost = (f"shard {s} of the cluster engine is lost ({type(exc).__name__}: {exc}); the other shards "
                          "may have applied updates it did not: restore the engine from its last snapshot "
                          "(ClusterEngine.restore)")  # fmt: skip
            raise RuntimeError(self._lost) from exc
        return results

    @classmethod
    def in_process(cls, book: Book, market: Market, *args: Any, shards: int = 2, **kwargs: Any) -> ClusterEngine:
        """The same engine with its shards in this process, one after another (no Dask): for tests and for
        checking a sharding before a cluster is at hand."""
        return cls(book, market, *args, client=IN_PROCESS, shards=shards, **kwargs)

    # ------------------------------------------------------------------ running updates
    def _run(self, units: Sequence[tuple[Unit, Sequence[int], bool]], strict: bool = False) -> int:
        """Apply ``units`` ((unit, its shards, whether its counters are taken from the first of them)), each
        shard its own in order, the shards at once; then merge their events in the whole engine's order and
        count each update once.  Returns the number of updates applied."""
        units, by_unit = self._agreed(list(units), strict)
        applied_before = self.counters["updates"]
        raised: ValueError | TypeError | None = None
        for (unit, shards, lead_only), outcomes in zip(units, by_unit):
            if unit[0] == "refused":  # (a message this client could not parse: no shard saw it)
                self.counters["malformed"] += 1
                self.errors.append((unit[2], str(unit[1])))
            elif unit[0] == "ignored":
                self.counters["ignored"] += 1
            for s in shards:
                for label in outcomes[s][3]:
                    self._routing.created(label)
            counted = [shards[0]] if lead_only else list(shards)
            for s in counted:
                _, errors, outcome, _ = outcomes[s]
                if isinstance(outcome, (ValueError, TypeError)):
                    raised = raised or outcome
                else:
                    self.counters.update(outcome)
                self.errors.extend((None if isinstance(line, _Unnumbered) else line, why) for line, why in errors)
            rank = self._routing.rank
            events = [(rank.get(e.account, len(rank)), s, i, e)
                      for s in shards for i, e in enumerate(outcomes[s][0])]  # fmt: skip
            for *_, event in heapq.nsmallest(len(events), events, key=lambda t: t[:3]):
                self._events.append(event)
                for callback in self._callbacks:
                    callback(event)
        if raised is not None:
            raise raised
        return self.counters["updates"] - applied_before

    def _agreed(
        self, units: list[tuple[Unit, Sequence[int], bool]], strict: bool = False
    ) -> tuple[list[tuple[Unit, Sequence[int], bool]], list[dict[int, tuple[Any, ...]]]]:
        """Run ``units`` on their shards (`_run`) until every shard has the same outcome of each quote sent to all of
        them.  One engine refuses a quote whole when any account's figures come out non-finite; a shard sees only
        its own accounts, so where one shard refused a quote that others applied, those undo it and every unit
        after it (`Shard.rollback`), and the units from there run again with that quote refused on every shard (a
        message of a batch refused, the batch's other messages applied one by one, as one engine applies them
        after a refusal).  With ``strict``, nothing after the first refused message stands (`_strict_cut`), as one
        engine stops there.  Returns the units as applied and, per unit, each shard's outcome (`Shard.run`)."""
        by_unit: list[dict[int, tuple[Any, ...]]] = [{} for _ in units]
        start = 0
        while start < len(units):
            per_shard: list[list[tuple[int, Unit]]] = [[] for _ in self._shards]
            for u in range(start, len(units)):
                for s in units[u][1]:
                    per_shard[s].append((u, units[u][0]))
            results = self._call("run", {s: (work,) for s, work in enumerate(per_shard) if work})
            for s, done in results.items():
                for u, *outcome in done:
                    by_unit[u][s] = tuple(outcome)
            split = next((u for u in range(start, len(units)) if _disagree(units[u], by_unit[u])), None)
            if split is None:
                if not strict:
                    break
                again_from = self._strict_cut(units, by_unit, start, per_shard)
                if again_from is None:
                    break
                start = again_from
                continue
            self._call("rollback", {s: (split,) for s, work in enumerate(per_shard) if work and work[-1][0] >= split})
            again = _refused_everywhere(units[split], by_unit[split])
            units[split : split + 1] = again
            by_unit[split:] = [{} for _ in range(len(units) - split)]
            start = split
        return units, by_unit

    def _strict_cut(
        self,
        units: list[tuple[Unit, Sequence[int], bool]],
        by_unit: list[dict[int, tuple[Any, ...]]],
        start: int,
        per_shard: Sequence[Sequence[tuple[int, Unit]]],
    ) -> int | None:
        """Strict: one engine raises at the first message it refuses, having applied the messages before it and
        none after.  The units of the last round (from ``start``) are cut there: the shards undo what they applied
        after it.  A message refused inside a batch of quotes leaves the batch's messages before it, each applied
        on its own, then the refusal: returns where to run again; otherwise None (the cut stands)."""
        for u in range(start, len(units)):
            unit, shards, lead_only = units[u]
            errors = by_unit[u][shards[0]][1] if shards else []
            if unit[0] != "refused" and not errors:
                continue
            carried = unit[2] if unit[0] == "updates" and len(unit) > 2 else []
            lines = [line for line, _ in unit[1]] if unit[0] == "updates" else []
            inside = bool(errors) and lead_only and not carried and errors[0][0] in lines
            undo_from = u if inside else u + 1
            ran = {s: (undo_from,) for s, work in enumerate(per_shard) if work and work[-1][0] >= undo_from}
            if ran:
                self._call("rollback", ran)
            if not inside:
                del units[u + 1 :], by_unit[u + 1 :]
                return None
            j = lines.index(errors[0][0])
            units[u:] = [(("updates", [message]), shards, lead_only) for message in unit[1][:j]]
            units.append((("updates", [], [errors[0]]), shards, lead_only))
            by_unit[u:] = [{} for _ in range(len(units) - u)]
            return u
        return None

    def _broadcast(self, method: str, *args: Any, **kwargs: Any) -> None:
        self._run([(("call", method, args, kwargs), range(len(self._shards)), True)])

    # ------------------------------------------------------------------ updates
    @_locked
    def on_index(self, underlying: str, price: float, timestamp: int | None = None) -> None:
        """`RiskEngine.on_index`, on every shard."""
        self._broadcast("on_index", underlying, price, timestamp)

    @_locked
    def on_ticker(self, instrument: str | Mapping[str, Any], **quote: Any) -> None:
        """`RiskEngine.on_ticker`, on every shard."""
        self._broadcast("on_ticker", instrument, **quote)

    @_locked
    def on_quote(self, instrument: str, mark_price: float, timestamp: int | None = None) -> None:
        """`RiskEngine.on_quote`, on every shard."""
        self._broadcast("on_quote", instrument, mark_price, timestamp)

    @_locked
    def quotes(self, quotes: Sequence[IndexQuote | TickerQuote]) -> None:
        """`RiskEngine.quotes`, on every shard."""
        self._broadcast("quotes", list(quotes))

    @_locked
    def advance(self, valuation_time: Any) -> None:
        """`RiskEngine.advance`, on every shard."""
        self._broadcast("advance", valuation_time)

    def _on_account(self, method: str, account: Any, *args: Any, **kwargs: Any) -> None:
        label, shard = self._routing.owner(account)
        self._run([(("call", method, (label, *args), kwargs), [shard], False)])

    @_locked
    def on_trade(self, account: Any, instrument: str, quantity: float, price: float, fee: float = 0.0,
                 **details: Any) -> None:  # fmt: skip
        """`RiskEngine.on_trade`, on the account's shard."""
        self._on_account("on_trade", account, instrument, quantity, price, fee, **details)

    @_locked
    def on_balance(self, account: Any, currency: str, amount: float, timestamp: int | None = None) -> None:
        """`RiskEngine.on_balance`, on the account's shard."""
        self._on_account("on_balance", account, currency, amount, timestamp)

    @_locked
    def set_balance(self, account: Any, currency: str, balance: float, timestamp: int | None = None) -> None:
        """`RiskEngine.set_balance`, on the account's shard."""
        self._on_account("set_balance", account, currency, balance, timestamp)

    @_locked
    def apply(self, message: Mapping[str, Any], *, line: int | None = None) -> int:
        """`RiskEngine.apply`: one Deribit notification, parsed here and sent to the shards it concerns."""
        return self.apply_batches([RawMessage(line, message)])

    @_locked
    def apply_updates(self, items: Sequence[tuple[int | None, Sequence[Any]]]) -> int:
        """`RiskEngine.apply_updates`: consecutive quote-only messages go to every shard together (each shard
        applies them as one engine would); a message with trades or balances goes to its account's shard."""
        return self._apply_units(self._units_of(items))

    @_locked
    def apply_batches(self, batches: Sequence[Sequence[tuple[int | None, Sequence[Any]]] | RawMessage]) -> int:
        """`RiskEngine.apply_batches`, with one call to each shard for all of them (a replay sends many at once:
        each call to the workers is a round trip)."""
        units: list[tuple[Unit, Sequence[int], bool]] = []
        for batch in batches:
            if not isinstance(batch, RawMessage):
                units += self._units_of(batch)
                continue
            try:
                updates = parse_notification(batch.message)
            except MessageError as exc:
                units.append((("refused", exc, batch.line), [], False))
                continue
            units += self._units_of([(batch.line, updates)]) if updates else [(("ignored",), [], False)]
        return self._apply_units(units)

    def _apply_units(self, units: Sequence[tuple[Unit, Sequence[int], bool]]) -> int:
        errors = len(self.errors)
        refusals = (self.counters["malformed"], self.counters["rejected"])
        applied = self._run(units, self.strict)
        if self.strict and len(self.errors) > errors:
            # (one engine raises at the message instead of counting and recording it; nothing after it stands)
            line, reason = self.errors.pop(errors)
            self.counters["malformed" if self.counters["malformed"] > refusals[0] else "rejected"] -= 1
            raise MessageError(f"line {line}: {reason}" if line is not None else reason)
        return applied

    def _units_of(self, items: Sequence[tuple[int | None, Sequence[Any]]]) -> list[tuple[Unit, Sequence[int], bool]]:
        """The units of ``items`` (`apply_updates`), with their shards.  A message without a line is numbered
        (`_Unnumbered`), so that the shards' refusals tell it from the others of its unit."""
        units: list[tuple[Unit, Sequence[int], bool]] = []
        every = range(len(self._shards))
        pending: list[tuple[Any, Sequence[Any]]] = []
        for k, (given, updates) in enumerate(items):
            line: Any = _Unnumbered(k) if given is None else given
            if not any(isinstance(u, (TradeUpdate, BalanceUpdate)) for u in updates):
                pending.append((line, list(updates)))
                continue
            if pending:
                units.append((("updates", pending), every, True))
                pending = []
            # Its updates in runs with one destination each, in order: quotes to every shard (counted on the
            # first), an account's updates to its shard.  (One engine stops at a refused update of the message;
            # here the runs after it still apply.  Deribit's messages each carry one kind.)
            runs: list[tuple[int, list[Any]]] = []  # (shard, or -1 for every shard; its updates)
            for u in updates:
                to = self._routing.owner(u.account)[1] if isinstance(u, (TradeUpdate, BalanceUpdate)) else -1
                if runs and runs[-1][0] == to:
                    runs[-1][1].append(u)
                else:
                    runs.append((to, [u]))
            for to, run in runs:
                units.append((("updates", [(line, run)]), every if to < 0 else [to], to < 0))
        if pending:
            units.append((("updates", pending), every, True))
        return units

    # ------------------------------------------------------------------ queries
    def _query(self, method: str, *args: Any) -> list[Any]:
        return list(self._call("query", (method, *args)).values())

    @_locked
    def account(self, account: Any) -> dict[str, Any]:
        """`RiskEngine.account`, from the account's shard."""
        label = self._routing.label(account)
        shard = self._routing.shard_of.get(label)
        if shard is None:
            raise ValueError(f"account {account!r} is not in the engine")
        result: dict[str, Any] = self._call("query", {shard: ("account", label)})[shard]
        return result

    @_locked
    def what_if(self, account: Any, orders: Iterable[tuple[Any, ...]]) -> dict[str, Any]:
        """`RiskEngine.what_if`, on the account's shard (an account not in the engine on any shard: its figures
        depend on its own fills and the quotes, which every shard has)."""
        label = self._routing.label(account)
        shard = self._routing.shard_of.get(label, 0)
        result: dict[str, Any] = self._call("query", {shard: ("what_if", label, [tuple(o) for o in orders])})[shard]
        return result

    @_locked
    def accounts(self) -> AccountView:
        """`RiskEngine.accounts`: every account's figures as columns, in the whole engine's account order."""
        views, named = zip(*self._call("accounts_and_labels").values())
        labels = [label for part in named for label in part]
        rank = self._routing.rank
        order = np.argsort(np.array([rank.get(label, len(rank)) for label in labels], dtype=np.int64), kind="stable")
        first: AccountView = views[0]
        columns: dict[str, Any] = {"accounts": np.asarray([labels[i] for i in order.tolist()])}
        for name, value in vars(first).items():
            if isinstance(value, np.ndarray) and name not in ("index", "accounts"):
                columns[name] = np.concatenate([getattr(v, name) for v in views])[order]
        return AccountView(**{**vars(first), **columns})

    @_locked
    def at_risk(self, threshold: float = 0.0, limit: int | None = None) -> list[dict[str, Any]]:
        """`RiskEngine.at_risk`: the accounts whose MM ratio is at least ``threshold``, highest first; with
        ``limit``, the first ``limit`` of them (each shard sends its first ``limit`` and the accounts tied with the
        last of them, so the merged list cuts where one engine's would)."""
        rows = [row for part in self._call("at_risk", (threshold, limit)).values() for row in part]
        rank = self._routing.rank
        ordered = sorted(rows, key=lambda r: (-r["mm_ratio"], rank.get(r["account"], len(rank))))
        return ordered if limit is None else ordered[:limit]

    @property
    @_locked
    def book(self) -> Book:
        """The current positions of every account as a `Book`."""
        books: list[Book] = self._query("book")  # (each over the instruments its accounts hold)
        average = [b.average_price if b.average_price is not None else np.full(len(b.indices), np.nan) for b in books]
        known = np.concatenate(average)
        return Book.from_arrays(np.concatenate([b.account_of_position() for b in books]),
                                np.concatenate([b.instruments.names[b.indices] for b in books]),
                                np.concatenate([b.quantity for b in books]),
                                instruments=self._call("query", {0: ("table",)})[0],
                                average_price=known if np.isfinite(known).any() else None)  # fmt: skip

    @property
    @_locked
    def balances(self) -> Balances:
        """The current balances of every account."""
        parts: list[Balances] = self._query("balances")
        return Balances(np.concatenate([b.accounts for b in parts]), parts[0].currencies,
                        np.concatenate([b.amounts for b in parts]), allow_negative=True)  # fmt: skip

    @property
    def shards(self) -> int:
        """How many engines the accounts are spread over."""
        return len(self._shards)

    def __repr__(self) -> str:
        where = "in this process" if self._client == IN_PROCESS else "on Dask"
        return f"ClusterEngine({len(self)} accounts, {self.method}, {len(self._shards)} shards {where})"

    def __len__(self) -> int:
        """The accounts (every account a book, a balance, a trade or a balance update has named)."""
        return len(self._routing.labels)

    # ------------------------------------------------------------------ rebalancing
    @_locked
    def rebalance(self, shards: int | None = None) -> list[int]:
        """Spread the accounts over the shards again (over ``shards`` of them when given): contiguous runs of
        the accounts in the whole engine's order with about the same number of positions each, as a new engine
        splits its book.  Accounts that trades or balances created joined the shard with the fewest accounts,
        and trades move positions: a long-running engine's shards drift apart in size, and an update waits for
        the slowest.  Each shard is rebuilt from its accounts' positions and balances and the market (all an
        account's figures depend on), keeping the last time of each kind of quote and the trade ids seen, so the
        engine goes on as before: the same positions, balances, levels and events, and the same figures but for
        their last bits (a rebuilt shard prices each instrument afresh, as a new engine does).  Returns the number
        of positions per shard.  The old shards are released once the new ones stand (if building them fails,
        nothing changes)."""
        n_accounts = len(self._routing.labels)
        n = len(self._shards) if shards is None else self._n_shards(shards, n_accounts)
        by_shard = self._call("parts")
        parts = [by_shard[s] for s in range(len(self._shards))]
        first = parts[0]
        table, currencies = first["table"], first["currencies"]
        # Every position (instrument row of the first shard's table, quantity, average price) in the engine's
        # account order, each account's by instrument row (as an engine keeps them), and every balance row.
        rank, row_of = self._routing.rank, table.row_of
        owner, rows, quantity, average = [], [], [], []
        cash = np.zeros((n_accounts, len(currencies)))
        for part in parts:
            ranks = np.array([rank[label] for label in part["labels"]], dtype=np.int64)
            owner.append(np.repeat(ranks, np.diff(part["indptr"])))
            same = part["table"] is table or np.array_equal(part["table"].names, table.names)
            remap = None if same else np.array([row_of[name] for name in part["table"].names.tolist()], dtype=np.int64)
            rows.append(part["indices"] if remap is None else remap[part["indices"]])
            quantity.append(part["quantity"])
            average.append(part["average"])
            cash[ranks] = part["balance"][:, [part["currencies"].index(c) for c in currencies]]
        account_of, all_rows = np.concatenate(owner), np.concatenate(rows)
        order = np.lexsort((all_rows, account_of))
        account_of, all_rows = account_of[order], all_rows[order]
        all_quantity, all_average = np.concatenate(quantity)[order], np.concatenate(average)[order]
        # Contiguous runs of the accounts in the engine's order, of about equal positions, as a book is split.
        ends = np.cumsum(np.bincount(account_of, minlength=n_accounts))
        runs = indptr_ranges(np.concatenate(([0], ends)), n)
        labels = list(self._routing.labels)
        last_time: dict[str, int] = {}
        trade_ids: set[str] = set()
        for part in parts:  # (quotes reach every shard: their times agree; trade ids are each shard's own)
            for key, t in part["last_time"].items():
                last_time[key] = max(t, last_time.get(key, t))
            trade_ids |= part["trade_ids"]
        carried = {"last_time": last_time, "trade_ids": trade_ids}
        sources = []
        for start, stop in runs:
            mine = labels[start:stop]  # named 0, 1, ... in the run's book and balances (Shard: `carried`)
            at = slice(int(ends[start - 1]) if start else 0, int(ends[stop - 1]))
            holding = np.flatnonzero(ends[start:stop] - np.concatenate(([at.start], ends[start : stop - 1])) > 0)
            indptr = np.concatenate(([0], ends[start:stop][holding] - at.start)).astype(np.int64)
            run_average = all_average[at]
            book = Book(table, holding.astype(np.int64), indptr, all_rows[at], all_quantity[at],
                        average_price=run_average if np.isfinite(run_average).any() else None)  # fmt: skip
            balances = Balances(np.arange(stop - start), currencies, cash[start:stop], allow_negative=True)
            sources.append({"book": book, "market": first["market"], "balances": balances, "strict": False,
                            "carried": {**carried, "labels": mine}, **first["options"]})  # fmt: skip
        self._start(sources)
        shard_of = {label: s for s, (start, stop) in enumerate(runs) for label in labels[start:stop]}
        self._routing.shard_of = shard_of
        self._routing.sizes = [stop - start for start, stop in runs]
        return [int(ends[stop - 1] - (ends[start - 1] if start else 0)) for start, stop in runs]

    # ------------------------------------------------------------------ snapshots
    @_locked
    def snapshot(self, path: str | os.PathLike[str], **meta: Any) -> None:
        """Every shard's state, the routing and the unread events in one file at ``path`` (atomically).  A
        Python pickle: restore only files you wrote."""
        documents = list(self._call("document").values())
        doc = {"format": CLUSTER_SNAPSHOT_FORMAT, "meta": meta, "shards": documents, "routing": self._routing,
               "counters": dict(self.counters), "errors": list(self.errors), "events": list(self._events),
               "strict": self.strict, "method": self.method, "cross": self.cross}  # fmt: skip
        write_snapshot(path, doc)

    @classmethod
    def restore(cls, path: str | os.PathLike[str], *, client: Any = None, scheduler: str | None = None) -> ClusterEngine:
        """An engine in the state `snapshot` wrote, its shards on ``client``'s cluster (or ``scheduler``'s; or in
        this process with ``client="in-process"``, as `in_process` makes them)."""
        doc = read_snapshot(path)
        if isinstance(doc, dict) and doc.get("format") == SNAPSHOT_FORMAT:
            raise ValueError(f"{path}: the snapshot of one engine: restore it with RiskEngine.restore")
        if not isinstance(doc, dict) or doc.get("format") != CLUSTER_SNAPSHOT_FORMAT:
            raise ValueError(f"{path}: not a riskoffset cluster engine snapshot ({CLUSTER_SNAPSHOT_FORMAT})")
        engine = cls.__new__(cls)
        engine._open(client, scheduler)
        try:
            engine._start(doc["shards"])
        except BaseException:
            engine.close()
            raise
        engine._setup_state()
        engine._routing = doc["routing"]
        engine.strict, engine.method, engine.cross = doc["strict"], doc["method"], doc["cross"]
        engine.counters.update(doc["counters"])
        engine.errors = list(doc["errors"])
        engine._events = deque(doc["events"])
        engine.snapshot_meta = doc["meta"]
        return engine

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Release the shards (and the client this engine opened)."""
        self._shards = []
        if self._own_client is not None:
            self._own_client.close()
            self._own_client = None

    def __enter__(self) -> ClusterEngine:  # noqa: PYI034 - typing.Self is 3.11+
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["CLUSTER_SNAPSHOT_FORMAT", "ClusterEngine", "Shard"]
