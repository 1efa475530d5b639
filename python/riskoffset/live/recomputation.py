"""`Recomputation`: `RiskEngine`'s accounts recomputed after an update in one compiled pass over their positions
(`riskoffset._core.margin.LiveRefresh`), bound to the engine's arrays and rebound only when one of them is
replaced; the USD prices and coin moves that pass reads, and the worst scenarios it leaves to the queries.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from .. import _core
from .._types import FloatArray, IntArray
from ..accounts.scenario_collateral import coin_moves_at, coin_unit_moves
from ..accounts.view import usd_prices
from ..margining.grid import USD_LIKE, GridInputs
from .engine_state import EngineState
from .span_margins import SpanInputs

# The PM inputs an index move replaces (`RiskEngine._pm_arrays`): the bound refresh takes them in place.
_MARKET_INPUTS = frozenset({"keys", "key_rate", "coin_moves", "coin_col", "coin_gain_cap"})


def _market_moved_only(was: dict[str, Any] | None, now: dict[str, Any] | None) -> bool:
    """Whether the PM inputs ``now`` are those ``was`` but for the market's (`_MARKET_INPUTS`)."""
    if was is None or now is None:
        return was is now
    return was.keys() == now.keys() and all(was[k] is now[k] for k in was if k not in _MARKET_INPUTS)


class Recomputation(EngineState):
    """The accounts' figures recomputed by the compiled refresh (module doc)."""

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
        # (the call marks in `_worst_stale` the keys whose worst scenario it leaves to the queries, clears those it
        # searched; with emit, it captures the accounts whose level changes for their events, while in cache)
        bad, moved, before, captured = self._bound_refresh(keys)(
            starts, ends, p.indices, p.quantity, p.average, rows, find_worst, self.TOP_CONTRIBUTORS if emit else 0,
            p.trusted,
        )
        p.trusted = p.trusted or every  # (a refresh of every account checked every segment)
        if bad >= 0:
            raise self._not_finite(bad)
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
        # (the compiled pass clears their marks in `_worst_stale` as it searches them)
        bad, _, _, _ = self._bound_refresh(None)(starts, ends, p.indices, p.quantity, p.average, stale, True)
        if bad >= 0:
            raise self._not_finite(bad)

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
        grid_keys = segments = None
        if keys is not None and not self.pm:  # (`_keys_of_rows`: a grid's currency columns, the cells' segments)
            keys = np.asarray(keys, dtype=np.int64)
            k = len(self.currencies) if self._grid is not None else 0
            if self._grid is not None:
                grid_keys = np.zeros(k, dtype=np.uint8)
                grid_keys[keys[keys < k]] = 1
            if self._cells is not None:
                segments = np.zeros(int(self._cells.segment.max()) + 1, dtype=np.uint8)
                segments[keys[keys >= k] - k] = 1
        refresh = self._bind_refresh(
            *parts, cut_im=cut_im, cut_mm=cut_mm, threads=self.threads, grid_keys=grid_keys, segments=segments
        )
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
