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
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import pickle
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, TypeVar, cast

import numpy as np
import numpy.typing as npt

from .. import _core
from .._types import FloatArray, IntArray
from ..accounts.balances import Balances, currency_code
from ..accounts.collateral import CollateralTable
from ..accounts.deltas import closest_expiration, delta_totals, unit_deltas
from ..accounts.scenario_collateral import coin_moves_at, coin_unit_moves
from ..accounts.view import AccountView, usd_prices
from ..book import Book
from ..instruments import INVERSE, KIND_FUTURE, KIND_OPTION, KIND_PERPETUAL, KIND_SPOT, InstrumentTable
from ..io.deribit import excerpt
from ..margining.grid import (
    USD_LIKE,
    GridInputs,
    instrument_scenarios,
    load_grid,
    table_grid_inputs,
    underlying_index,
)
from ..margining.portfolio import (
    PMInputs,
    PMParameters,
    bind_option_reprice,
    expiry_columns,
    key_matrix,
    option_vectors,
    vectors_of_rows,
)
from ..margining.scenarios import OptionColumns, ScenarioSet, revalue_options
from ..margining.standard import (
    StandardParameters,
    UnitMargins,
    option_unit_margins,
    unit_margins,
)
from ..margining.vectors import vector_keys
from ..market import Market, MarketDataError, curve_point
from ..unit_greeks import instrument_greeks, option_greeks, premium_adjusted
from ..whatif import MAX_ORDER
from .cells import SettleCells, settle_cells
from .events import LEVELS, Event, EventBatch
from .figures import Contributors, FigureColumns, add_worst
from .messages import (
    MAX_TIMESTAMP_MS,
    BalanceUpdate,
    IndexUpdate,
    MessageError,
    TickerUpdate,
    TradeUpdate,
    parse_notification,
)
from .positions import FEW_INSTRUMENTS, Positions
from .rows import RowStores
from .savepoints import Savepoints
from .span_margins import SpanInputs
from .undo import Undo

if TYPE_CHECKING:
    from .._core.margin import Captured

SNAPSHOT_FORMAT = "riskoffset-engine-1"
CLUSTER_SNAPSHOT_FORMAT = "riskoffset-cluster-1"  # (`ClusterEngine`'s: named here to tell the two apart)
# What `RiskEngine.counters` (and a cluster's) count: updates applied, quotes older than the last of their key,
# repeated trade ids, messages that did not parse, updates refused, messages on channels not read.
COUNTERS = ("updates", "out_of_order", "duplicate_trades", "malformed", "rejected", "ignored")

# The margin methods the engine keeps current: its compiled refresh computes the first three on the accounts an
# update touches; SPAN, whose risk arrays come with the clearing house's file, is computed when an account's
# positions change (`span_margins`), and quotes move the equity against it.
LIVE_METHODS = ("deribit-pm", "deribit-standard", "grid", "span")


class IndexQuote(NamedTuple):
    """An index price (USD) of an underlying, for `RiskEngine.quotes`."""

    underlying: str
    price: float
    timestamp: int | None = None


class TickerQuote(NamedTuple):
    """A ticker of one instrument (mark price, mark IV as a decimal, forward), for `RiskEngine.quotes`."""

    instrument: str
    mark_price: float | None = None
    mark_iv: float | None = None
    underlying_price: float | None = None
    timestamp: int | None = None


class RawMessage(NamedTuple):
    """A notification as received (``apply`` parses it), and its line in a stream, for `RiskEngine.apply_batches`."""

    line: int | None
    message: Mapping[str, Any]


@dataclasses.dataclass
class _OptionRun:
    """Options' tickers that follow one another in a batch of quotes: their checked quotes and rows."""

    marks: dict[str, float] = dataclasses.field(default_factory=dict)
    mark_iv: dict[str, float] = dataclasses.field(default_factory=dict)
    forwards: dict[str, float] = dataclasses.field(default_factory=dict)
    rows: list[int] = dataclasses.field(default_factory=list)

    def clear(self) -> None:
        self.marks, self.mark_iv, self.forwards, self.rows = {}, {}, {}, []

    def has(self, name: str) -> bool:
        """Whether the run holds a quote of ``name`` (each quote it took put ``name`` in one of its tables)."""
        return name in self.marks or name in self.mark_iv or name in self.forwards


class _Touched(NamedTuple):
    """What a quote moved: instrument rows to reprice and PM keys to recompute (None: all), each ascending and
    distinct, and the coin whose holders are recomputed (None: the holders of ``rows``); ``balances``: balances
    in that coin count too."""

    rows: IntArray
    keys: IntArray | None
    base: str | None = None
    balances: bool = False


F = TypeVar("F", bound=Callable[..., Any])


