"""`EngineState`: what the parts of `RiskEngine` share, declared once: the engine's instance attributes, its
per-account arrays and the methods one part calls on another; and `_locked`, which runs a method holding the
engine's lock.

Each part of the engine is a class of its own module deriving from `EngineState` (engine.py lists them), so
the type checker checks every part against these declarations; `RiskEngine` derives from all of them.
"""

from __future__ import annotations

import functools
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

import numpy as np
import numpy.typing as npt

from .._types import FloatArray, IntArray

if TYPE_CHECKING:
    from .._core.margin import Captured
    from ..accounts.collateral import CollateralTable
    from ..instruments import InstrumentTable
    from ..margining.grid import GridInputs
    from ..margining.pm_parameters import PMParameters
    from ..margining.portfolio import PMInputs
    from ..margining.scenarios import OptionColumns
    from ..margining.standard import StandardParameters, UnitMargins
    from ..margining.vectors import VectorKeys
    from ..market import Market
    from .cells import SettleCells
    from .events import Event
    from .figures import FigureColumns
    from .market_updates import IndexQuote, TickerQuote
    from .positions import Positions
    from .savepoints import Savepoints
    from .span_margins import SpanInputs
    from .undo import Undo

F = TypeVar("F", bound=Callable[..., Any])


def _locked(method: F) -> F:
    """Run an engine method holding the engine's lock: updates and queries from several threads take turns
    (the compiled refresh releases the GIL, so without it two threads could write the same arrays)."""

    @functools.wraps(method)
    def run(self: EngineState, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return cast(F, run)


class EngineState:
    """What every part of `RiskEngine` reads and writes (set by `RiskEngine.__init__`; the module doc says
    why it is declared here)."""

    # The engine's arguments (`RiskEngine`), and its own copy of the market.
    method: str
    params: Any
    cross: bool
    pm: bool  # method is deribit-pm
    span: bool  # method is span
    dynamic: bool  # coin balances inside the PM scenarios of their coin
    strict: bool
    threads: int
    collateral: CollateralTable
    market: Market
    # The instruments: the book's, then the market's listed ones (one row each), and their columns.
    table: InstrumentTable
    _row_of_name: Mapping[str, int]
    _kind: npt.NDArray[np.int8]
    _future: npt.NDArray[np.bool_]  # a future or a perpetual
    _option: npt.NDArray[np.bool_]
    _spot: list[bool]
    _inverse: npt.NDArray[np.bool_]
    _future_u8: npt.NDArray[np.uint8]  # (as the compiled refresh reads them)
    _inverse_u8: npt.NDArray[np.uint8]
    _option_u8: npt.NDArray[np.uint8]
    _settle_currency: list[str]
    _base: list[str]
    _names: list[str]
    _underlying_name: list[str]
    _futures_of: dict[str, list[str]]  # a coin's futures and perpetuals
    _forward_names: dict[str, list[str]]  # a coin's forward entries in the market (`_forwards_of`)
    _forward_count: int
    _base_rows: dict[str, IntArray]  # a coin's instrument rows
    _held: npt.NDArray[np.bool_]  # held by some account now or earlier
    _stale: npt.NDArray[np.bool_]  # quotes moved since it was last priced
    # Per instrument, what its last pricing gave (repricing.py).
    _unit_value: FloatArray  # an option's mark value in its settlement currency
    _unit_delta: FloatArray  # coin delta per unit, as the delta totals count it
    _mark: FloatArray  # a future's mark
    _option_columns: OptionColumns  # what an option's vol tick leaves alone (`_cache_options`)
    _stamps: list[tuple[int, int] | None]  # what those columns' forward and time resolved from
    _base_pass: FloatArray  # the unshocked value and dV/dF of the option of a vol tick
    _option_views: dict[int, tuple[OptionColumns, Any, Any, bool]]
    _sub_tables: dict[bytes, InstrumentTable]
    # The margin method's per-instrument inputs.
    _standard: UnitMargins | None  # deribit-standard's
    _standard_params: StandardParameters
    _standard_col: IntArray | None  # each instrument's currency column of its standard margin
    _grid: GridInputs | None  # a scenario grid's
    _span: SpanInputs | None  # SPAN's
    _p: PMParameters  # deribit-pm's (these five under it only)
    _keys: VectorKeys
    _inputs: PMInputs
    _labels: tuple[tuple[str, ...], ...]  # each PM vector key's scenario labels
    _key_currency: IntArray  # each PM vector key's settlement currency column
    # Accounts and currencies.
    positions: Positions
    currencies: tuple[str, ...]
    _col: dict[str, int]  # a currency's column
    _settle_col: IntArray  # an instrument's settlement currency column
    _cells: SettleCells | None
    _cuts: tuple[FloatArray, FloatArray] | None  # IM and MM haircuts per currency (cross collateral)
    # What the compiled refresh is bound to, kept until one of its inputs is replaced (recomputation.py).
    _price_cache: FloatArray | None
    _moves_cache: tuple[FloatArray, IntArray, FloatArray] | None
    _state_cache: dict[str, Any] | None
    _columns_cache: dict[str, Any] | None
    _pm_cache: dict[tuple[int, ...] | None, tuple[Any, dict[str, Any]]]
    _refresher_cache: dict[tuple[int, ...] | None, tuple[Any, Any]]
    _bound_cache: dict[bytes | None, tuple[Any, ...]]
    _base_masks: dict[str, npt.NDArray[np.bool_]]  # instruments of a coin
    _row_masks: dict[int, npt.NDArray[np.bool_]]  # one instrument
    # Updates: the one in progress, their order, what they counted and refused.
    _undo: Undo | None  # the update in progress
    _savepoints: Savepoints | None  # set by a cluster shard (live/savepoints.py)
    _lock: threading.RLock  # one update or query at a time (callbacks may call back in)
    _last_time: dict[str, int]  # the time of the last update of each key (`_in_order`)
    _trade_ids: set[str]  # trade ids applied (a repeated one is ignored)
    counters: dict[str, int]
    errors: list[tuple[int | None, str]]  # (stream line, message) of skipped malformed messages
    # Events, and what `snapshot` stored with the state.
    _events: deque[Event]
    _to_notify: list[Event]
    _callbacks: list[Callable[[Event], None]]
    snapshot_meta: dict[str, Any]

    # Per-account arrays ([account, currency] or [account]), grown by `_alloc`.
    _balance: FloatArray
    _options: FloatArray
    _futures: FloatArray
    _options_part: FloatArray  # [account, settle cell]
    _initial_part: FloatArray  # [account, settle cell] under deribit-standard
    _maintenance_part: FloatArray
    _futures_part: FloatArray
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
    # name -> (columns: "currency", "cell" (a settle cell), "standard_cell" (a settle cell under deribit-standard,
    # none under other methods), "key" (a group key: a PM vector key, a grid's currency),
    # "pm_key" (a PM vector key) or "" for one; "sums", "margin" and "worst": the currencies, or one figure, where
    # the engine keeps them, none where `_figures` adds them up from the others (settle cells, deribit-pm); dtype,
    # fill).
    _ACCOUNT_ARRAYS: ClassVar[dict[str, tuple[str, Any, float]]] = {
        "_balance": ("currency", np.float64, 0.0),
        "_options": ("sums", np.float64, 0.0),  # (kept without settle cells; with them, their sums: `_figures`)
        "_futures": ("sums", np.float64, 0.0),
        "_options_part": ("cell", np.float64, 0.0),  # the same per settle cell (`cells`): the refresh's own sums
        "_futures_part": ("cell", np.float64, 0.0),
        "_initial_part": ("standard_cell", np.float64, 0.0),  # standard margin per settle cell (the refresh's sums)
        "_maintenance_part": ("standard_cell", np.float64, 0.0),
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

    # The methods one part calls on another, under the module that defines them: declared for the type checker,
    # which checks each definition against its declaration (at run time the parts' own methods are all there is).
    if TYPE_CHECKING:
        # engine.py
        def _alloc(self, n: int) -> None: ...
        def _shrink(self, n: int) -> None: ...
        def __getstate__(self) -> dict[str, Any]: ...
        def __setstate__(self, state: dict[str, Any]) -> None: ...

        # repricing.py
        def _reset_option_cache(self) -> None: ...
        def _cache_options(
            self, rows: IntArray, sub: InstrumentTable, resolved: Any
        ) -> dict[int, OptionColumns]: ...
        def _write_values(self, rows: IntArray, sub: InstrumentTable, resolved: Any) -> Any: ...
        def _reprice(self, rows: IntArray, undo: Undo) -> None: ...
        def _kept_option(self, row: int) -> bool: ...
        def _kept_repricer(self, row: int, own: float | None) -> Any: ...
        def _revalue(self, rows: IntArray) -> None: ...
        def _sub_table(self, rows: IntArray) -> InstrumentTable: ...

        # recomputation.py
        def _prices(self) -> FloatArray: ...
        def _refresh(
            self,
            rows: IntArray,
            *,
            keys: IntArray | None = None,
            emit: bool = True,
            timestamp: int | None = None,
            find_worst: bool | None = None,
        ) -> None: ...
        def _every_row(self) -> IntArray: ...
        def _span_margins(self, rows: IntArray) -> None: ...
        def _fresh_worst(self, rows: IntArray) -> None: ...
        def _not_finite(self, row: int) -> ValueError: ...
        def _bound_refresh(self, keys: IntArray | None) -> Any: ...
        def _spans(self, rows: IntArray) -> tuple[IntArray, IntArray]: ...

        # update_guards.py
        def _transaction(self) -> Undo: ...
        def _out_of_order(self, key: str, timestamp: int) -> bool: ...
        def _in_order(self, key: str, timestamp: int | None) -> bool: ...
        def _instrument(self, name: Any) -> int: ...

        # market_updates.py
        def quotes(self, quotes: Sequence[IndexQuote | TickerQuote]) -> None: ...

        # account_updates.py
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
        ) -> None: ...
        def set_balance(
            self, account: Any, currency: str, balance: float, timestamp: int | None = None
        ) -> None: ...

        # engine_events.py
        def _emit(
            self, row: int, was: int, now: int, timestamp: int | None, captured: Captured | None = None
        ) -> None: ...
        def _emit_rows(
            self, rows: IntArray, was: list[int], timestamp: int | None, captured: Captured | None = None
        ) -> None: ...
        def _notify(self) -> None: ...

        # queries.py
        def _row(self, row: int) -> dict[str, Any]: ...
        def _figures_of(
            self, row: int, level: int, flat: list[float], worst_key: int, worst_index: int
        ) -> dict[str, Any]: ...
        def _columns(self, rows: IntArray) -> FigureColumns: ...
        def _figure_columns(
            self,
            rows: IntArray,
            block: FloatArray,
            worst_key: IntArray,
            worst_index: IntArray,
            worst_usd: FloatArray,
        ) -> FigureColumns: ...
        def _figures(
            self, rows: IntArray
        ) -> tuple[tuple[FloatArray, ...], tuple[FloatArray, ...], tuple[Any, ...]]: ...
