"""`RiskEngine`: every account's margin, equity and margin ratio kept current as quotes, trades and balances
stream in (see docs/live.md).

The engine owns a copy of the market, the positions (`positions.Positions`), the balances and, per account and
currency, the equity parts and the margin; every figure is computed by the same functions as a from-scratch
``ro.margin`` / ``ro.account`` call, only for what an update touches:

- a quote (index, ticker, futures mark) revalues the instruments it moves (one option for its own ticker,
  every instrument of the underlying for an index or futures move) and recomputes the accounts holding them;
- a trade or a balance change recomputes its one account.

Under ``deribit-pm`` the engine keeps the portfolio-margin pass's per-instrument inputs (scenario vectors,
deltas, key parameters) and reruns the C++ pass on the touched accounts only; the other methods run
``ro.margin`` on the touched accounts' sub-book.  Equity per account and currency is balance + options at
mark + futures P&L against the average entry price (`riskoffset.accounts.equity`); the figures against
margin follow the account view (`riskoffset.accounts.view.settle`), segregated (``cross=False``) or cross
collateral with haircuts.

Conventions: the valuation time moves only with `advance` (a full revaluation); an index move keeps each
futures mark's and forward's ratio to the index (the basis) until that instrument's own quote arrives; a
ticker's ``index_price`` is not read (the index comes from index updates).

The engine is one class made of parts, each a class of its own module that `RiskEngine` derives from, over the
state they share (`EngineState`, engine_state.py): construction and pickling (here), instrument values
(repricing.py), the accounts' recomputation (recomputation.py), what every update goes through
(update_guards.py), market updates (market_updates.py), an account's trades and balances (account_updates.py),
Deribit notifications (message_application.py), events (engine_events.py), queries (queries.py) and snapshots
(snapshots.py); checks of the callers' inputs are in input_checks.py.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from typing import Any

import numpy as np

from .._types import IntArray
from ..accounts.balances import Balances
from ..accounts.collateral import CollateralTable
from ..book import Book
from ..instruments import INVERSE, KIND_FUTURE, KIND_OPTION, KIND_PERPETUAL, KIND_SPOT, InstrumentTable
from ..margining.grid import load_grid, table_grid_inputs
from ..margining.portfolio import PMInputs, PMParameters, expiry_columns, key_matrix, vectors_of_rows
from ..margining.standard import StandardParameters, unit_margins
from ..margining.vectors import vector_keys
from ..market import Market, MarketDataError
from .account_updates import AccountUpdates
from .cells import SettleCells, settle_cells
from .engine_events import EngineEvents
from .engine_state import EngineState
from .input_checks import account_label
from .market_updates import IndexQuote, MarketUpdates, TickerQuote
from .message_application import MessageApplication, RawMessage
from .positions import Positions
from .queries import Queries
from .recomputation import Recomputation
from .repricing import Repricing
from .rows import RowStores
from .snapshots import CLUSTER_SNAPSHOT_FORMAT, SNAPSHOT_FORMAT, Snapshots, write_atomic
from .span_margins import SpanInputs
from .update_guards import UpdateGuards

# What `RiskEngine.counters` (and a cluster's) count: updates applied, quotes older than the last of their key,
# repeated trade ids, messages that did not parse, updates refused, messages on channels not read.
COUNTERS = ("updates", "out_of_order", "duplicate_trades", "malformed", "rejected", "ignored")

# The margin methods the engine keeps current: its compiled refresh computes the first three on the accounts an
# update touches; SPAN, whose risk arrays come with the clearing house's file, is computed when an account's
# positions change (`span_margins`), and quotes move the equity against it.
LIVE_METHODS = ("deribit-pm", "deribit-standard", "grid", "span")


class RiskEngine(
    MarketUpdates,
    AccountUpdates,
    MessageApplication,
    Queries,
    EngineEvents,
    Snapshots,
    Recomputation,
    Repricing,
    UpdateGuards,
    EngineState,
):
    """Live margin of every account of a book (module doc).

    book, market: the starting positions and quotes (the engine keeps copies).  method: "deribit-pm",
    "deribit-standard", "grid" or "span" (`LIVE_METHODS`); params: its parameters, as ``ro.margin`` takes them (SPAN's
    figures are in the file's currency, USD for most: cross collateral then needs a ``collateral`` table that
    lists it).  balances: a
    `riskoffset.Balances` (accounts without one hold nothing).  cross: cross collateral (X:) with the
    ``collateral`` table's haircuts, or segregated per currency (S:).  dynamic_collateral: coin balances inside
    the PM scenarios of their coin (default: on for cross collateral under deribit-pm, as ``ro.account``).
    threads: threads that recompute the accounts of one update (each account by one thread, so the figures do
    not depend on it; worth it from a few thousand accounts per update).
    """

    def __init__(
        self,
        book: Book,
        market: Market,
        method: str = "deribit-pm",
        params: Any = None,
        balances: Balances | None = None,
        *,
        cross: bool = True,
        collateral: str | Any = "deribit-collateral",
        dynamic_collateral: bool | None = None,
        strict: bool = False,
        threads: int = 1,
    ):
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
        self.threads = threads
        if not isinstance(book, Book):
            raise TypeError(f"book must be a riskoffset Book, got {type(book).__name__}")
        if not isinstance(market, Market):
            raise TypeError(f"market must be a riskoffset Market, got {type(market).__name__}")
        if method not in LIVE_METHODS:
            raise ValueError(
                f"method {method!r}: the live engine margins under {', '.join(LIVE_METHODS)}"
            )
        self.method = method
        self.params = params
        self.cross = bool(cross)
        self.pm = method == "deribit-pm"
        self.span = method == "span"
        self.dynamic = (self.cross and self.pm) if dynamic_collateral is None else bool(dynamic_collateral)
        if self.dynamic and not self.pm:
            raise ValueError(f"dynamic_collateral needs deribit-pm, not {method}")
        self.strict = bool(strict)
        self.collateral = (
            collateral if isinstance(collateral, CollateralTable) else CollateralTable.load(collateral)
        )
        self.market = market.copy()
        self._price_cache = None
        self._undo = None  # the update in progress
        self._savepoints = None  # set by a cluster shard (live/savepoints.py)
        self._lock = threading.RLock()  # one update or query at a time (callbacks may call back in)
        self._base_masks = {}  # instruments of a coin
        self._row_masks = {}  # one instrument
        self._moves_cache = None
        self.table = _universe(book, self.market)
        self._row_of_name = self.table.row_of
        self._setup_instruments()
        # Futures keep the book's average price; without one they count as entered at their mark (P&L 0).
        given = book.average_price if book.average_price is not None else np.full(len(book.indices), math.nan)
        average = np.where(
            self._future[book.indices], np.where(np.isnan(given), self._mark[book.indices], given), math.nan
        )
        self.positions = Positions(book, average)
        self._held = np.zeros(len(self.table), dtype=bool)  # held by some account now or earlier
        self._held[book.indices] = True
        self._stale = np.zeros(len(self.table), dtype=bool)  # quotes moved since it was last priced
        self.currencies = self._currency_list(balances)
        self._col = {c: j for j, c in enumerate(self.currencies)}
        self._settle_col = np.array([self._col[c] for c in self._settle_currency], dtype=np.int64)
        self._standard_col = self._standard_columns()
        self._cells = self._settle_cells()
        if self._span is not None and self.cross:
            unlisted = [c for c in self._span.currencies if c not in self.collateral.currencies]
            if unlisted:
                raise ValueError(
                    f"SPAN's margin is in {', '.join(unlisted)}, which the collateral table {self.collateral.name} does "
                    "not list: give collateral (--collateral on the command line) a table that does "
                    "(docs/collateral.md), or cross=False (--segregated), the accounts then covering it in its currency"
                )
        # (cross collateral only: segregated accounts take no haircut, so any currency may be held)
        self._cuts = (
            (self.collateral.haircuts(self.currencies, "im"), self.collateral.haircuts(self.currencies, "mm"))
            if self.cross
            else None
        )
        self._state_cache = None
        self._columns_cache = None
        # Per set of PM keys an update recomputes (None: all): the pass's arrays and the bound refresh, so
        # ticks of different coins and trades do not rebind each other's.
        self._pm_cache = {}
        self._refresher_cache = {}
        self._bound_cache = {}  # `_bound_refresh`
        self._sub_tables = {}
        if self.pm:  # each PM vector key's settlement currency column
            self._key_currency = np.array([self._col[c.upper()] for c in self._keys.currency], dtype=np.int64)
        self._alloc(len(self.positions))
        if balances is not None:
            rows = [
                self.positions.account_row(account_label(a, self.positions.labels), create=True)
                for a in balances.accounts.tolist()
            ]
            self._alloc(len(self.positions))
            cols = [self._col[c] for c in balances.currencies]
            self._balance[np.ix_(rows, cols)] = balances.amounts
        self._events = deque()
        self._to_notify = []
        self._callbacks = []
        self._last_time = {}
        self._trade_ids = set()
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.snapshot_meta = {}  # what `snapshot` stored with the state (set by `restore`)
        self.errors = []  # (stream line, message) of skipped malformed messages
        everyone = np.arange(len(self.positions), dtype=np.int64)
        if self._span is not None:
            self._span_margins(everyone)
        # Every worst scenario found once (a few % of this pass): the first events then find them ready.
        self._refresh(everyone, emit=False, find_worst=True)

    def _setup_instruments(self) -> None:
        """Per-instrument columns of the universe and, under deribit-pm, the pass's inputs."""
        t = self.table
        self._kind = np.asarray(t.kind)
        self._future = (t.kind == KIND_FUTURE) | (t.kind == KIND_PERPETUAL)
        self._option = t.kind == KIND_OPTION
        self._spot = (t.kind == KIND_SPOT).tolist()  # (a list: read one row at a time on a trade's path)
        self._inverse = t.settlement == INVERSE
        self._future_u8 = self._future.astype(np.uint8)  # as the compiled refresh reads them
        self._inverse_u8 = self._inverse.astype(np.uint8)
        self._option_u8 = self._option.astype(np.uint8)
        self._settle_currency = [inst.settlement_currency.upper() for inst in t]
        self._base = [inst.base.upper() for inst in t]
        self._futures_of = {}
        for name, base, future in zip(t.names.tolist(), self._base, self._future.tolist()):
            if future:
                self._futures_of.setdefault(base, []).append(str(name))
        self._forward_names = {}
        self._base_rows = {}
        self._forward_count = -1
        self._unit_value = np.zeros(len(t))  # an option's mark value in its settlement currency
        self._unit_delta = np.zeros(len(t))  # coin delta per unit, as the delta totals count it
        self._mark = np.full(len(t), math.nan)  # a future's mark
        self._names = [str(n) for n in t.names.tolist()]
        self._underlying_name = [t.underlyings[c] for c in t.underlying.tolist()]
        resolved = self.market.resolve(t)
        greeks = self._write_values(np.arange(len(t), dtype=np.int64), t, resolved)
        # Deribit standard margin is per position: its units per instrument, kept like the values above.
        self._standard = None
        if self.method == "deribit-standard":
            self._standard_params = StandardParameters.load(self.params)
            self._standard = unit_margins(t, self.market, self._standard_params, per_unit=greeks)
        # A scenario grid: each instrument's P&L per scenario (and delta), kept like the values above.
        self._grid = None
        if self.method == "grid":
            grid = load_grid(self.params)
            self._grid = table_grid_inputs(t, self.market, grid, resolved, with_delta=grid.min_delta)
        # SPAN: the file bound to the table (its margin is computed when positions change: `_span_margins`).
        self._span = SpanInputs.of(t, self.params) if self.span else None
        if self.pm:
            p = PMParameters.load(self.params)
            shell = Book(
                t,
                np.zeros(0, dtype=str),
                np.zeros(1, dtype=np.int64),
                np.zeros(0, dtype=np.int64),
                np.zeros(0),
            )
            self._p = p
            self._keys = vector_keys(shell, self.market, resolved)
            vectors, delta = vectors_of_rows(t, self.market, p, resolved, np.arange(len(t), dtype=np.int64))
            column, t_column = expiry_columns(shell, resolved)
            self._inputs = PMInputs(
                instrument_key=np.where(t.kind == KIND_SPOT, -1, self._keys.key).astype(np.int64),
                vectors=vectors,
                n_standard=p.n_standard,
                extended_moves=np.asarray(p.extended_moves, dtype=np.float64),
                delta=delta,
                column=column,
                t_column=t_column,
                key_matrix=key_matrix(p, self._keys),
                mm_factor=p.mm_factor,
            )
            self._labels = tuple(p.scenarios(p.pair(b)).labels for b in self._keys.base)
        self._reset_option_cache()
        self._cache_options(np.arange(len(t), dtype=np.int64), t, resolved)

    def _settle_cells(self) -> SettleCells | None:
        """The refresh's settle cells (`cells`): under deribit-pm, whose coin ticks recompute that coin's keys
        only; under deribit-standard, whose coin ticks re-sum that coin's positions' margins only (each
        instrument's margin is in its settlement currency); under a grid, whose coin ticks re-sum that coin's
        positions' values (its groups are recomputed whole); none under SPAN (its updates settle every cell)."""
        standard = self._standard_col is not None and np.array_equal(self._standard_col, self._settle_col)
        kept = self.pm or standard or self._grid is not None
        return settle_cells(self.table.underlying, self._settle_col) if kept else None

    def _n_group_keys(self) -> int:
        """How many group keys an account's worst scenario is kept per: PM's vector keys, a grid's currencies
        (the refresh recomputes the keys an update touches), none under other methods."""
        if self.pm:
            return len(self._keys.names)
        return len(self.currencies) if self._grid is not None else 0

    def _currency_list(self, balances: Balances | None) -> tuple[str, ...]:
        held = list(balances.currencies) if balances is not None else []
        margin = list(self._span.currencies) if self._span is not None else []  # (SPAN's: the file's currencies)
        return tuple(dict.fromkeys([*held, *sorted(set(self._settle_currency)), *sorted(set(self._base)), *margin]))

    def _alloc(self, n: int) -> None:
        """Grow the per-account arrays to ``n`` accounts (new accounts hold nothing), amortised O(1) an account
        (`rows.RowStores`)."""
        if len(getattr(self, "_level", ())) == n:  # every array has n rows: nothing to grow
            return
        self._state_cache = None
        stores: RowStores = self.__dict__.setdefault("_row_stores", RowStores())
        pm_keys = len(self._keys.names) if self.pm else 0
        cells = len(self._cells) if self._cells is not None else 0
        k = len(self.currencies)
        standard_cells = cells if self._standard is not None else 0
        row = {  # each kind's row: its columns, or () for one figure
            "currency": (k,), "cell": (cells,), "standard_cell": (standard_cells,), "key": (self._n_group_keys(),),
            "pm_key": (pm_keys,), "": (),
            "sums": (0 if cells else k,), "margin": (0 if self.pm else k,), "worst": (0,) if self.pm else (),
        }  # fmt: skip
        for name, (columns, dtype, fill) in self._ACCOUNT_ARRAYS.items():
            old = getattr(self, name, None)
            if old is None:
                old = np.zeros((0, *row[columns]), dtype=dtype)
            if len(old) != n:
                setattr(self, name, stores.grown(name, old, n, fill))

    def _shrink(self, n: int) -> None:
        """Drop accounts from row ``n`` on (an update that created them failed)."""
        for name in self._ACCOUNT_ARRAYS:
            setattr(self, name, getattr(self, name)[:n])  # (views: the rows past n are refilled when they return)
        self._state_cache = None

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in _TRANSIENT}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._state_cache = self._columns_cache = None  # (`_TRANSIENT`; saved by earlier versions)
        self._savepoints = None
        self.__dict__.pop("_one_call", None)  # (saved when a method could fall back to ro.margin per update)
        self._row_of_name = self.table.row_of
        if "_stamps" not in state:  # an engine saved before the vol ticks' cache: rebuilt as options reprice
            self._names = [str(n) for n in self.table.names.tolist()]
            self._underlying_name = [self.table.underlyings[c] for c in self.table.underlying.tolist()]
            self._reset_option_cache()
        if "_span" not in state:  # an engine saved before SPAN was a live method
            self.span, self._span = False, None
        if "_spot" not in state:  # an engine saved before trades read it
            self._spot = (np.asarray(self.table.kind) == KIND_SPOT).tolist()
        if "_standard" not in state:  # saved before standard margin was kept per instrument
            self._standard = None
            if self.method == "deribit-standard":
                self._standard_params = StandardParameters.load(self.params)
                self._standard = unit_margins(self.table, self.market, self._standard_params)
            self._standard_col = self._standard_columns()
            self._columns_cache = None
        if "_grid" not in state:  # saved before a grid's scenario P&L was kept per instrument
            self._grid = None
            if self.method == "grid":
                grid = load_grid(self.params)
                resolved = self.market.resolve(self.table)
                self._grid = table_grid_inputs(self.table, self.market, grid, resolved, with_delta=grid.min_delta)
            self._columns_cache = None
            if self._grid is not None:  # (the kept option columns scale no grid's vol shocks yet: rebuilt)
                self._reset_option_cache()
        # Saved before a grid's worst scenarios were kept per currency: found by a full recomputation, below.
        recompute = self._grid is not None and self._key_worst_index.shape[1] != len(self.currencies)
        if recompute:
            n, k = len(self._level), len(self.currencies)
            self._key_worst_index, self._key_worst_pnl = np.full((n, k), -1, dtype=np.int64), np.zeros((n, k))
            self._state_cache = None
        # Saved before the settle kept its cells, or before its method kept them (standard margin, a grid): made,
        # and filled by a full recomputation.
        cells = self._settle_cells() if "_cells" not in state or self._cells is None else self._cells
        if "_cells" not in state or (self._cells is None and cells is not None):
            self._cells = cells
            n, width = len(self._level), len(self._cells) if self._cells is not None else 0
            self._options_part, self._futures_part = np.zeros((n, width)), np.zeros((n, width))
            standard_width = width if self._standard is not None else 0
            self._initial_part, self._maintenance_part = np.zeros((n, standard_width)), np.zeros((n, standard_width))
            self._columns_cache = self._state_cache = None
            recompute = True
        elif "_initial_part" not in state:  # (under another method: kept by none)
            self._initial_part, self._maintenance_part = np.zeros((len(self._level), 0)), np.zeros((len(self._level), 0))
            self._state_cache = None
        for name in ("_margin_balance", "_initial_usd", "_maintenance_usd", "_available", "_ratio"):
            self.__dict__.pop(name, None)  # (saved while the engine kept its USD figures: `_figures` settles them)
        n = len(self._level)  # saved while the engine kept the columns `_figures` now adds up: dropped
        if self._cells is not None and self._options.shape[1]:
            self._options, self._futures = np.zeros((n, 0)), np.zeros((n, 0))
            self._state_cache = None
        if self.pm and self._initial.shape[1]:
            self._initial, self._maintenance = np.zeros((n, 0)), np.zeros((n, 0))
            self._state_cache = None
        if self.pm and self._worst_key.ndim == 1:
            self._worst_key, self._worst_index = np.zeros((n, 0), dtype=np.int64), np.zeros((n, 0), dtype=np.int64)
            self._worst_usd = np.zeros((n, 0))
            self._state_cache = None
        n_keys = len(self._keys.names) if self.pm else 0
        if "_worst_stale" not in state:  # saved before bulk updates left the worst scenario to the queries
            self._worst_stale = np.zeros((len(self._level), n_keys), dtype=np.bool_)
            self._state_cache = None
        elif self._worst_stale.ndim == 1:  # saved when the marks were per account: each on every key
            self._worst_stale = np.repeat(self._worst_stale[:, None], n_keys, axis=1)
            self._state_cache = None
        self._base_masks, self._row_masks = {}, {}
        self._option_views = {}  # views of this process's arrays
        self._refresher_cache = {}
        self._bound_cache = {}
        self._sub_tables = {}
        self._lock = threading.RLock()
        if recompute:  # (the same figures: the same code on the same inputs)
            self._refresh(np.arange(len(self.positions), dtype=np.int64), emit=False, find_worst=True)

    def _standard_columns(self) -> IntArray | None:
        """Per instrument row, the engine's currency column of its standard margin (None under other methods)."""
        if self._standard is None:
            return None
        names = [c.upper() for c in self._standard.currencies]
        missing = [c for c in names if c not in self._col]
        if missing:  # (every settlement currency is an engine currency: this would be a bug)
            raise ValueError(f"standard margin currencies {missing} are not among the engine's {self.currencies}")
        return np.array([self._col[c] for c in names], dtype=np.int64)[self._standard.currency]