def _locked(method: F) -> F:
    """Run an engine method holding the engine's lock: updates and queries from several threads take turns
    (the compiled refresh releases the GIL, so without it two threads could write the same arrays)."""

    @functools.wraps(method)
    def run(self: RiskEngine, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return cast(F, run)


# The PM inputs an index move replaces (`RiskEngine._pm_arrays`): the bound refresh takes them in place.
_MARKET_INPUTS = frozenset({"keys", "key_rate", "coin_moves", "coin_col", "coin_gain_cap"})


def _market_moved_only(was: dict[str, Any] | None, now: dict[str, Any] | None) -> bool:
    """Whether the PM inputs ``now`` are those ``was`` but for the market's (`_MARKET_INPUTS`)."""
    if was is None or now is None:
        return was is now
    return was.keys() == now.keys() and all(was[k] is now[k] for k in was if k not in _MARKET_INPUTS)


class RiskEngine:
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
        self._price_cache: FloatArray | None = None
        self._undo: Undo | None = None  # the update in progress
        self._savepoints: Savepoints | None = None  # set by a cluster shard (live/savepoints.py)
        self._lock = threading.RLock()  # one update or query at a time (callbacks may call back in)
        self._base_masks: dict[str, npt.NDArray[np.bool_]] = {}  # instruments of a coin
        self._row_masks: dict[int, npt.NDArray[np.bool_]] = {}  # one instrument
        self._moves_cache: tuple[FloatArray, IntArray, FloatArray] | None = None
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
        self._cells = self._settle_cells()
        self._standard_col = self._standard_columns()
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
        self._state_cache: dict[str, Any] | None = None
        self._columns_cache: dict[str, Any] | None = None
        # Per set of PM keys an update recomputes (None: all): the pass's arrays and the bound refresh, so
        # ticks of different coins and trades do not rebind each other's.
        self._pm_cache: dict[tuple[int, ...] | None, tuple[Any, dict[str, Any]]] = {}
        self._refresher_cache: dict[tuple[int, ...] | None, tuple[Any, Any]] = {}
        self._bound_cache: dict[bytes | None, tuple[Any, ...]] = {}  # `_bound_refresh`
        self._sub_tables: dict[bytes, InstrumentTable] = {}
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
        self._events: deque[Event] = deque()
        self._to_notify: list[Event] = []
        self._callbacks: list[Callable[[Event], None]] = []
        self._last_time: dict[str, int] = {}
        self._trade_ids: set[str] = set()
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.snapshot_meta: dict[str, Any] = {}  # what `snapshot` stored with the state (set by `restore`)
        self.errors: list[tuple[int | None, str]] = []  # (stream line, message) of skipped malformed messages
        everyone = np.arange(len(self.positions), dtype=np.int64)
        if self._span is not None:
            self._span_margins(everyone)
        # Every worst scenario found once (a few % of this pass): the first events then find them ready.
        self._refresh(everyone, emit=False, find_worst=True)

    # ================================================================== setup
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
        self._futures_of: dict[str, list[str]] = {}
        for name, base, future in zip(t.names.tolist(), self._base, self._future.tolist()):
            if future:
                self._futures_of.setdefault(base, []).append(str(name))
        self._forward_names: dict[str, list[str]] = {}
        self._base_rows: dict[str, IntArray] = {}
        self._forward_count = -1
        self._unit_value = np.zeros(len(t))  # an option's mark value in its settlement currency
        self._unit_delta = np.zeros(len(t))  # coin delta per unit, as the delta totals count it
        self._mark = np.full(len(t), math.nan)  # a future's mark
        self._names: list[str] = [str(n) for n in t.names.tolist()]
        self._underlying_name: list[str] = [t.underlyings[c] for c in t.underlying.tolist()]
        resolved = self.market.resolve(t)
        greeks = self._write_values(np.arange(len(t), dtype=np.int64), t, resolved)
        # Deribit standard margin is per position: its units per instrument, kept like the values above.
        self._standard: UnitMargins | None = None
        if self.method == "deribit-standard":
            self._standard_params = StandardParameters.load(self.params)
            self._standard = unit_margins(t, self.market, self._standard_params, per_unit=greeks)
        # A scenario grid: each instrument's P&L per scenario (and delta), kept like the values above.
        self._grid: GridInputs | None = None
        if self.method == "grid":
            grid = load_grid(self.params)
            self._grid = table_grid_inputs(t, self.market, grid, resolved, with_delta=grid.min_delta)
        # SPAN: the file bound to the table (its margin is computed when positions change: `_span_margins`).
        self._span: SpanInputs | None = SpanInputs.of(t, self.params) if self.span else None
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
        only; none under the other methods (their updates recompute every account whole)."""
        return settle_cells(self.table.underlying, self._settle_col) if self.pm else None

    def _n_group_keys(self) -> int:
        """How many group keys an account's worst scenario is kept per: PM's vector keys, a grid's currencies
        (the refresh recomputes the keys an update touches), none under other methods."""
        if self.pm:
            return len(self._keys.names)
        return len(self.currencies) if self._grid is not None else 0

    def _reset_option_cache(self) -> None:
        """Forget what the options' vol ticks reuse (`_cache_options`)."""
        n = len(self.table)
        zeros = np.zeros
        self._option_columns = OptionColumns(
            zeros(n), zeros(n), zeros(n), zeros(n), zeros(n), zeros(n), zeros(n, dtype=bool)
        )
        self._stamps: list[tuple[int, int] | None] = [None] * n
        self._base_pass = np.empty((2, 1))  # the unshocked value and dV/dF of the option of a vol tick
        self._option_views: dict[int, tuple[OptionColumns, Any, Any, bool]] = {}

    def _cache_options(self, rows: IntArray, sub: InstrumentTable, resolved: Any) -> dict[int, OptionColumns]:
        """Keep, per option of ``rows`` (``sub`` their table, ``resolved`` their market columns), what its vol
        tick leaves alone (`scenarios.OptionColumns`), stamped with what its forward and time resolved from
        (`Market.forward_stamp`): a vol tick reprices the option on them while the stamp holds.  Returns the
        columns per underlying code of ``sub`` (what `vectors_of_rows` reads for all of ``sub``'s rows)."""
        kind = sub.kind
        options = np.flatnonzero(kind == KIND_OPTION)
        codes = sub.underlying[options]
        built: dict[int, OptionColumns] = {}
        for code in np.unique(codes).tolist():
            mine = options[codes == code]
            base = sub.underlyings[code]
            scenarios = self._shock_scenarios(base)
            columns = built[code] = OptionColumns.of(sub, resolved, mine, scenarios)
            for kept, column in zip(self._option_columns, columns):
                kept[rows[mine]] = column
            stamp = self.market.forward_stamp(base)
            for r in rows[mine].tolist():
                self._stamps[r] = stamp
        return built

    def _shock_scenarios(self, base: str) -> ScenarioSet | None:
        """The scenario set whose vol shocks the kept option columns of ``base`` scale (`OptionColumns.term`): the
        PM pair's, the grid's, or none."""
        if self.pm:
            return self._p.scenarios(self._p.pair(base))
        return self._grid.grid.scenarios if self._grid is not None else None

    def _write_values(self, rows: IntArray, sub: InstrumentTable, resolved: Any) -> Any:
        """The values, deltas and marks of the instruments ``rows`` (``sub`` their table, ``resolved`` their
        market columns); returns their `instrument_greeks`."""
        g = instrument_greeks(sub, self.market, resolved)
        value = np.where(sub.settlement == INVERSE, g["value_coin"], g["value_usd"])
        self._unit_value[rows] = np.where(sub.kind == KIND_OPTION, value, 0.0)
        self._unit_delta[rows] = unit_deltas(sub, g["delta_pa"])
        futures = (sub.kind == KIND_FUTURE) | (sub.kind == KIND_PERPETUAL)
        self._mark[rows] = np.where(futures, resolved.forward, math.nan)
        return g

    def _currency_list(self, balances: Balances | None) -> tuple[str, ...]:
        held = list(balances.currencies) if balances is not None else []
        margin = list(self._span.currencies) if self._span is not None else []  # (SPAN's: the file's currencies)
        return tuple(dict.fromkeys([*held, *sorted(set(self._settle_currency)), *sorted(set(self._base)), *margin]))

    # Per-account arrays ([account, currency] or [account]), grown by `_alloc`.
    _balance: FloatArray
    _options: FloatArray
    _futures: FloatArray
    _initial: FloatArray
    _maintenance: FloatArray
    _worst_usd: FloatArray
    _level: npt.NDArray[np.int8]
    _worst_key: IntArray
    _worst_index: IntArray
    _key_initial: FloatArray  # [account, PM vector key]: each group's figures (deribit-pm only)
    _key_maintenance: FloatArray
    _key_worst_index: IntArray
    _key_worst_pnl: FloatArray
    _worst_stale: npt.NDArray[np.bool_]  # [account, PM vector key]: its worst scenario index awaits `_fresh_worst`
    # name -> (columns: "currency", "cell" (a settle cell), "key" (a group key: a PM vector key, a grid's currency),
    # "pm_key" (a PM vector key) or "" for one; "sums", "margin" and "worst": the currencies, or one figure, where
    # the engine keeps them, none where `_figures` adds them up from the others (settle cells, deribit-pm); dtype,
    # fill).
    _ACCOUNT_ARRAYS: ClassVar[dict[str, tuple[str, Any, float]]] = {
        "_balance": ("currency", np.float64, 0.0),
        "_options": ("sums", np.float64, 0.0),  # (kept without settle cells; with them, their sums: `_figures`)
        "_futures": ("sums", np.float64, 0.0),
        "_options_part": ("cell", np.float64, 0.0),  # the same per settle cell (`cells`): the refresh's own sums
        "_futures_part": ("cell", np.float64, 0.0),
        "_initial": ("margin", np.float64, 0.0),  # (kept off deribit-pm; under it, its keys' sums: `_figures`)
        "_maintenance": ("margin", np.float64, 0.0),
        "_worst_usd": ("worst", np.float64, 0.0),  # (kept under a grid; under deribit-pm from its groups: `_figures`)
        "_level": ("", np.int8, 0),
        "_worst_key": ("worst", np.int64, -1),
        "_worst_index": ("worst", np.int64, -1),
        "_key_initial": ("pm_key", np.float64, 0.0),
        "_key_maintenance": ("pm_key", np.float64, 0.0),
        "_key_worst_index": ("key", np.int64, -1),
        "_key_worst_pnl": ("key", np.float64, 0.0),
        "_worst_stale": ("pm_key", np.bool_, False),
    }
    # From this many accounts a recomputation finds each group's worst P&L but not which scenario it is (about 8 %
    # of an index tick's time), except for the accounts whose level it changes (their events show it): the queries
    # that show the scenario find it for their accounts first (`_fresh_worst`).
    LAZY_WORST_ACCOUNTS: ClassVar[int] = 512
    # An event names this many of the account's positions losing most in its worst scenario.
    TOP_CONTRIBUTORS: ClassVar[int] = 3

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
        row = {  # each kind's row: its columns, or () for one figure
            "currency": (k,), "cell": (cells,), "key": (self._n_group_keys(),), "pm_key": (pm_keys,), "": (),
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

    # ================================================================== recomputation
    def _prices(self) -> FloatArray:
        """USD per unit of each currency (as the account view prices them), cached until an index moves."""
        if self._price_cache is None:
            rates = (
                {c: 1.0 for c, coin in zip(self._keys.currency, self._keys.coin) if not coin}
                if self.pm
                else {}
            )
            for c in self._linear_settlement():
                rates.setdefault(c, 1.0)
            if self._span is not None:  # (the file's conversion of its margin currencies)
                for c, rate in self._span.usd_rates.items():
                    rates.setdefault(c, rate)
            self._price_cache = usd_prices(
                self.collateral, self.market, self.currencies, rates, self._balance, self.positions.labels
            )
        return self._price_cache

    def _linear_settlement(self) -> list[str]:
        """The settlement currencies of linear instruments (USD-valued at 1 unless an index prices them); the
        table does not change, so they are listed once."""
        listed: list[str] | None = self.__dict__.get("_linear_currencies")
        if listed is None:
            linear = [c for c, inverse in zip(self._settle_currency, self._inverse.tolist()) if not inverse]
            listed = self._linear_currencies = list(dict.fromkeys(linear))
        return listed

    def _coin_moves(self) -> tuple[FloatArray, IntArray, FloatArray]:
        """The coin balances' scenario P&L per vector key and gain caps (cached until an index moves)."""
        if self._moves_cache is None:
            # (what does not move with the index kept for the engine's currencies and collateral table)
            kept = self.__dict__.get("_unit_moves")
            now = (self.currencies, self.collateral, self._keys.names)
            if kept is None or any(a is not b for a, b in zip(kept[0], now)):
                kept = self._unit_moves = (now, coin_unit_moves(self._p, self._keys, self.currencies, self.collateral))
            self._moves_cache = coin_moves_at(kept[1], self._keys.index)
        return self._moves_cache

    def _refresh(
        self,
        rows: IntArray,
        *,
        keys: IntArray | None = None,
        emit: bool = True,
        timestamp: int | None = None,
        find_worst: bool | None = None,
    ) -> None:
        """Recompute the accounts ``rows``: margin (under deribit-pm only the vector ``keys`` given, the
        others keep their figures), equity parts, figures, level, in one compiled pass over their positions
        (`riskoffset._core.margin.LiveRefresh`: the PM kernel of the bulk pass, the account view's settle).
        A non-finite figure raises; the enclosing update then restores every input and recomputes these
        accounts from them (`Undo`), so a failed update leaves the figures as they were."""
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return
        every = 2 * len(rows) > len(self.positions)
        if every:  # most accounts: the whole book's arrays, no gather
            rows = self._every_row()
        if self._undo is not None:
            self._undo.refreshed.append((rows, keys, self._level.copy() if every else self._level[rows]))
        p = self.positions
        starts, ends = self._spans(rows)
        if find_worst is None:  # (the worst scenario's index: searched below LAZY_WORST_ACCOUNTS accounts)
            find_worst = len(rows) < self.LAZY_WORST_ACCOUNTS
        if not find_worst and self.pm:
            self._mark_stale(None if every else rows, keys, True)  # before the call: a failure midway leaves them marked
        # (with emit, the call captures the accounts whose level changes for their events, while in cache)
        bad, moved, before, captured = self._bound_refresh(keys)(
            starts, ends, p.indices, p.quantity, p.average, rows, find_worst, self.TOP_CONTRIBUTORS if emit else 0,
            p.trusted,
        )
        p.trusted = p.trusted or every  # (a refresh of every account checked every segment)
        if bad >= 0:
            raise self._not_finite(bad)
        if not find_worst and self.pm and len(moved):
            self._mark_stale(rows[moved], keys, False)  # the call searched the accounts whose level changed
        if emit and len(moved):
            self._emit_rows(rows[moved], before.tolist(), timestamp, captured)

    def _every_row(self) -> IntArray:
        """0 .. n - 1 for the engine's n accounts, read-only and kept while n stands (an index tick at 100,000
        accounts made it twice, 0.2 ms)."""
        n = len(self.positions)
        rows: IntArray | None = self.__dict__.get("_every_row_cache")
        if rows is None or len(rows) != n:
            rows = self._every_row_cache = np.arange(n, dtype=np.int64)
            rows.flags.writeable = False
        return rows

    def _span_margins(self, rows: IntArray) -> None:
        """SPAN's initial and maintenance margin of the accounts ``rows`` from their positions now, into their
        margin columns (`span_margins`); the refresh that follows settles the equity against them."""
        span, p = cast(SpanInputs, self._span), self.positions
        if self._undo is not None:
            self._undo.margins(rows)
        indptr, indices, quantity, _ = p.csr(rows)
        labels = [p.labels[a] for a in rows.tolist()]
        initial, maintenance = span.margins(labels, indptr, indices, quantity, self._col, len(self.currencies))
        self._initial[rows], self._maintenance[rows] = initial, maintenance

    def _mark_stale(self, rows: IntArray | None, keys: IntArray | None, stale: bool) -> None:
        """Mark the worst scenario indices of accounts ``rows`` (every account when None) on the vector ``keys``
        (all when None) as awaiting `_fresh_worst`, or as found."""
        if rows is None:
            self._worst_stale[:, slice(None) if keys is None else keys] = stale  # columns, no gather
        elif keys is None:
            self._worst_stale[rows] = stale
        else:
            self._worst_stale[rows[:, None], keys] = stale

    def _fresh_worst(self, rows: IntArray) -> None:
        """Find the worst scenario of those of ``rows`` whose last recomputation left it on some key (a bulk
        one): the accounts recomputed on every key, with the same figures (same code, same inputs)."""
        if not self.pm:
            return
        if len(rows) == 1:  # (one account's query: right after a tick each numpy call runs on cold caches)
            if not self._worst_stale[int(rows[0])].any():
                return
            stale = rows
        else:
            flags = self._worst_stale[rows]
            if not flags.any():  # (the usual case: an event's account was searched by the update that moved it)
                return
            stale = np.unique(rows[flags.any(axis=1)])
        p = self.positions
        starts, ends = p.ranges(stale)  # not `_spans`: its one kept range is a vol tick's holders
        bad, _, _, _ = self._bound_refresh(None)(starts, ends, p.indices, p.quantity, p.average, stale, True)
        if bad >= 0:
            raise self._not_finite(bad)
        self._worst_stale[stale] = False

    def _not_finite(self, row: int) -> ValueError:
        return ValueError(f"account {self.positions.labels[row]!r}: a margin or equity figure is not a finite "
                          "number (check the market's quotes for its instruments); the update was not applied")

    def _refresher(self, keys: IntArray | None) -> Any:
        """The compiled refresh bound to the engine's current arrays (rebuilt when one is replaced: new
        accounts, an index move, a valuation time)."""
        parts = (self._instrument_columns(), self._pm_arrays(keys), self._state(), self._prices())
        wanted = None if keys is None else tuple(np.asarray(keys).tolist())
        cached = self._refresher_cache.get(wanted)
        if cached is not None:
            was, refresh = cached
            if all(a is b for a, b in zip(was, parts)):
                return refresh
            if was[0] is parts[0] and was[2] is parts[2] and _market_moved_only(was[1], parts[1]):
                refresh.update_market(parts[3], parts[1])  # (an index move: the rest stays bound)
                self._refresher_cache[wanted] = (parts, refresh)
                return refresh
        cut_im, cut_mm = self._cuts if self._cuts is not None else (None, None)
        grid_keys = None
        if self._grid is not None and keys is not None:  # (a grid's keys: the currency columns recomputed)
            grid_keys = np.zeros(len(self.currencies), dtype=np.uint8)
            grid_keys[np.asarray(keys, dtype=np.int64)] = 1
        refresh = self._bind_refresh(*parts, cut_im=cut_im, cut_mm=cut_mm, threads=self.threads, grid_keys=grid_keys)
        if len(self._refresher_cache) >= 64:
            self._refresher_cache.clear()
        self._refresher_cache[wanted] = (parts, refresh)
        return refresh

    def _bound_refresh(self, keys: IntArray | None) -> Any:
        """`_refresher(keys)`, checked by identity against the caches it was bound from: on the hot paths (a
        trade, a balance, an option's vol tick) `_refresher`'s own checks would cost as much as a small compiled
        call."""
        wanted = None if keys is None else keys.tobytes()
        cache = self._bound_cache
        c = cache.get(wanted)
        inputs = self._inputs if self.pm else None
        if (
            c is None
            or c[0] is not self._state_cache
            or c[1] is not self._price_cache
            or c[2] is not self._columns_cache
            or c[3] is not inputs
            or c[4] is not self._moves_cache
        ):
            refresh = self._refresher(keys)
            if len(cache) >= 64:
                cache.clear()
            c = cache[wanted] = (
                self._state_cache, self._price_cache, self._columns_cache, inputs, self._moves_cache, refresh,
            )  # fmt: skip
        return c[5]

    def _spans(self, rows: IntArray) -> tuple[IntArray, IntArray]:
        """Where the positions of the accounts ``rows`` start and end in the pool."""
        if len(rows) == 1:  # one account (a trade, a balance): views, no fancy indexing
            r = int(rows[0])
            p = self.positions
            return p.start[r : r + 1], p.end[r : r + 1]
        return self._ranges(rows)

    def _ranges(self, rows: IntArray) -> tuple[IntArray, IntArray]:
        """`Positions.ranges` of ``rows``, kept for the same array of rows (a vol tick's holders) until a
        position changes."""
        p = self.positions
        if len(rows) == len(p):
            return p.ranges(None)
        kept: tuple[Any, ...] | None = self.__dict__.get("_ranges_cache")
        if kept is None or kept[0] is not rows or kept[1] != p.version:
            kept = self._ranges_cache = (rows, p.version, *p.ranges(rows))
        return kept[2], kept[3]

    _bind_refresh = staticmethod(_core.margin.LiveRefresh)

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
        if "_cells" not in state:  # saved before the settle kept its cells: made, and filled by a full recomputation
            self._cells = self._settle_cells()
            width = len(self._cells) if self._cells is not None else 0
            self._options_part, self._futures_part = np.zeros((len(self._level), width)), np.zeros((len(self._level), width))
            self._columns_cache = self._state_cache = None
            recompute = True
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

    def _instrument_columns(self) -> dict[str, Any]:
        """Per instrument, what the refresh reads besides the PM inputs (arrays updated in place)."""
        if self._columns_cache is None:
            self._columns_cache = {
                "unit_value": self._unit_value,
                "mark": self._mark,
                "is_future": self._future_u8,
                "inverse": self._inverse_u8,
                "is_option": self._option_u8,
                "settle_col": self._settle_col,
            }
            if self._cells is not None:  # the refresh's sums per settle cell
                self._columns_cache.update(
                    settle_cell=self._cells.cell_of, cell_currency=self._cells.currency, cell_segment=self._cells.segment
                )
            if self._standard is not None:  # the refresh computes standard margin per position
                self._columns_cache["standard"] = self._standard.arrays()
                self._columns_cache["standard_col"] = self._standard_col
            if self._grid is not None:  # the refresh sums the grid's scenarios per (account, currency)
                self._columns_cache["grid"] = self._grid_arrays()
            if self._span is not None:  # the refresh settles the margin `_span_margins` wrote (or, on a trade, its own)
                self._columns_cache["given_margin"] = True
                self._columns_cache["span"] = self._span.refresh_entry(self._col)
        return self._columns_cache

    def _pm_arrays(self, keys: IntArray | None) -> dict[str, Any] | None:
        """The PM pass's inputs for the refresh, on the vector ``keys`` (all when None); None off deribit-pm."""
        if not self.pm:
            return None
        moves_now = self._coin_moves() if self.dynamic else None
        wanted = None if keys is None else tuple(np.asarray(keys).tolist())
        cached = self._pm_cache.get(wanted)
        if cached is not None:  # the same objects (not equal ones): reuse
            (inputs_was, keys_was, moves_was), arrays = cached
            if inputs_was is self._inputs and keys_was is self._keys and moves_was is moves_now:
                return arrays
        inputs, n_keys = self._inputs, len(self._inputs.key_matrix)
        if cached is not None:  # (the same object: the bound refresh then sees only the market move)
            key_on = cached[1]["key_on"]
        else:
            key_on = np.ones(n_keys, dtype=np.uint8)
            if keys is not None:
                key_on[:] = 0
                key_on[np.asarray(keys, dtype=np.int64)] = 1
        moves: tuple[Any, Any, Any] = moves_now if moves_now is not None else (None, None, None)
        arrays = {
            "instrument_key": inputs.instrument_key,
            "vectors": inputs.vectors,
            "delta": inputs.delta,
            "column": inputs.column,
            "t_column": inputs.t_column,
            "extended_moves": inputs.extended_moves,
            "keys": inputs.key_matrix,
            "n_standard": inputs.n_standard,
            "mm_factor": inputs.mm_factor,
            "key_on": key_on,
            "key_currency": self._key_currency,
            "key_rate": np.where(self._keys.coin, self._keys.index, 1.0),
            "coin_moves": moves[0],
            "coin_col": moves[1],
            "coin_gain_cap": moves[2],
        }
        if len(self._pm_cache) >= 64:
            self._pm_cache.clear()
        self._pm_cache[wanted] = ((self._inputs, self._keys, moves_now), arrays)
        return arrays

    def _grid_arrays(self) -> dict[str, Any]:
        """The scenario grid's inputs as the refresh reads them: per instrument (keyed by its settlement currency
        column) its scenario P&L and delta, per underlying its index (arrays updated in place)."""
        g = cast(GridInputs, self._grid)
        grid = g.grid
        return {
            "pnl": g.pnl,
            "weight": np.ascontiguousarray(grid.scenarios.weight, dtype=np.float64),
            "maintenance_ratio": grid.maintenance_ratio,
            "provisions": grid.funding_provision + grid.fee_provision,
            "delta": g.delta,
            "underlying": g.underlying,
            "index": g.index,
            "usd_like": np.array([c in USD_LIKE for c in self.currencies], dtype=np.uint8),
            "net_rate": grid.min_delta_net_rate,
            "hedged_rate": grid.min_delta_hedged_rate,
        }

    def _state(self) -> dict[str, Any]:
        """The per-account arrays the refresh writes (and the balances it reads), by the refresh's names
        (kept until the arrays are reallocated)."""
        if self._state_cache is None:
            self._state_cache = {name.lstrip("_"): getattr(self, name) for name in self._ACCOUNT_ARRAYS}
        return self._state_cache

    def _standard_columns(self) -> IntArray | None:
        """Per instrument row, the engine's currency column of its standard margin (None under other methods)."""
        if self._standard is None:
            return None
        names = [c.upper() for c in self._standard.currencies]
        missing = [c for c in names if c not in self._col]
        if missing:  # (every settlement currency is an engine currency: this would be a bug)
            raise ValueError(f"standard margin currencies {missing} are not among the engine's {self.currencies}")
        return np.array([self._col[c] for c in names], dtype=np.int64)[self._standard.currency]

    def _reprice(self, rows: IntArray, undo: Undo) -> None:
        """Reprice the instruments ``rows`` that an account holds; the others are marked stale and repriced
        when a trade first touches them (no figure depends on them until then)."""
        rows = np.asarray(rows, dtype=np.int64)
        held = rows[self._held[rows]]
        undo.instruments(held)  # the others only become stale (the flags are saved)
        if len(rows) == 1 and self._reprice_option(int(rows[0])):
            return
        self._stale[rows[~self._held[rows]]] = True
        self._revalue(held)

    def _reprice_option(self, row: int) -> bool:
        """Reprice one held option after its own ticker (mark IV, mark, forward) on what its last pricing kept
        (`_kept_option`, `_reprice_kept`).  False (nothing done) when the kept columns do not hold or the option
        has no mark IV (its vol comes from its mark)."""
        if not self._kept_option(row):
            return False
        sigma = self.market.mark_iv.get(self._names[row])
        if sigma is None:
            return False
        self._reprice_kept(row, sigma)
        return True

    def _kept_option(self, row: int) -> bool:
        """Whether the option at ``row`` can be repriced on what its last pricing kept (`_cache_options`): held,
        not expired, and its index, forward curve and the valuation time as they were then."""
        stamp = self._stamps[row]  # (options alone have one, from when their columns were kept)
        return (
            stamp is not None
            and stamp == self.market.forward_stamp(self._underlying_name[row])
            and bool(self._held[row])
            and not self._option_columns.expired[row]
        )

    def _reprice_kept(self, row: int, sigma: float) -> None:
        """Reprice the option at ``row`` (`_kept_option`) at vol ``sigma`` with the functions of the full
        revaluation: under deribit-pm its value, delta, vector and shock delta in one compiled call
        (`_kept_repricer`); otherwise its value and delta (`unit_greeks.option_greeks`), and its standard unit
        margins or its P&L in each scenario of the grid (`scenarios.revalue_options`)."""
        reprice = self._kept_repricer(row, self.market.forwards.get(self._names[row]))
        if reprice is not None and reprice(row, sigma):
            return
        # Off deribit-pm, or an input the kernels refuse (the functions below name it and raise).
        one, is_call, pair, inverse = self._option_views[row]
        m = self.market
        vol = np.full(1, sigma)
        value, delta, *_ = option_greeks(is_call, one.forward, one.strike, one.t, m.rate, vol, threads=1)
        self._unit_value[row] = value[0] / one.forward[0] if inverse else value[0]
        self._unit_delta[row] = premium_adjusted(delta, value, one.forward, inverse)[0]
        if pair is not None:
            _, pm_delta = option_vectors(
                one, vol, self._p, pair, m.rate, out=self._inputs.vectors[row : row + 1], base=self._base_pass
            )
            self._inputs.delta[row] = pm_delta[0]
        if self._standard is not None:  # its standard unit margins, as `unit_margins` gives them
            units = self._standard
            quoted = m.marks.get(self._names[row])
            im, mm, _ = option_unit_margins(
                self._standard_params, self._underlying_name[row], inverse, is_call, one.forward, one.strike,
                units.to_currency[row : row + 1],  # (a linear row's index: unmoved while the option is kept)
                np.full(1, self._unit_value[row] if quoted is None else quoted),
            )  # fmt: skip
            units.short_initial[row], units.short_maintenance[row] = im[0], mm[0]
        if self._grid is not None:  # its scenario P&L (and the minimum delta's delta: the one just computed)
            g = self._grid
            scenarios = g.grid.scenarios
            move = scenarios.moves_of_rows(self.table, np.array([row], dtype=np.int64))[0]
            revalue_options(one, vol, scenarios, m.rate, move, out=g.pnl[row : row + 1])
            if g.delta is not None:
                g.delta[row] = self._unit_delta[row]

    def _kept_repricer(self, row: int, own: float | None) -> Any:
        """The option at ``row``'s kept columns made current with ``own``, its own ticker forward in the market
        (checked as resolving checks it when it changes; the old one saved to the update's undo log) and, under
        deribit-pm, its compiled reprice (`_option_repricer`; None otherwise)."""
        columns = self._option_columns
        base = self._underlying_name[row]
        if own is not None and own != columns.forward[row]:
            self.market.check_ticker_forward(self._names[row], base, int(self.table.expiration_ms[row]), own)
            if self._undo is not None:
                self._undo.option_forward(row)
            columns.forward[row] = own
        views = self._option_views.get(row)
        if views is None:  # the option's kept columns as views (they follow the columns' updates in place)
            one = columns.at(slice(row, row + 1))
            pair = self._p.pair(base) if self.pm else None
            views = self._option_views[row] = (one, one.flag > 0, pair, bool(self._inverse[row]))
        pair = views[2]
        return None if pair is None else self._option_repricer(base, pair)

    def _option_repricer(self, base: str, pair: Any) -> Any:
        """The compiled one-option reprice of ``base``'s options (`portfolio.bind_option_reprice`), bound to the
        engine's current arrays (rebound when one of them is replaced)."""
        cache: dict[str, tuple[Any, ...]] = self.__dict__.setdefault("_repricers", {})
        c = cache.get(base)
        inputs, columns, rate = self._inputs, self._option_columns, self.market.rate
        if (
            c is None
            or c[0] is not columns
            or c[1] is not self._unit_value
            or c[2] is not self._unit_delta
            or c[3] is not inputs.vectors
            or c[4] is not inputs.delta
            or c[5] != rate
        ):
            reprice = bind_option_reprice(
                columns, self._p, pair, rate, unit_value=self._unit_value, unit_delta=self._unit_delta,
                vectors=inputs.vectors, delta=inputs.delta,
            )  # fmt: skip
            c = cache[base] = (columns, self._unit_value, self._unit_delta, inputs.vectors, inputs.delta, rate, reprice)
        return c[6]

    def _revalue(self, rows: IntArray) -> None:
        """Reprice the instruments ``rows`` on the current market: their values and, under deribit-pm, their
        scenario vectors, deltas and the keys' index."""
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return
        sub = self._sub_table(rows)
        resolved = self.market.resolve(sub)
        greeks = self._write_values(rows, sub, resolved)
        if self._standard is not None:  # (in place, like the values: the refresh reads these arrays)
            moved = unit_margins(sub, self.market, self._standard_params, per_unit=greeks)
            for f in UnitMargins.MARKET_FIELDS:
                getattr(self._standard, f)[rows] = getattr(moved, f)
        if self._grid is not None:
            g = self._grid
            pnl, delta = instrument_scenarios(
                sub, self.market, g.grid, resolved, with_delta=g.delta is not None, greeks=greeks
            )
            g.pnl[rows] = pnl
            if g.delta is not None:
                g.delta[rows] = delta
            codes = np.unique(sub.underlying)
            g.index[codes] = underlying_index(sub, resolved)[codes]
        columns = self._cache_options(rows, sub, resolved)
        if self.pm:
            vectors, delta = vectors_of_rows(
                sub, self.market, self._p, resolved, np.arange(len(rows), dtype=np.int64), option_columns=columns
            )
            self._inputs.vectors[rows] = vectors
            self._inputs.delta[rows] = delta
            index = np.array([self.market.index[b] for b in self._keys.base], dtype=np.float64)
            if not np.array_equal(index, self._keys.index):
                self._moves_cache = None
                self._keys = dataclasses.replace(self._keys, index=index)
                self._inputs = dataclasses.replace(self._inputs, key_matrix=key_matrix(self._p, self._keys))

    def _sub_table(self, rows: IntArray) -> InstrumentTable:
        """The instrument table's rows ``rows`` (kept: a tick of a coin reprices the same rows every time)."""
        key = rows.tobytes()
        sub = self._sub_tables.get(key)
        if sub is None:
            if len(self._sub_tables) >= 256:
                self._sub_tables.clear()
            sub = self._sub_tables[key] = self.table.take(rows)
        return sub

    # ================================================================== state changes, all or nothing
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

    def on_index(self, underlying: str, price: float, timestamp: int | None = None) -> None:
        """A new index price (USD) of ``underlying`` ("BTC"): every instrument of it is revalued, keeping each
        futures mark's and forward's ratio to the index, and the accounts holding one (or, with dynamic
        collateral or cross collateral, a balance in it) are recomputed."""
        self.quotes([IndexQuote(underlying, price, timestamp)])

    def _index_quote(self, q: IndexQuote, undo: Undo) -> _Touched | None:
        """The market part of an index move (checked, applied through ``undo``); None when out of order."""
        base = currency_code(q.underlying, "underlying")
        price = _positive(q.price, f"index of {base}")
        if base not in self.market.index:
            raise ValueError(f"index of {base}: the engine's market has no {base} index to move")
        if not self._in_order("index:" + base, q.timestamp):
            return None
        ratio = price / self.market.index[base]
        marks = {n: self.market.marks[n] * ratio for n in self._futures_of[base] if n in self.market.marks}
        forwards = {
            n: self.market.forwards[n] * ratio for n in self._forwards_of(base) if n in self.market.forwards
        }
        undo.market(index={base: price}, marks=marks, forwards=forwards)
        self._price_cache = None
        return self._coin_touched(base)._replace(balances=True)

    def _holders_of(self, base: str) -> IntArray:
        """Rows of the accounts holding an instrument of ``base`` (`Positions.kept_holders`)."""
        mask = self._base_masks.get(base)
        if mask is None:
            mask = self._base_masks[base] = np.array([b == base for b in self._base], dtype=bool)
        return self.positions.kept_holders(base, mask)

    def _holders_of_row(self, row: int) -> IntArray:
        """Rows of the accounts holding the instrument ``row`` (`Positions.kept_holders`)."""
        mask = self._row_masks.get(row)
        if mask is None:
            if len(self._row_masks) >= 4096:
                self._row_masks.clear()
            mask = self._row_masks[row] = np.zeros(len(self.table), dtype=bool)
            mask[row] = True
        return self.positions.kept_holders(row, mask)

    def _keys_of(self, base: str) -> IntArray | None:
        """The group keys of an underlying's instruments: its PM vector keys, or under a grid their settlement
        currencies' columns (None under other methods: everything is recomputed)."""
        if self._grid is not None:
            return self._keys_of_rows(self._rows_of_base(base))
        if not self.pm:
            return None
        return np.array([k for k, b in enumerate(self._keys.base) if b.upper() == base], dtype=np.int64)

    def _keys_of_rows(self, rows: IntArray) -> IntArray | None:
        """The group keys of the instruments ``rows``: PM vector keys, a grid's settlement currency columns (None
        under other methods)."""
        if self.pm:
            return np.unique(self._inputs.instrument_key[rows])
        return np.unique(self._settle_col[rows]) if self._grid is not None else None

    def _forwards_of(self, base: str) -> list[str]:
        """The market's forward entries (option or expiry names) of an underlying."""
        if len(self.market.forwards) != self._forward_count:  # a ticker added an entry: reindex
            self._forward_names = {}
            for name in self.market.forwards:
                self._forward_names.setdefault(_base_of(name), []).append(name)
            self._forward_count = len(self.market.forwards)
        return self._forward_names.get(base, [])

    def on_ticker(
        self,
        instrument: str | Mapping[str, Any],
        *,
        mark_price: float | None = None,
        mark_iv: float | None = None,
        underlying_price: float | None = None,
        timestamp: int | None = None,
    ) -> None:
        """A Deribit ticker of one instrument: an option's mark price, mark IV (decimal) and forward
        (``underlying_price``) reprice that option and its holders; a perpetual's or a linear future's mark
        reprices that instrument and its holders alone; a dated inverse future's mark moves a point of the
        forward curve: the future and the options priced on that point are repriced (the whole underlying when
        more than a few move), and their holders recomputed.  ``instrument`` may also be
        Deribit's ticker object itself (``public/ticker`` or a ``ticker.*`` notification's data: its
        ``mark_iv`` in percent, as Deribit sends it)."""
        if not isinstance(instrument, str) and isinstance(instrument, Mapping):
            name = instrument.get("instrument_name")
            updates = parse_notification({"channel": f"ticker.{name}.raw", "data": instrument})
            self.quotes(
                [
                    TickerQuote(u.instrument, u.mark_price, u.mark_iv, u.underlying_price, u.timestamp)
                    for u in updates
                    if isinstance(u, TickerUpdate)
                ]
            )
            return
        q = TickerQuote(instrument, mark_price, mark_iv, underlying_price, timestamp)
        if mark_iv is not None:  # an option's vol tick, the most common update: straight to its own path
            lock = self._lock  # (acquire and release: see _locked)
            lock.acquire()
            try:
                if self._option_vol_tick(q):
                    return
            finally:
                lock.release()
        self.quotes([q])

    def _option_vol_tick(self, q: TickerQuote) -> bool:
        """A held option's own ticker under deribit-pm, the common vol tick, straight to its parts: the quotes
        checked as `_ticker_quote` and the market check them; then one compiled call (`LiveRefresh.option_tick`)
        reprices the option on its kept columns (`_kept_repricer`) and recomputes its holders, or changes
        nothing; then the market takes the quotes (they are checked: that cannot fail).  All or nothing, like
        every update.  False, with nothing done, where the general path is needed: another method, an option no
        account holds, kept columns that no longer hold (an expired option, a moved index, forward curve or
        valuation time), or an input the kernels refuse (the general path names it)."""
        name = q.instrument
        row = self._row_of_name.get(name) if type(name) is str else None  # (the usual call: one lookup)
        if row is None:
            try:
                row = self.table.row(name)
            except (KeyError, TypeError):
                return False
        if not self.pm or self._undo is not None or self._savepoints is not None or not self._kept_option(row):
            # (_undo: called back in an update; with savepoints every update goes through the undo log)
            return False
        # Out of order: dropped before the market judges its values.  The quote's time is recorded only once the
        # tick has succeeded (a refused quote leaves the last time as it was).
        if q.timestamp is not None and self._out_of_order(name, q.timestamp):
            return True
        m = self.market
        update = m.check_option_quote(name, q.mark_iv, q.mark_price, q.underlying_price)
        if update is None:  # (a quote the usual check does not pass: checked as every ticker is, which names it)
            marks, ivs, fw = _ticker_tables(q, name, option=True)
            update = m.check_update(mark_iv=ivs, marks=marks or None, forwards=fw or None)
        sigma, forwards = update.mark_iv[name], update.forwards
        holders = self._holders_of_row(row)
        columns = self._option_columns
        kept_forward = columns.forward[row]
        keys = self._inputs.instrument_key[row : row + 1]
        # Many holders: their worst scenarios are searched when a query shows them, as `_refresh` defers them.
        find_worst = len(holders) < self.LAZY_WORST_ACCOUNTS
        try:
            reprice = self._kept_repricer(row, update.forwards[name] if forwards else m.forwards.get(name))
            starts, ends = self._spans(holders)
            p = self.positions
            if not find_worst:
                self._mark_stale(holders, keys, True)  # (a refusal leaves them marked: they are searched again)
            status, moved, before, captured = self._bound_refresh(keys).option_tick(
                reprice, row, sigma, starts, ends, p.indices, p.quantity, p.average, holders, self.TOP_CONTRIBUTORS,
                p.trusted, find_worst,
            )
        except BaseException:  # (the compiled call changes nothing when it raises)
            columns.forward[row] = kept_forward
            raise
        if status != -1:  # nothing compiled changed (or it was all put back): nor does anything else
            columns.forward[row] = kept_forward
            if status == -2:
                return False
            raise self._not_finite(status)
        if not find_worst and len(moved):
            self._mark_stale(holders[moved], keys, False)  # the call searched the accounts whose level changed
        m.apply(update)
        if q.timestamp is not None:
            self._last_time[name] = int(q.timestamp)
        if len(moved):
            self._emit_rows(holders[moved], before.tolist(), q.timestamp, captured)
        self.counters["updates"] += 1
        if self._to_notify:
            self._notify()
        return True

    def _ticker_quote(self, q: TickerQuote, undo: Undo, whole: AbstractSet[str] = frozenset()) -> _Touched | None:
        """The market part of the ticker of a future, a perpetual or spot (an option's: `_option_ticker`),
        checked and applied through ``undo``; None when out of order or empty.  ``whole``: coins whose every
        instrument the update reprices anyway."""
        row = self._instrument(q.instrument)
        name = self._names[row]
        marks, ivs, fw = _ticker_tables(q, name, option=False)
        if not (marks or ivs or fw) or not self._in_order(name, q.timestamp):
            return None
        undo.market(marks=marks, mark_iv=ivs, forwards=fw)
        if marks and curve_point(name) is not None:
            base = self._base[row]
            return self._coin_touched(base) if base in whole else self._curve_touched(row, base)
        return self._rows_touched(np.array([row], dtype=np.int64))  # it prices itself alone

    def _coin_touched(self, base: str) -> _Touched:
        """Every instrument of a coin, and its holders."""
        return _Touched(self._rows_of_base(base), self._keys_of(base), base)

    def _rows_touched(self, rows: IntArray) -> _Touched:
        """Instrument rows that moved, and their group keys."""
        return _Touched(rows, self._keys_of_rows(rows))

    def _curve_touched(self, row: int, base: str) -> _Touched:
        """What a new point of ``base``'s forward curve moves (the dated future at ``row``, its mark already in
        the market): the future, and the held options whose forward or time now resolve otherwise than their
        kept columns hold (an option of its expiry, or one interpolated on the curve; not one on its own ticker
        forward).  Resolving the coin's held instruments checks them as a full reprice does (and is the one
        that reprice reads).  When few move, only they are repriced and their holders recomputed; the other
        options' kept columns are current, and stamped so (their vol ticks keep their own path); the coin's
        instruments no account holds are marked stale, repriced on their first trade (a failed update leaves
        them stale, which only costs that reprice).  Otherwise the whole coin is repriced, as for its index."""
        rows = self._rows_of_base(base)
        held = rows[self._held[rows]]
        resolved = self.market.resolve(self._sub_table(held))
        kept, options = self._option_columns, self._option[held]
        same = options & (resolved.forward == kept.forward[held]) & (resolved.t == kept.t[held])
        moved = np.union1d(np.array([row], dtype=np.int64), held[options & ~same])
        if len(moved) > FEW_INSTRUMENTS:
            return self._coin_touched(base)
        self._stale[rows[~self._held[rows]]] = True
        stamp = self.market.forward_stamp(base)
        for r in held[same].tolist():
            self._stamps[r] = stamp
        return self._rows_touched(moved)

    @_locked
    def quotes(self, quotes: Sequence[IndexQuote | TickerQuote]) -> None:
        """Apply index moves and tickers in order, then reprice what they moved and recompute the accounts
        holding it once: the state after them is that of applying them one by one; the accounts' levels are
        compared once, at the end (a crossing and its undoing between two of them emits nothing).  All or
        nothing: if one fails, none is applied."""
        if len(quotes) == 1:
            q = quotes[0]
            if isinstance(q, TickerQuote) and q.mark_iv is not None and self._option_vol_tick(q):
                return
        # Coins whose index moves in this batch: all their instruments are repriced anyway, so a dated future's
        # ticker among the quotes need not find which of them its curve point moves.
        whole = {currency_code(q.underlying, "underlying") for q in quotes if isinstance(q, IndexQuote)}
        with self._transaction() as undo:
            touched: list[_Touched] = []
            run = _OptionRun()  # consecutive options' tickers: the market takes them at once
            applied = 0
            for q in quotes:
                if isinstance(q, TickerQuote):
                    taken = self._option_ticker(q, run)
                    if taken is None:  # (its option's quote is in the run already: the run ends first)
                        applied += self._end_run(run, undo, touched)
                        taken = self._option_ticker(q, run)
                    if taken:
                        continue
                applied += self._end_run(run, undo, touched)
                t = self._index_quote(q, undo) if isinstance(q, IndexQuote) else self._ticker_quote(q, undo, whole)
                if t is not None:
                    touched.append(t)
                    applied += 1
            applied += self._end_run(run, undo, touched)
            if touched:
                self._apply_touched(
                    touched, undo, max((q.timestamp for q in quotes if q.timestamp is not None), default=None)
                )
        if touched:
            self.counters["updates"] += applied
            self._notify()

    def _option_ticker(self, q: TickerQuote, run: _OptionRun) -> bool | None:
        """An option's ticker, checked and added to ``run`` (unless empty or out of order): True.  False, with
        nothing done, for another instrument's; None when ``run`` has a quote of that option already (each
        quote then reaches the market on its own, as applied one by one)."""
        row = self._instrument(q.instrument)
        if not self._option[row]:
            return False
        name = self._names[row]
        if run.has(name):
            return None
        marks, ivs, fw = _ticker_tables(q, name, option=True)
        if (marks or ivs or fw) and self._in_order(name, q.timestamp):
            run.marks.update(marks)
            run.mark_iv.update(ivs)
            run.forwards.update(fw)
            run.rows.append(row)
        return True

    def _end_run(self, run: _OptionRun, undo: Undo, touched: list[_Touched]) -> int:
        """The market takes the run's quotes (through ``undo``) and its options join ``touched``; the run is
        emptied.  Returns how many quotes it held."""
        n = len(run.rows)
        if n:
            undo.market(marks=run.marks, mark_iv=run.mark_iv, forwards=run.forwards)
            rows = np.array(run.rows, dtype=np.int64) if n == 1 else self._union_rows([np.array(run.rows)])
            touched.append(self._rows_touched(rows))  # they price themselves alone
            run.clear()
        return n

    def _apply_touched(self, touched: list[_Touched], undo: Undo, timestamp: int | None) -> None:
        """Reprice the instruments the quotes moved, and recompute the accounts holding them (or, for an index,
        a balance in its coin) on the keys they touch."""
        if len(touched) == 1 and touched[0].base is None and len(touched[0].rows) == 1:  # one option's ticker
            one = touched[0]
            self._reprice(one.rows, undo)
            self._refresh(self._holders_of_row(int(one.rows[0])), keys=one.keys, timestamp=timestamp)
            return
        rows = touched[0].rows if len(touched) == 1 else self._union_rows([t.rows for t in touched])
        self._reprice(rows, undo)
        keys = (
            None
            if any(t.keys is None for t in touched)
            else touched[0].keys if len(touched) == 1 else np.unique(np.concatenate([t.keys for t in touched]))
        )
        n = len(self.positions)
        if any(t.base is not None and 2 * len(self._holders_of(t.base)) > n for t in touched):
            # most accounts hold the coin: every account is recomputed (`_refresh`), no need to find which
            self._refresh(self._every_row(), keys=keys, timestamp=timestamp)
            if keys is not None and n >= self.LAZY_WORST_ACCOUNTS:
                # The refresh of one account on every key (a trade's, a pre-trade check's, a query's) bound to the
                # moved market now, a small part of this update, rather than by the next trade (100,000 accounts:
                # a trade right after a tick took 146 us, 85 of them this binding on cold caches).
                self._bound_refresh(None)
            return
        hit = np.zeros(n, dtype=bool)
        singles = np.zeros(len(self.table), dtype=bool)
        for t in touched:
            if t.base is not None:
                hit[self._holders_of(t.base)] = True
                if t.balances and t.base in self._col:  # a balance in the coin changes value
                    hit |= self._balance[:, self._col[t.base]] != 0.0
            else:
                singles[t.rows] = True
        moved = np.flatnonzero(singles)
        if len(moved) <= FEW_INSTRUMENTS:  # (a perpetual's or a future's own ticker): each one's kept holders
            for row in moved.tolist():
                hit[self._holders_of_row(row)] = True
        else:  # (a coin's options' marks at once): where they are most of a coin's held rows, its kept holders
            scan = np.zeros(len(self.table), dtype=bool)
            for base in dict.fromkeys(self._base[r] for r in moved.tolist()):
                rows = self._rows_of_base(base)
                held = self._held[rows]
                if 2 * np.count_nonzero(singles[rows] & held) > np.count_nonzero(held):
                    hit[self._holders_of(base)] = True  # (a superset: the others recompute to the same figures)
                else:
                    scan[rows] = singles[rows]
            if scan.any():
                hit[self.positions.holders(scan)] = True
        self._refresh(np.flatnonzero(hit).astype(np.int64), keys=keys, timestamp=timestamp)

    def _union_rows(self, parts: list[IntArray]) -> IntArray:
        """The instrument rows in any of ``parts``, ascending, through a mask (``np.unique`` hashes: 50-110 us
        on a coin's rows, about 5 us this way)."""
        hit = np.zeros(len(self.table), dtype=bool)
        for rows in parts:
            hit[rows] = True
        return np.flatnonzero(hit)

    def _rows_of_base(self, base: str) -> IntArray:
        rows = self._base_rows.get(base)
        if rows is None:
            rows = self._base_rows[base] = np.flatnonzero(
                np.array([b == base for b in self._base], dtype=bool)
            )
        return rows

    def on_quote(self, instrument: str, mark_price: float, timestamp: int | None = None) -> None:
        """A futures or perpetual mark price (as `on_ticker` with the mark alone)."""
        self.on_ticker(instrument, mark_price=mark_price, timestamp=timestamp)

    def on_trade(
        self,
        account: Any,
        instrument: str,
        quantity: float,
        price: float,
        fee: float = 0.0,
        *,
        fee_currency: str | None = None,
        timestamp: int | None = None,
        trade_id: str | None = None,
    ) -> None:
        """A fill of the account: ``quantity`` signed (buy +, sell -) in Deribit size units at ``price`` (coin
        for inverse options, USD for futures, the quote currency for linear ones).  Cash: an option's premium
        and the fee (in ``fee_currency``, default the settlement currency) leave the balance at once, and the
        P&L a futures fill realises enters it (Deribit books it at the daily settlement: equity is the same, the
        balance moves earlier here).  A repeated ``trade_id`` is ignored."""
        lock = self._lock  # taken here rather than by _locked: a trade is the hottest update (a frame less)
        lock.acquire()
        try:
            row_i = self._row_of_name.get(instrument) if type(instrument) is str else None  # (the usual call)
            if row_i is None:
                row_i = self._instrument(instrument)
            q, px, fee_amount = _trade_numbers(instrument, quantity, price, fee)
            if timestamp is not None and not (type(timestamp) is int and 0 <= timestamp < MAX_TIMESTAMP_MS):
                timestamp = _checked_time(timestamp)
            if trade_id is not None and str(trade_id) in self._trade_ids:
                self.counters["duplicate_trades"] += 1
                return
            settle_cur = self._settle_currency[row_i]
            fee_cur = settle_cur if fee_currency is None else currency_code(fee_currency, "fee_currency")
            fee_col = self._col.get(fee_cur)
            if fee_col is None:
                raise ValueError(
                    f"fee_currency {fee_cur}: not a currency of this engine ({', '.join(self.currencies)})"
                )
            p = self.positions
            if type(account) is int and p.int_rows is not None:  # (the usual call: the compiled index)
                label, a = account, p.int_rows.get(account)
            else:
                label = account_label(account, p.labels)
                a = p.row_of.get(label)
            # (with savepoints every update goes through the undo log: `_trade_in_steps`)
            filled = None
            if a is not None and self._held[row_i] and not self._spot[row_i] and self._savepoints is None:
                # The common case in one compiled call: position, cash and the account's figures (under SPAN its
                # margin too, unless the account needs SPAN's full path: None), all or nothing.
                filled = self._fill(a, row_i, q, px, fee_amount, fee_col, refresh=True)
                if filled is not None and filled[0] != filled[1]:
                    self._emit(a, filled[0], filled[1], timestamp, filled[2])
            if filled is None:
                self._trade_in_steps(label, row_i, q, px, fee_amount, fee_col, timestamp)
            if trade_id is not None:
                self._trade_ids.add(str(trade_id))
                if self._savepoints is not None:
                    self._savepoints.trade_ids.append(str(trade_id))
            self.counters["updates"] += 1
            if self._to_notify:
                self._notify()
        finally:
            lock.release()

    @_locked
    def what_if(self, account: Any, orders: Iterable[tuple[Any, ...]]) -> dict[str, Any]:
        """The account's figures (as `account` gives them) after fills of ``orders``, each ``(instrument,
        quantity, price)`` or ``(instrument, quantity, price, fee)`` as `on_trade` takes them, computed by the
        same code and then undone: the engine is left exactly as it was (positions, balances, figures, levels),
        no event is emitted and no counter moves.  A pre-trade check against the live state; an order the
        engine would refuse raises as `on_trade` does, and changes nothing either.  The orders of an account on
        instruments held are one compiled call (the fills, the account recomputed and read, everything put
        back); a new account, an instrument no account holds yet or SPAN's full path go through the engine's
        undo log."""
        fills = [tuple(order) for order in orders]
        for fill in fills:
            if not 3 <= len(fill) <= 4:
                raise ValueError(f"order {fill!r}: expected (instrument, quantity, price) or with a fee")
        if fills and self._savepoints is None:  # (the usual check: one compiled call)
            figures = self._dry_fills(account, fills)
            if figures is not None:
                return figures
        outer = self._savepoints
        savepoints = outer if outer is not None else Savepoints()
        mark = savepoints.mark()
        counters, events, to_notify, callbacks = dict(self.counters), len(self._events), self._to_notify, self._callbacks
        self._savepoints, self._to_notify, self._callbacks = savepoints, [], []
        try:
            for fill in fills:
                self.on_trade(account, *fill)
            label = account if type(account) is int else account_label(account, self.positions.labels)
            row = self.positions.find(label)
            if row is None:  # (no order: an account the engine does not have)
                raise ValueError(f"account {account!r} is not in the engine")
            return self._row(row)
        finally:
            savepoints.rollback(self, mark)
            self._savepoints, self._to_notify, self._callbacks = outer, to_notify, callbacks
            self.counters.clear()
            self.counters.update(counters)
            while len(self._events) > events:
                self._events.pop()

    def _dry_fills(self, account: Any, fills: Sequence[tuple[Any, ...]]) -> dict[str, Any] | None:
        """`what_if` of an account's orders in one compiled call (the fills as `on_trade` applies them, the
        account's figures as they leave it, then everything put back), or None where it takes the undo log (a new
        account, an instrument no account holds, spot, SPAN's full path, a full pool).  Orders are checked in
        order, as `on_trade` would check them one after another."""
        rows: list[int] = []
        amounts: list[float] = []
        prices: list[float] = []
        fees: list[float] = []
        fee_cols: list[int] = []
        a: int | None = None
        for j, (instrument, quantity, price, *fee) in enumerate(fills):
            row_i = self._instrument(instrument)
            q, px, fee_amount = _trade_numbers(instrument, quantity, price, fee[0] if fee else 0.0)
            if j == 0:  # (on_trade reads the account after the first order's numbers)
                label = account if type(account) is int else account_label(account, self.positions.labels)
                a = self.positions.find(label)
            if a is None or not self._held[row_i] or self._spot[row_i]:
                return None
            rows.append(row_i)
            amounts.append(q)
            prices.append(px)
            fees.append(fee_amount)
            fee_cols.append(self._col[self._settle_currency[row_i]])
        if a is None:  # (no orders)
            return None
        p = self.positions
        try:
            status, bad, now, captured = self._bound_refresh(None).what_if(
                p.start, p.end, p.indices, p.quantity, p.average, p.size, a, rows, amounts, prices, fees, fee_cols
            )
        except ValueError as exc:  # (refused with everything put back: name the account)
            raise ValueError(f"what-if of account {p.labels[a]!r}: {exc}") from None
        if bad:
            raise self._not_finite(a)
        if status < 0 or captured is None:  # (a full pool, SPAN's full path: nothing was changed)
            return None
        figures, key, index = captured
        return self._figures_of(a, now, figures, key, index)  # (the fills' level: the engine's is back)

    def _trade_in_steps(
        self, label: Any, row_i: int, q: float, px: float, fee: float, fee_col: int, timestamp: int | None
    ) -> None:
        """`on_trade` where one compiled call does not cover it: a new account, an instrument no account held
        yet, spot (collateral: the balances move, no position), SPAN (the account's margin computed after the
        fill) or a cluster shard's savepoints (every update through the undo log)."""
        with self._transaction() as undo:
            a = self.positions.account_row(label, create=True)
            self._alloc(len(self.positions))
            undo.account(a)
            if not self._held[row_i]:
                undo.instruments(np.array([row_i], dtype=np.int64))
                self._held[row_i] = True
                if self._stale[row_i]:
                    self._revalue(np.array([row_i], dtype=np.int64))
                    self._stale[row_i] = False
            if self._spot[row_i]:
                s = self._col[self._settle_currency[row_i]]
                self._balance[a, self._col[self._base[row_i]]] += q
                self._balance[a, s] -= q * px
                self._balance[a, fee_col] -= fee
            else:
                self._fill(a, row_i, q, px, fee, fee_col, refresh=False)
                if self._span is not None:  # (its positions changed: its SPAN margin with them)
                    self._span_margins(np.array([a], dtype=np.int64))
            self._refresh(np.array([a], dtype=np.int64), timestamp=timestamp)

    def _fill(
        self, a: int, row_i: int, q: float, px: float, fee: float, fee_col: int, *, refresh: bool, anew: bool = False
    ) -> tuple[int, int, Captured | None] | None:
        """The fill in the pool and the account's balances (premium, realised futures P&L, fee), and with
        ``refresh`` the account recomputed, in one compiled call (all or nothing: a non-finite figure leaves
        the account as it was and raises).  Outside an update's undo, a fill that neither opens nor closes a
        position changes it where it lies (no new segment, nothing for the pool to collect later; ``anew``
        writes the segment anew all the same, as every fill once did, for comparisons).  Returns the
        account's level before and after, and what the call captured of it for its event when the level changed
        (`_emit_rows`); None, with nothing changed, where under SPAN the refresh leaves the account to SPAN's full
        path (`_trade_in_steps`)."""
        p = self.positions
        trade = self._bound_refresh(None).trade
        top = self.TOP_CONTRIBUTORS if refresh else 0
        in_place = self._undo is None and not anew  # (an undo points the account back at its old segment)
        try:
            n, bad, was, now, captured, held = trade(p.start, p.end, p.indices, p.quantity, p.average, p.size, a,
                                                     row_i, q, px, fee, fee_col, refresh, top, in_place)  # fmt: skip
            if n == -1:  # the pool is full (nothing was written): make room (outside an update's undo, by dropping
                p.reserve(a, collect=self._undo is None)  # what trades left behind when that is most of it), trade
                n, bad, was, now, captured, held = trade(p.start, p.end, p.indices, p.quantity, p.average, p.size, a,
                                                         row_i, q, px, fee, fee_col, refresh, top, in_place)  # fmt: skip
        except ValueError as exc:  # (refused before anything changed: name the account and the instrument)
            raise ValueError(f"trade of account {p.labels[a]!r} in {self._names[row_i]}: {exc}") from None
        if bad:
            raise self._not_finite(a)
        if n == -3:  # (SPAN's full path)
            return None
        if n >= 0:  # (-2: written in place)
            p.appended(a, n, row_i if held else -1)
        return was, now, captured

    @_locked
    def on_balance(self, account: Any, currency: str, amount: float, timestamp: int | None = None) -> None:
        """A deposit (``amount`` > 0), withdrawal or transfer (< 0) of ``currency``."""
        self._set_balance(account, currency, _finite(amount, "amount"), add=True, timestamp=timestamp)

    @_locked
    def set_balance(self, account: Any, currency: str, balance: float, timestamp: int | None = None) -> None:
        """The account's balance in ``currency`` as the venue reports it (e.g. Deribit's portfolio update)."""
        self._set_balance(account, currency, _finite(balance, "balance"), add=False, timestamp=timestamp)

    def _set_balance(
        self, account: Any, currency: str, amount: float, *, add: bool, timestamp: int | None
    ) -> None:
        timestamp = _checked_time(timestamp)
        cur = currency_code(currency, "currency")
        if cur not in self._col:
            raise ValueError(
                f"account {account!r}: currency {cur} is not one of the engine's ({', '.join(self.currencies)})"
            )
        label = account_label(account, self.positions.labels)
        if not add and not self._in_order(f"balance:{label}:{cur}", timestamp):
            return
        a = self.positions.find(label)
        if a is not None and self._savepoints is None:  # one compiled call, all or nothing
            p = self.positions
            bad, was, now, captured = self._bound_refresh(None).balance(
                p.start, p.end, p.indices, p.quantity, p.average, p.size, a, self._col[cur], amount, add,
                self.TOP_CONTRIBUTORS,
            )  # fmt: skip
            if bad:
                raise self._not_finite(a)
            self._emit(a, was, now, timestamp, captured)
        else:
            with self._transaction() as undo:
                a = self.positions.account_row(label, create=True)
                self._alloc(len(self.positions))
                undo.account(a)
                self._balance[a, self._col[cur]] = (self._balance[a, self._col[cur]] + amount) if add else amount
                self._refresh(np.array([a], dtype=np.int64), timestamp=timestamp)
        self.counters["updates"] += 1
        self._notify()

    @_locked
    def advance(self, valuation_time: Any) -> None:
        """Move the valuation time (time decay, expiries): every instrument is revalued, every account
        recomputed."""
        with self._transaction() as undo:
            undo.market(valuation_time=valuation_time)
            self._price_cache = self._moves_cache = None
            everything = np.arange(len(self.table), dtype=np.int64)
            if self.pm:
                shell = Book(
                    self.table,
                    np.zeros(0, dtype=str),
                    np.zeros(1, dtype=np.int64),
                    np.zeros(0, dtype=np.int64),
                    np.zeros(0),
                )
                column, t_column = expiry_columns(shell, self.market.resolve(self.table))
                self._inputs = dataclasses.replace(self._inputs, column=column, t_column=t_column)
            self._reprice(everything, undo)
            self._refresh(np.arange(len(self.positions), dtype=np.int64))
        self.counters["updates"] += 1
        self._notify()

    # ================================================================== messages
    @_locked
    def apply(self, message: Mapping[str, Any], *, line: int | None = None) -> int:
        """Apply one Deribit JSON-RPC subscription notification (docs/live-streams.md lists the channels);
        returns the number of updates it carried.  A malformed message, or one whose quotes the market refuses
        (a forward far from its future's mark, a vol that reads as a percentage), raises `MessageError` when
        the engine is ``strict``; otherwise it is counted (``counters["malformed"]`` / ``["rejected"]``),
        recorded in ``errors`` with its ``line``, and skipped.  Either way the engine's state is unchanged by
        it (the quotes of one message are applied together)."""
        try:
            updates = parse_notification(message)
        except MessageError as exc:
            self._refuse(exc, line)
            return 0
        if not updates:
            self.counters["ignored"] += 1
            return 0
        if len(updates) == 1:  # (the usual message: one update, applied as `apply_updates` applies it)
            before = self.counters["updates"]
            try:
                self._apply_update(updates[0])
            except ValueError as exc:
                self._refuse(exc, line)
            return self.counters["updates"] - before
        return self.apply_updates([(line, updates)])

    def _apply_update(self, u: Any) -> None:
        """One parsed update (`parse_notification`) applied on its own."""
        if isinstance(u, TradeUpdate):
            self.on_trade(u.account, u.instrument, u.quantity, u.price, u.fee, fee_currency=u.fee_currency,
                          timestamp=u.timestamp, trade_id=u.trade_id)  # fmt: skip
        elif isinstance(u, BalanceUpdate):
            self.set_balance(u.account, u.currency, u.balance, u.timestamp)
        elif isinstance(u, (IndexUpdate, TickerUpdate)):
            self.quotes([_quote_of(u)])
        else:
            raise TypeError(f"not an update parse_notification gives: {u!r}")

    @_locked
    def apply_updates(self, items: Sequence[tuple[int | None, Sequence[Any]]]) -> int:
        """Apply parsed notifications, ``(line, updates)`` each (`riskoffset.live.parse_notification`), in
        order: consecutive quotes (index and ticker updates) together through `quotes`, so the accounts are
        recomputed once for them, trades and balances one by one.  When quotes applied together fail, each
        message's quotes are applied on their own so only the bad message is refused (as `apply`).  Returns
        the number of updates applied (the engine's "updates" counter: an update ignored as out of order or a
        trade seen before is not one)."""
        applied_before = self.counters["updates"]
        pending: list[tuple[int | None, list[IndexQuote | TickerQuote]]] = []

        def flush() -> None:
            if not pending:
                return
            try:
                self.quotes([q for _, qs in pending for q in qs])
            except ValueError as exc:
                if len(pending) == 1:
                    self._refuse(exc, pending[0][0])
                else:
                    for line, qs in pending:
                        try:
                            self.quotes(qs)
                        except ValueError as one:
                            self._refuse(one, line)
            pending.clear()

        for line, updates in items:
            if all(isinstance(u, (IndexUpdate, TickerUpdate)) for u in updates):
                pending.append((line, [_quote_of(u) for u in updates]))
                continue
            flush()
            try:
                for u in updates:  # a message with trades or balances: its updates in order
                    self._apply_update(u)
            except ValueError as exc:
                self._refuse(exc, line)
        flush()
        return self.counters["updates"] - applied_before

    @_locked
    def apply_batches(self, batches: Sequence[Sequence[tuple[int | None, Sequence[Any]]] | RawMessage]) -> int:
        """Apply ``batches`` in order, each a list of parsed notifications as `apply_updates` takes them (applied
        together as it applies them) or a `RawMessage` as `apply` takes it.  Returns the number of updates
        applied.  One engine applies them one after another; `ClusterEngine` sends each shard all of them in one
        call.  A strict engine raises at the first message it refuses (`MessageError`, its ``line`` set): the
        messages before it stay applied, each whole, and ``counters["updates"]`` counts them."""
        applied = 0
        for batch in batches:
            if isinstance(batch, RawMessage):
                applied += self.apply(batch.message, line=batch.line)
            else:
                applied += self.apply_updates(batch)
        return applied

    def _refuse(self, exc: ValueError, line: int | None) -> None:
        """A message the engine does not apply: raised when strict, else counted and recorded."""
        if self.strict:
            channel, field = (exc.channel, exc.field) if isinstance(exc, MessageError) else (None, None)
            raise MessageError(f"line {line}: {exc}" if line is not None else str(exc), channel, field, line) from None
        self.counters["malformed" if isinstance(exc, MessageError) else "rejected"] += 1
        self.errors.append((line, str(exc)))

    # ================================================================== events
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

    @_locked
    def subscribe(self, callback: Callable[[Event], None]) -> None:
        """Call ``callback(event)`` for every event, as it happens."""
        self._callbacks.append(callback)

    def events(self) -> Iterator[Event]:
        """The events not yet read, oldest first (each is given once)."""
        while self._events:
            yield self._events.popleft()

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
        self, rows: IntArray, top: int = TOP_CONTRIBUTORS, worst: tuple[IntArray, IntArray] | None = None
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

    # ================================================================== queries
    def _row(self, row: int) -> dict[str, Any]:
        """The figures of the account ``row`` (as `account` gives them)."""
        if self.pm and self._worst_stale[row].any():
            self._fresh_worst(np.array([row], dtype=np.int64))
        flat, worst_key, worst_index = self._bound_refresh(None).account_row(row)  # (the refresh's own sums)
        return self._figures_of(row, int(self._level[row]), flat, worst_key, worst_index)

    def _figures_of(self, row: int, level: int, flat: list[float], worst_key: int, worst_index: int) -> dict[str, Any]:
        """One account's figures as `account` gives them (the same names, in the same order, as `_figure_columns`
        gives every account's): ``flat`` its margin balance, IM, MM and available funds in USD, MM ratio, worst P&L
        in USD, then per currency its balance, equity, IM and MM (a row of the compiled capture)."""
        names, worst = self._figure_names()
        # (the figures' own order but for the worst P&L, sixth: named with the worst scenario)
        figures = dict(zip(names, (self.positions.labels[row], LEVELS[level], *flat[:5], *flat[6:])))
        if worst is not None:
            add_worst(figures, worst_key, worst_index, flat[5], *worst)
        return figures

    def _figure_names(self) -> tuple[tuple[str, ...], tuple[Sequence[str], Sequence[Sequence[str]]] | None]:
        """The figures' names (account, level, the USD figures, then balance, equity, IM and MM per currency) and
        the groups and scenario labels that name a worst scenario (None where the method has none).  The names
        are made once per list of currencies (a query's dictionary is a few microseconds: they were one)."""
        cached = self.__dict__.get("_figure_names_cache")
        if cached is None or cached[0] is not self.currencies:
            usd = ("account", "level", "margin_balance_usd", "initial_usd", "maintenance_usd", "available_usd", "mm_ratio")
            parts = ("balance", "equity", "initial", "maintenance")
            cached = self._figure_names_cache = (
                self.currencies, (*usd, *(f"{part}_{cur}" for cur in self.currencies for part in parts))
            )
        names: tuple[str, ...] = cached[1]
        if self._grid is not None:  # its groups: the settlement currencies, each with every scenario
            return names, (self.currencies, [self._grid.grid.scenarios.labels] * len(self.currencies))
        if not self.pm:
            return names, None
        return names, (self._keys.names, self._labels)

    def _rows(self, rows: IntArray) -> list[dict[str, Any]]:
        """The figures of the accounts ``rows``, one dictionary per account (as `account` gives them)."""
        return self._columns(rows).dicts()

    def _columns(self, rows: IntArray) -> FigureColumns:
        """The figures of the accounts ``rows`` as they are now, column by column (copies)."""
        self._fresh_worst(rows)
        balance = self._balance[rows]
        (options, futures, initial, maintenance), usd_figures, (worst_key, worst_index, worst_usd) = self._figures(rows)
        k = len(self.currencies)
        block = np.empty((len(rows), 5 + 4 * k))
        block[:, :5] = np.column_stack(usd_figures)
        by_currency = block[:, 5:].reshape(len(rows), k, 4)  # (balance, equity, IM, MM of each currency in turn)
        by_currency[:, :, 0], by_currency[:, :, 2], by_currency[:, :, 3] = balance, initial, maintenance
        by_currency[:, :, 1] = balance + options + futures  # (the equity summed as the refresh sums it)
        return self._figure_columns(rows, block, worst_key, worst_index, worst_usd)

    def _figure_columns(
        self, rows: IntArray, block: FloatArray, worst_key: IntArray, worst_index: IntArray, worst_usd: FloatArray
    ) -> FigureColumns:
        """The figures of the accounts ``rows``: ``block`` their margin balance, IM, MM and available funds in USD
        and MM ratio, then each currency's balance, equity, IM and MM (the figures' order, a row per account); their
        largest group, that group's worst scenario index and its P&L in USD."""
        names, worst = self._figure_names()
        accounts = list(map(self.positions.labels.__getitem__, rows.tolist()))  # (Python scalars, as labels are)
        kept = None if worst is None else (worst_key, worst_index, worst_usd, *worst)
        return FigureColumns(names, accounts, self._level[rows].tolist(), block, kept)

    def _figures(self, rows: IntArray) -> tuple[tuple[FloatArray, ...], tuple[FloatArray, ...], tuple[Any, ...]]:
        """The accounts ``rows`` as the refresh left them: per currency ([account, currency]) their options value
        at mark, futures P&L, IM and MM; their margin balance, IM, MM and available funds in USD and MM ratio; their
        largest group (-1: none), its worst scenario index and worst P&L in USD (kept as the last search left
        them: `_fresh_worst` first where it matters).
        The engine keeps only what no other figure gives (the settle cells, each PM group's figures, the
        level ...): the compiled refresh adds these up and settles them here as its settle does (the same code on
        the same inputs, so the figures it leveled the accounts on)."""
        figures = self._bound_refresh(None).figures(np.asarray(rows, dtype=np.int64))
        return tuple(figures[:4]), tuple(figures[4:9]), tuple(figures[9:])

    @_locked
    def account(self, account: Any) -> dict[str, Any]:
        """One account's figures: per currency (balance, equity, initial, maintenance) and in USD (margin
        balance, IM, MM, available funds, MM ratio), its level and, under deribit-pm or a grid, its worst
        scenario."""
        row = self.positions.find(account_label(account, self.positions.labels))
        if row is None:
            raise ValueError(f"account {account!r} is not in the engine")
        return self._row(row)

    @_locked
    def accounts(self) -> AccountView:
        """Every account's figures as columns (the account view's type: ``to_pandas()`` with pandas)."""
        rows = np.arange(len(self.positions), dtype=np.int64)
        labels = np.asarray(self.positions.labels)
        indptr, indices, quantity, _ = self.positions.csr(rows)
        delta_total, projected_delta = delta_totals(
            indptr,
            indices,
            quantity,
            self._unit_delta,
            self._settle_col,
            closest_expiration(self.table, self.market),
            len(self.currencies),
        )
        (options, futures, initial, maintenance), usd, _ = self._figures(rows)
        margin_balance, initial_usd, maintenance_usd, available, ratio = usd
        model = ("X:" if self.cross else "S:") + (
            "PM" if self.pm else "SM" if self.method == "deribit-standard" else self.method
        )
        return AccountView(
            model, "candidate" if (self.cross and self.pm) else "exact", labels, self.currencies, self._prices(),
            self._balance.copy(), np.asarray(self._balance + options + futures, dtype=np.float64), initial, maintenance,
            margin_balance, initial_usd, maintenance_usd, available, ratio, self._level >= 1, self._level >= 2,
            f"{self.collateral.name} {self.collateral.as_of}".strip(), self.method, delta_total, projected_delta,
        )  # fmt: skip

    @_locked
    def at_risk(self, threshold: float = 0.0, limit: int | None = None) -> list[dict[str, Any]]:
        """The accounts whose MM ratio (MM / margin balance) is at least ``threshold``, highest first (equal
        ratios in the engine's account order); with ``limit``, the first ``limit`` of them.  Each account returned
        is a dictionary made for the call (a few microseconds each: ask a venue of 100,000 accounts for its top
        ones, or read `accounts` as columns)."""
        return self._rows(self._at_risk_rows(threshold, limit))

    def _at_risk_rows(self, threshold: float, limit: int | None, ties: bool = False) -> IntArray:
        """The engine rows of `at_risk`'s accounts, in its order; with ``ties``, past ``limit`` also those whose
        ratio equals the last one's (what a shard of a `ClusterEngine` sends, so that the merged list cuts exactly
        where one engine would)."""
        t = _finite(threshold, "threshold")
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)):
                raise TypeError(f"limit must be a non-negative integer or None, got {limit!r}")
            if limit < 0:
                raise ValueError(f"limit must be a non-negative integer or None, got {limit!r}")
        ratio = self._figures(np.arange(len(self.positions), dtype=np.int64))[1][4]
        rows = np.flatnonzero(ratio >= t)
        rows = rows[np.argsort(-ratio[rows], kind="stable")].astype(np.int64, copy=False)
        if limit is not None and limit < len(rows):
            cut = int(limit)
            if ties and cut > 0:  # (sorted: the ratios equal to the last one kept follow it)
                cut += int(np.count_nonzero(ratio[rows[cut:]] == ratio[rows[cut - 1]]))
            rows = rows[:cut]
        return rows

    @_locked
    def futures_pnl(self) -> FloatArray:
        """Futures P&L against the average entry price per [account, currency] (settlement currency units)."""
        return np.asarray(self._figures(np.arange(len(self.positions), dtype=np.int64))[0][1], dtype=np.float64)

    @property
    @_locked
    def book(self) -> Book:
        """The current positions as a `Book`."""
        return self.positions.book(self.table)

    @property
    @_locked
    def balances(self) -> Balances:
        """The current balances (negative where premiums or fees exceeded them)."""
        return Balances(
            np.asarray(self.positions.labels), self.currencies, self._balance, allow_negative=True
        )

    # ================================================================== snapshots
    @_locked
    def snapshot(self, path: str | os.PathLike[str], **meta: Any) -> None:
        """Write the engine's whole state to ``path`` (atomically: a crash leaves the previous file); ``meta``
        (e.g. the stream line reached) is stored with it.  The file is a Python pickle: restore only files
        you wrote."""
        write_atomic(path, pickle.dumps(self.snapshot_document(**meta), protocol=pickle.HIGHEST_PROTOCOL))

    @_locked
    def snapshot_document(self, **meta: Any) -> dict[str, Any]:
        """What `snapshot` writes, as a dictionary (`from_document` makes the engine again)."""
        self.positions.compact()
        state = {k: v for k, v in self.__getstate__().items() if k not in ("_callbacks", "_events", "_to_notify")}
        return {"format": SNAPSHOT_FORMAT, "meta": meta, "state": state, "events": list(self._events)}

    @classmethod
    def restore(cls, path: str | os.PathLike[str]) -> RiskEngine:
        """An engine in the state `snapshot` wrote (its ``meta`` in ``engine.snapshot_meta``)."""
        with open(path, "rb") as f:
            doc = pickle.load(f)
        if isinstance(doc, dict) and doc.get("format") == CLUSTER_SNAPSHOT_FORMAT:
            raise ValueError(f"{path}: the snapshot of a cluster engine: restore it with ClusterEngine.restore (on the "
                             "command line, with --dask)")  # fmt: skip
        if not isinstance(doc, dict) or doc.get("format") != SNAPSHOT_FORMAT:
            raise ValueError(f"{path}: not a riskoffset engine snapshot ({SNAPSHOT_FORMAT})")
        return cls.from_document(doc)

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> RiskEngine:
        """An engine in the state of a `snapshot_document`."""
        engine = cls.__new__(cls)
        engine.__setstate__(dict(doc["state"]))
        engine._callbacks = []
        engine._to_notify = []
        engine._events = deque(doc["events"])
        engine.snapshot_meta = dict(doc["meta"])
        return engine


