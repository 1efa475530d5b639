"""`Repricing`: `RiskEngine`'s per-instrument values (an option's value and delta, a future's mark, the margin
method's per-instrument inputs) and their repricing when quotes move: a coin's instruments through the full
revaluation, one option's vol tick on the columns its last pricing kept.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from .._types import IntArray
from ..accounts.deltas import unit_deltas
from ..instruments import INVERSE, KIND_FUTURE, KIND_OPTION, KIND_PERPETUAL, InstrumentTable
from ..margining.grid import instrument_scenarios, underlying_index
from ..margining.portfolio import bind_option_reprice, key_matrix_at, option_vectors, vectors_of_rows
from ..margining.scenarios import OptionColumns, ScenarioSet, revalue_options
from ..margining.standard import UnitMargins, option_unit_margins, unit_margins
from ..unit_greeks import instrument_greeks, instrument_values, option_greeks, premium_adjusted
from .engine_state import EngineState
from .undo import Undo

# The margin methods whose per-instrument inputs read more than the values and deltas (`_write_values`).
_GREEKS_READERS = ("deribit-standard", "grid")


class Repricing(EngineState):
    """Per-instrument values kept current (module doc)."""

    def _reset_option_cache(self) -> None:
        """Forget what the options' vol ticks reuse (`_cache_options`)."""
        n = len(self.table)
        zeros = np.zeros
        self._option_columns = OptionColumns(
            zeros(n), zeros(n), zeros(n), zeros(n), zeros(n), zeros(n), zeros(n, dtype=bool)
        )
        self._stamps = [None] * n
        self._base_pass = np.empty((2, 1))  # the unshocked value and dV/dF of the option of a vol tick
        self._option_views = {}

    def _cache_options(self, rows: IntArray, sub: InstrumentTable, resolved: Any) -> dict[int, OptionColumns]:
        """Keep, per option of ``rows`` (``sub`` their table, ``resolved`` their market columns), what its vol
        tick leaves alone (`scenarios.OptionColumns`), stamped with what its forward and time resolved from
        (`Market.forward_stamp`): a vol tick reprices the option on them while the stamp holds.  Returns the
        columns per underlying code of ``sub`` (what `vectors_of_rows` reads for all of ``sub``'s rows)."""
        built: dict[int, OptionColumns] = {}
        for code, mine in sub.options_by_underlying():
            base = sub.underlyings[code]
            scenarios = self._shock_scenarios(base)
            columns = built[code] = OptionColumns.of(sub, resolved, mine, scenarios)
            at = rows[mine]
            for kept, column in zip(self._option_columns, columns):
                kept[at] = column
            stamp, stamps = self.market.forward_stamp(base), self._stamps
            for r in at.tolist():
                stamps[r] = stamp
        return built

    def _shock_scenarios(self, base: str) -> ScenarioSet | None:
        """The scenario set whose vol shocks the kept option columns of ``base`` scale (`OptionColumns.term`): the
        PM pair's, the grid's, or none."""
        if self.pm:
            return self._p.scenarios(self._p.pair(base))
        return self._grid.grid.scenarios if self._grid is not None else None

    def _write_values(self, rows: IntArray, sub: InstrumentTable, resolved: Any) -> Any:
        """The values, deltas and marks of the instruments ``rows`` (``sub`` their table, ``resolved`` their
        market columns); returns their `instrument_greeks` where standard margin or a grid reads them, else None
        (the values and deltas alone, `instrument_values`: the other measures took about 25 us of the sample
        venue's 630 us index tick)."""
        if self.method not in _GREEKS_READERS:
            g = None
            value, delta_pa = instrument_values(sub, self.market, resolved)
        else:
            g = instrument_greeks(sub, self.market, resolved)
            coin = sub.settlement == INVERSE
            value = np.where(sub.kind == KIND_OPTION, np.where(coin, g["value_coin"], g["value_usd"]), 0.0)
            delta_pa = g["delta_pa"]
        self._unit_value[rows] = value
        self._unit_delta[rows] = unit_deltas(sub, delta_pa)
        futures = (sub.kind == KIND_FUTURE) | (sub.kind == KIND_PERPETUAL)
        self._mark[rows] = np.where(futures, resolved.forward, math.nan)
        return g

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
                self._inputs = dataclasses.replace(self._inputs, key_matrix=key_matrix_at(self._inputs.key_matrix, index))

    def _sub_table(self, rows: IntArray) -> InstrumentTable:
        """The instrument table's rows ``rows`` (kept: a tick of a coin reprices the same rows every time)."""
        key = rows.tobytes()
        sub = self._sub_tables.get(key)
        if sub is None:
            if len(self._sub_tables) >= 256:
                self._sub_tables.clear()
            sub = self._sub_tables[key] = self.table.take(rows)
        return sub