# Bound to this process (views, locks, compiled objects) or cheap to rebuild: left out of pickles.  The two
# dictionaries of the engine's own arrays are rebuilt too: a serialiser that takes containers apart (Dask's)
# would otherwise restore them holding copies, which the refresh would write instead of the engine's arrays.
_TRANSIENT = (
    "_refresher_cache", "_bound_cache", "_lock", "_sub_tables", "_base_masks", "_row_masks", "_option_views",
    "_repricers", "_ranges_cache", "_row_stores", "_state_cache", "_columns_cache", "_savepoints",
    "_figure_names_cache", "_every_row_cache", "_unit_moves",
)


def _universe(book: Book, market: Market) -> InstrumentTable:
    """The book's instruments (same rows), then every instrument the market lists and can value: a listed
    instrument whose quotes are missing (no mark, no vol, no index) is left out, so trades cannot open it,
    rather than failing the engine; the book's own instruments must all be valued."""
    items = list(book.instruments)
    listed = market.instruments
    if listed is None:
        return InstrumentTable(items)
    seen = {inst.name for inst in items}
    extra = [inst for inst in listed if inst.name not in seen and inst.base in market.index]
    market.resolve(book.instruments)  # the book's instruments: a missing quote is the user's error
    table = InstrumentTable(items + extra)
    try:
        market.resolve(table)  # cached for this table: the engine's set-up reads it again
    except MarketDataError:  # keep the listed instruments that resolve on their own
        table = InstrumentTable(items + [inst for inst in extra if _resolves(market, inst)])
    return table


def _resolves(market: Market, instrument: Any) -> bool:
    try:
        market.resolve(InstrumentTable([instrument]))
    except MarketDataError:
        return False
    return True


# RiskEngine and its settings; and, importable from here as before, names its parts define.
__all__ = [
    "CLUSTER_SNAPSHOT_FORMAT",
    "LIVE_METHODS",
    "SNAPSHOT_FORMAT",
    "IndexQuote",
    "RawMessage",
    "RiskEngine",
    "TickerQuote",
    "account_label",
    "write_atomic",
]