def write_atomic(path: str | os.PathLike[str], blob: bytes) -> None:
    """``blob`` written to ``path`` through a temporary file in its directory and a rename: a crash midway
    leaves the file that was there."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


def _base_of(name: str) -> str:
    """The coin of an instrument or expiry name: ``BTC`` for BTC-25DEC26, BTC_USDC-PERPETUAL, BTC-...-C."""
    return name.split("-", 1)[0].split("_", 1)[0].upper()


def account_label(account: Any, labels: Sequence[Any]) -> Any:
    """An account label in the type of the engine's labels (``labels``, the first telling): a canonical
    integer string names an integer account."""
    if type(account) is int:  # the usual label, as it is (a bool is not of type int)
        return account
    if isinstance(account, (bool, float)) or account is None:
        raise TypeError(f"account must be a label (str or int), got {account!r}")
    if isinstance(account, np.generic):
        account = account.item()
    if labels and isinstance(labels[0], int) and isinstance(account, str):
        text = account.strip()
        if text.lstrip("-").isdigit() and str(int(text)) == text:
            return int(text)
    return account


def _finite(value: Any, what: str) -> float:
    kind = type(value)  # float and int first: the usual types, and a bool is not of type int
    if (kind is not float and kind is not int) and (
        isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating))
    ):
        raise TypeError(f"{what} must be a number, got {value!r}")
    try:
        x = float(value)
    except OverflowError:  # (a Python int beyond the float range)
        x = math.inf
    if not math.isfinite(x):
        raise ValueError(f"{what} must be finite, got {excerpt(value, 40)}")
    return x


def _checked_time(value: Any) -> int | None:
    """An update's timestamp: None, or whole milliseconds since 1970 below 1e15 (as Deribit's messages carry them;
    a whole float is taken as its int)."""
    if value is None or (type(value) is int and 0 <= value < MAX_TIMESTAMP_MS):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"timestamp must be whole milliseconds since 1970 (an int), got {excerpt(value, 40)}")
    try:
        x = float(value)
    except OverflowError:
        x = math.inf
    if not (0 <= x < MAX_TIMESTAMP_MS and x == int(x)):
        raise ValueError(f"timestamp must be whole milliseconds since 1970 (0 to 1e15), got {excerpt(value, 40)}")
    return int(x)


_PLAIN_NUMBERS = (float, int)
_INF = math.inf


def _quote_of(u: IndexUpdate | TickerUpdate) -> IndexQuote | TickerQuote:
    """A parsed index or ticker update as the quote `RiskEngine.quotes` takes."""
    if isinstance(u, IndexUpdate):
        return IndexQuote(u.underlying, u.price, u.timestamp)
    return TickerQuote(u.instrument, u.mark_price, u.mark_iv, u.underlying_price, u.timestamp)


def _trade_numbers(instrument: str, quantity: Any, price: Any, fee: Any) -> tuple[float, float, float]:
    """A trade's quantity (non-zero, below MAX_ORDER in size), price (> 0) and fee (finite), checked."""
    if type(quantity) is float and type(price) is float and type(fee) is float:  # (a feed's numbers; NaN fails)
        if quantity != 0.0 and -MAX_ORDER < quantity < MAX_ORDER and 0.0 < price < _INF and -_INF < fee < _INF:
            return quantity, price, fee
    elif type(quantity) in _PLAIN_NUMBERS and type(price) in _PLAIN_NUMBERS and type(fee) in _PLAIN_NUMBERS:
        try:
            q, px, f = float(quantity), float(price), float(fee)  # (plain numbers, ints among them)
        except OverflowError:  # (an int beyond the float range: the checks below name it)
            q = px = f = math.nan
        if q != 0.0 and -MAX_ORDER < q < MAX_ORDER and 0.0 < px < math.inf and math.isfinite(f):
            return q, px, f
    q = _finite(quantity, "quantity")
    if q == 0.0 or not -MAX_ORDER < q < MAX_ORDER:
        raise ValueError(
            f"trade on {instrument}: quantity {quantity!r} must be non-zero and below {MAX_ORDER:.0e} in size"
        )
    px = _finite(price, "price")
    if not px > 0:
        raise ValueError(f"price of the trade on {instrument} must be > 0, got {price!r}")
    return q, px, _finite(fee, "fee")


def _positive(value: Any, what: str) -> float:
    x = _finite(value, what)
    if not x > 0:
        raise ValueError(f"{what} must be > 0, got {value!r}")
    return x


def _ticker_tables(
    q: TickerQuote, name: str, *, option: bool
) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """A ticker's marks, mark IVs and (an option's) forwards, checked: a mark and a forward > 0, a vol >= 0."""
    marks = {name: _quote(q.mark_price, "mark_price", name)} if q.mark_price is not None else {}
    if not option:
        return marks, {}, {}
    ivs = {name: _quote(q.mark_iv, "mark_iv", name, zero=True)} if q.mark_iv is not None else {}
    fw = {name: _quote(q.underlying_price, "underlying_price", name)} if q.underlying_price is not None else {}
    return marks, ivs, fw


def _quote(value: Any, field: str, name: str, *, zero: bool = False) -> float:
    """A ticker's ``field`` of instrument ``name``: finite and > 0 (>= 0 with ``zero``)."""
    if type(value) is float and (0.0 <= value if zero else 0.0 < value) and value < math.inf:  # the usual quote
        return value
    what = f"{field} of {name}"  # (the message only where the value needs more than that check)
    return _non_negative(value, what) if zero else _positive(value, what)


def _non_negative(value: Any, what: str) -> float:
    x = _finite(value, what)
    if x < 0:
        raise ValueError(f"{what} must be >= 0, got {value!r}")
    return x


__all__ = ["LIVE_METHODS", "SNAPSHOT_FORMAT", "RawMessage", "RiskEngine"]
