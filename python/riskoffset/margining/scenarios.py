"""The scenario engine: revalue every instrument once per scenario, then net.

A `ScenarioSet` moves, per scenario ``j``,

- every price of an underlying by a relative ``price_move[j]`` (one row per underlying, or one row for all):
  forwards and futures marks ``F -> F (1 + m)`` (all expiries move together), index and spot alike;
- every option's vol by ``vol_shift[j]`` scaled by a function of its time to expiry (`VolTerm`):
  ``relative``: ``sigma (1 + v f(d))``, ``absolute``: ``sigma + v f(d)``; shocked-up vols are floored at
  ``vol_floor_up`` and every shocked vol at ``vol_floor``;
- calendar time by ``time_shift[j]`` years (0 by default: an instantaneous shock);

and carries a ``weight[j]`` that methods apply to the scenario's P&L.

`scenario_pnl` builds the instrument x scenario P&L matrix ``P`` per unit of amount, in each instrument's
settlement currency, in full: one vectorised `riskoffset.price` call over options x (base + scenarios), closed
forms for futures and spot (inverse future, per USD of face: ``1/F - 1/F'``; linear future and spot, per coin:
``F' - F``; inverse option, per coin: ``B76(F')/F' - B76(F)/F``; linear option: ``B76(F') - B76(F)``).  The
optional delta-gamma-vega approximation replaces option revaluation by ``delta dF + gamma dF^2 / 2 + vega
dsigma + theta dt`` (Greeks of the same coin or quote-currency value) and reports its error against full
revaluation; the sum per account (and risk group) is the sparse product of `riskoffset.sparse`.

Why one module of ~480 lines: scenario sets, the P&L matrix and its netting per account are the three
steps of one engine, and the netting reads the scenario set's layout directly.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from .. import _core
from .._inputs import thread_count
from .._types import FloatArray, IntArray
from ..instruments import INVERSE, KIND_FUTURE, KIND_OPTION, KIND_PERPETUAL, KIND_SPOT, InstrumentTable
from ..market import Market, ResolvedMarket
from ..pricing import greeks as _greeks
from ..revaluation import invalid_scenario_input

DAYS_PER_YEAR = 365.0
VOL_MODES = ("relative", "absolute")
APPROXIMATIONS = ("full", "delta-gamma-vega")


@dataclass(frozen=True)
class VolTerm:
    """Scale of a vol shock with days to expiry ``d``: ``f(d) = (pivot_days / max(d, floor_days)) ** p`` with
    ``p = short_power`` below ``pivot_days`` and ``long_power`` from there on (both give 1 at the pivot):
    Deribit's vega power law."""

    short_power: float
    long_power: float
    pivot_days: float = 30.0
    floor_days: float = 1.0

    def factor(self, days: FloatArray) -> FloatArray:
        d = np.maximum(days, self.floor_days)
        power = np.where(days < self.pivot_days, self.short_power, self.long_power)
        return np.asarray((self.pivot_days / d) ** power, dtype=np.float64)


def _vector(name: str, values: Any, n: int | None) -> FloatArray:
    a = np.ascontiguousarray(values, dtype=np.float64)
    if a.ndim != 1 or (n is not None and len(a) != n):
        raise ValueError(f"{name} must be a 1-D array of {n} scenario values, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} must be finite")
    return a


class ScenarioLayout(NamedTuple):
    """A scenario set as the revaluation kernel reads it, column 0 the unshocked state: the distinct vol shifts
    (the vol states), which are up and which shocked, each scenario's state, the kernel's state per column
    (state k: the unshocked vol), its time shifts (None: none), its moves (None: one row per underlying) and
    the scenarios that move nothing."""

    shifts: FloatArray
    up: npt.NDArray[np.bool_]
    shocked: npt.NDArray[np.bool_]
    state_of_scenario: npt.NDArray[np.int32]
    vol_state: npt.NDArray[np.int32]
    time_shift: FloatArray | None
    move: FloatArray | None
    identity_flags: npt.NDArray[np.uint8] | None  # 1 where a scenario moves nothing (None: there is none)


class OptionColumns(NamedTuple):
    """Per option, what its full revaluation under a scenario set reads besides its vol (`revalue_options`):
    what a vol tick leaves alone (the live engine keeps them between ticks)."""

    flag: FloatArray  # +1 call, -1 put
    forward: FloatArray
    strike: FloatArray
    t: FloatArray
    inverse: FloatArray  # 1 coin-settled, 0 linear
    term: FloatArray  # the scale of the set's vol shocks at the option's expiry (`ScenarioSet.term_factor`)
    expired: npt.NDArray[np.bool_]

    @classmethod
    def of(
        cls, table: InstrumentTable, resolved: ResolvedMarket, options: IntArray, scenarios: ScenarioSet | None
    ) -> OptionColumns:
        """The columns of the options at rows ``options`` of ``table`` (``resolved`` its market columns);
        without a scenario set the shock scale is 1."""
        t = np.ascontiguousarray(resolved.t[options], dtype=np.float64)
        return cls(
            np.where(table.flag[options] > 0, 1.0, -1.0),
            np.ascontiguousarray(resolved.forward[options], dtype=np.float64),
            np.ascontiguousarray(table.strike[options], dtype=np.float64),
            t,
            (table.settlement[options] == INVERSE).astype(np.float64),
            np.ones(len(t)) if scenarios is None else np.ascontiguousarray(scenarios.term_factor(t), dtype=np.float64),
            np.asarray(resolved.expired[options], dtype=bool),
        )

    def at(self, rows: slice | IntArray) -> OptionColumns:
        """The columns of some of the options (views for a slice)."""
        return OptionColumns(
            self.flag[rows],
            self.forward[rows],
            self.strike[rows],
            self.t[rows],
            self.inverse[rows],
            self.term[rows],
            self.expired[rows],
        )


@dataclass(frozen=True)
class ScenarioSet:
    """Scenarios over underlyings (see the module doc).  ``price_move`` is ``(n,)`` for every underlying alike
    or ``(len(underlyings), n)``, one row per named underlying."""

    price_move: FloatArray
    vol_shift: FloatArray
    vol_mode: str = "relative"
    vol_term: VolTerm | None = None
    vol_floor_up: float = 0.0
    vol_floor: float = 0.0
    time_shift: FloatArray = field(default_factory=lambda: np.zeros(0))
    weight: FloatArray = field(default_factory=lambda: np.zeros(0))
    labels: tuple[str, ...] = ()
    underlyings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        move = np.ascontiguousarray(self.price_move, dtype=np.float64)
        if move.ndim not in (1, 2):
            raise ValueError(f"price_move must be (n,) or (underlyings, n), got shape {move.shape}")
        n = move.shape[-1]
        if move.ndim == 2 and move.shape[0] != len(self.underlyings):
            raise ValueError(f"price_move has {move.shape[0]} rows but {len(self.underlyings)} underlyings")
        if not np.isfinite(move).all() or (move <= -1).any():
            raise ValueError("price_move must be finite and > -1 (a price cannot fall by 100 % or more)")
        object.__setattr__(self, "price_move", move)
        object.__setattr__(self, "vol_shift", _vector("vol_shift", self.vol_shift, n))
        shift = np.zeros(n) if len(self.time_shift) == 0 else _vector("time_shift", self.time_shift, n)
        weight = np.ones(n) if len(self.weight) == 0 else _vector("weight", self.weight, n)
        object.__setattr__(self, "time_shift", shift)
        object.__setattr__(self, "weight", weight)
        if self.vol_mode not in VOL_MODES:
            raise ValueError(f"vol_mode must be one of {VOL_MODES}, got {self.vol_mode!r}")
        if not self.labels:
            object.__setattr__(self, "labels", tuple(self._label(j) for j in range(n)))
        elif len(self.labels) != n:
            raise ValueError(f"{len(self.labels)} labels for {n} scenarios")
        if not (self.vol_floor >= 0 and self.vol_floor_up >= 0):
            raise ValueError("vol floors must be >= 0")

    def __len__(self) -> int:
        return int(self.price_move.shape[-1])

    def _label(self, j: int) -> str:
        move = self.price_move[..., j]
        price = f"price {float(move):+.2%}" if move.ndim == 0 else "price per underlying"
        v = float(self.vol_shift[j])
        vol = "vol same" if v == 0 else f"vol {v:+.2%}" + (" rel" if self.vol_mode == "relative" else " abs")
        t = float(self.time_shift[j]) if len(self.time_shift) else 0.0
        return f"{price}, {vol}" + (f", +{t * DAYS_PER_YEAR:g} days" if t else "")

    @classmethod
    def grid(
        cls,
        price_moves: Sequence[float],
        vol_shifts: Sequence[float] = (0.0,),
        **options: Any,
    ) -> ScenarioSet:
        """Every price move with every vol shift (price-major: scenario ``i * len(vol_shifts) + k``)."""
        m = np.repeat(np.asarray(price_moves, dtype=np.float64), len(vol_shifts))
        v = np.tile(np.asarray(vol_shifts, dtype=np.float64), len(price_moves))
        return cls(price_move=m, vol_shift=v, **options)

    def moves_of_rows(self, table: InstrumentTable, rows: IntArray) -> FloatArray:
        """Price move of each given row of ``table`` in each scenario, shape (rows, n)."""
        if self.price_move.ndim == 1:
            return np.broadcast_to(self.price_move, (len(rows), len(self)))
        position = {u: k for k, u in enumerate(self.underlyings)}
        codes = np.full(len(table.underlyings), -1, dtype=np.int64)
        for k, u in enumerate(table.underlyings):
            codes[k] = position.get(u, -1)
        row_code = codes[table.underlying[rows]]
        if (row_code < 0).any():
            missing = sorted({table.underlyings[u] for u in table.underlying[rows][row_code < 0].tolist()})
            raise ValueError(f"the scenario set moves {list(self.underlyings)} but not {missing}")
        return self.price_move[row_code]

    def vol_states(self, sigma: FloatArray, t: FloatArray) -> tuple[FloatArray, npt.NDArray[np.int32]]:
        """(shocked vols, state): one column per distinct vol shift (Deribit: 3), shape (options, k), and
        each scenario's column in it (the form `riskoffset.revalue` reads)."""
        return self.shocked_states(sigma, self.term_factor(t)), self.layout.state_of_scenario

    def term_factor(self, t: FloatArray) -> FloatArray:
        """Scale of the vol shocks of options with ``t`` years to expiry (1 without a `VolTerm`)."""
        return np.ones(len(t)) if self.vol_term is None else self.vol_term.factor(t * DAYS_PER_YEAR)

    def shocked_states(self, sigma: FloatArray, term: FloatArray) -> FloatArray:
        """The vol of each option (``sigma``, its shock scale ``term`` from `term_factor`) in each vol state
        (the distinct vol shifts), shape (options, k) (the formula in the module doc, compiled: the same code
        as `revalue_options`)."""
        return np.asarray(
            _core.scenarios.shock_vols(
                np.ascontiguousarray(sigma, dtype=np.float64),
                np.ascontiguousarray(term, dtype=np.float64),
                self.layout.shifts,
                self.vol_mode == "relative",
                self.vol_floor_up,
                self.vol_floor,
            )
        )

    @functools.cached_property
    def layout(self) -> ScenarioLayout:
        """The scenario set in the form the revaluation kernel reads (built once per set)."""
        shifts, column = np.unique(self.vol_shift, return_inverse=True)
        state = column.reshape(-1).astype(np.int32)
        k = len(shifts)
        shift = self.time_shift
        return ScenarioLayout(
            shifts=shifts,
            up=shifts[None, :] > 0,
            shocked=shifts[None, :] != 0,
            state_of_scenario=state,
            vol_state=np.concatenate(([k], state)).astype(np.int32),
            time_shift=np.concatenate(([0.0], shift)) if shift.any() else None,
            move=np.concatenate(([0.0], self.price_move)) if self.price_move.ndim == 1 else None,
            identity_flags=_identity_columns(self).astype(np.uint8) if _identity_columns(self).any() else None,
        )

    def shocked_vol(self, sigma: FloatArray, t: FloatArray) -> FloatArray:
        """Vol of each option (rows of ``sigma``, ``t``) in each scenario, shape (rows, n)."""
        states, column = self.vol_states(sigma, t)
        return np.ascontiguousarray(states[:, column])


@dataclass(frozen=True)
class ScenarioPnL:
    """P&L per unit of amount of each instrument of ``table`` (rows) in each scenario (columns), in the
    instrument's settlement currency (coin for inverse, quote currency for linear).  With the
    delta-gamma-vega approximation and ``report_error``, ``error`` is approximation minus full revaluation
    and ``max_error`` its largest absolute value per instrument."""

    pnl: FloatArray
    table: InstrumentTable
    scenarios: ScenarioSet
    market: ResolvedMarket
    method: str = "full"
    error: FloatArray | None = None
    max_error: FloatArray | None = None


def _identity_columns(scenarios: ScenarioSet) -> npt.NDArray[np.bool_]:
    """Scenarios that move nothing (no price move for any underlying, no vol or time shift)."""
    moves = np.asarray(scenarios.price_move).reshape(-1, len(scenarios))  # one row, or one per underlying
    return np.asarray(
        (moves == 0).all(axis=0) & (scenarios.vol_shift == 0) & (scenarios.time_shift == 0),
        dtype=bool,
    )


def scenario_pnl(
    table: InstrumentTable,
    market: Market,
    scenarios: ScenarioSet,
    *,
    rows: npt.ArrayLike | None = None,
    method: str = "full",
    report_error: bool = False,
    resolved: ResolvedMarket | None = None,
    base: FloatArray | None = None,
) -> ScenarioPnL:
    """The instrument x scenario P&L matrix of ``table`` (or of its ``rows``; the result's table is then
    that sub-table) under ``scenarios`` (see the module doc).  method: "full" or "delta-gamma-vega".
    resolved: ``market.resolve(table)`` when the caller already has it (resolved once per margin call).
    base: with method "full", a (2, rows) array that receives each option's unshocked value and delta dV/dF
    from the same kernel pass (other rows are left as they are)."""
    if method not in APPROXIMATIONS:
        raise ValueError(f"method must be one of {APPROXIMATIONS}, got {method!r}")
    if resolved is None:
        resolved = market.resolve(table)
    if rows is None:
        row_index = np.arange(len(table), dtype=np.int64)
        sub, sub_market = table, resolved
    else:
        row_index = np.asarray(rows, dtype=np.int64).reshape(-1)
        sub = table.take(row_index)
        sub_market = _take_resolved(resolved, row_index)
    moves = scenarios.moves_of_rows(table, row_index)
    pnl = _closed_forms(sub.kind, sub.settlement, sub_market.forward, moves)
    options = np.flatnonzero(sub.kind == KIND_OPTION)
    error = max_error = None
    if len(options):
        option_rows = row_index[options]
        if scenarios.price_move.ndim == 1:
            groups = [(np.arange(len(options)), scenarios.price_move)]
        else:
            codes = table.underlying[option_rows]
            groups = [
                (idx, scenarios.moves_of_rows(table, option_rows[idx[:1]])[0])
                for idx in (np.flatnonzero(codes == u) for u in np.unique(codes).tolist())
            ]
        if method == "full":
            _options_full(sub, sub_market, market.rate, scenarios, options, groups, out=pnl, base=base)
        else:
            option_moves = scenarios.moves_of_rows(table, option_rows)
            approx = _options_dgv(sub, sub_market, market.rate, scenarios, options, option_moves)
            pnl[options] = approx
            if report_error:
                error = np.zeros_like(pnl)
                error[options] = approx - _options_full(
                    sub, sub_market, market.rate, scenarios, options, groups
                )
                max_error = np.abs(error).max(axis=1) if len(scenarios) else np.zeros(len(sub))
    elif method != "full" and report_error:
        error = np.zeros_like(pnl)
        max_error = np.zeros(len(sub))
    identity = _identity_columns(scenarios)
    if identity.any():
        pnl[:, identity] = 0.0  # the unshocked scenario is exactly flat
    return ScenarioPnL(pnl, sub, scenarios, sub_market, method, error, max_error)


def _take_resolved(resolved: ResolvedMarket, rows: IntArray) -> ResolvedMarket:
    return ResolvedMarket(
        forward=resolved.forward[rows],
        sigma=resolved.sigma[rows],
        t=resolved.t[rows],
        expired=resolved.expired[rows],
        forward_source=resolved.forward_source[rows],
        index=resolved.index[rows],
        valuation_time=resolved.valuation_time,
    )


def closed_form_pnl(
    table: InstrumentTable, resolved: ResolvedMarket, scenarios: ScenarioSet, rows: IntArray
) -> FloatArray:
    """`scenario_pnl`'s matrix for ``rows`` of ``table`` that hold no option (futures, perpetuals, spot),
    without building their sub-table: what a live update of a few futures reprices.  (A scenario that moves
    nothing gives exactly 0 here: nothing to set flat.)"""
    moves = scenarios.moves_of_rows(table, rows)
    return _closed_forms(table.kind[rows], table.settlement[rows], resolved.forward[rows], moves)


def _closed_forms(
    kind: npt.NDArray[Any], settlement: npt.NDArray[Any], forward: FloatArray, moves: FloatArray
) -> FloatArray:
    """P&L of futures, perpetuals and spot (``kind``, ``settlement`` and ``forward`` per row; options are
    filled in by the caller)."""
    pnl = np.zeros((len(kind), moves.shape[1]))
    futures = (kind == KIND_FUTURE) | (kind == KIND_PERPETUAL)
    inverse = settlement == INVERSE
    inv = np.flatnonzero(futures & inverse)
    if len(inv):
        # Per USD of face: coin P&L 1/F - 1/F' = (1 - 1/(1+m)) / F.
        pnl[inv] = (1.0 - 1.0 / (1.0 + moves[inv])) / forward[inv, None]
    lin = np.flatnonzero((futures & ~inverse) | (kind == KIND_SPOT))
    if len(lin):
        pnl[lin] = forward[lin, None] * moves[lin]
    return pnl


def _option_inputs(
    table: InstrumentTable, resolved: ResolvedMarket, options: IntArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    forward = resolved.forward[options]
    sigma = resolved.sigma[options]
    t = resolved.t[options]
    strike = table.strike[options]
    is_call = table.flag[options] > 0
    inverse = table.settlement[options] == INVERSE
    return forward, sigma, t, strike, is_call, inverse


def revalue_options(
    columns: OptionColumns,
    sigma: FloatArray,
    scenarios: ScenarioSet,
    rate: float,
    move: FloatArray | None = None,
    *,
    out: FloatArray | None = None,
    base: FloatArray | None = None,
    extended: tuple[int, FloatArray, FloatArray] | None = None,
    delta: FloatArray | None = None,
) -> FloatArray:
    """P&L of options (``columns``, their vols ``sigma``) under every scenario, shape (options, scenarios),
    in one compiled call: the vols shocked per state (`ScenarioSet.shocked_states`), the C++ scenario kernel
    (`riskoffset.revalue`) with column 0 of its pass the unshocked state (move 0, the mark vol, no time
    shift), so base and scenario values come from the same arithmetic, and the scenarios that move nothing set
    to exactly 0.  ``move``: the scenarios' moves (default the set's one row).  out: a C-contiguous array to
    fill.  base: a C-contiguous (2, options) array that receives the unshocked value in the quote currency
    and the delta dV/dF.  ``extended`` (n_standard, weight, convert): the columns from n_standard on are
    multiplied by weight and, coin-settled, by convert; ``delta``: receives dV/dF, minus V / F coin-settled,
    0 expired.  The bulk revaluation and the live engine's vol tick come here."""
    layout = scenarios.layout
    moves = layout.move if move is None else np.concatenate(([0.0], move))
    if moves is None:
        raise ValueError("the scenario set moves each underlying apart: pass the move of these options")
    n, m = len(sigma), len(moves)
    if out is None:
        out = np.empty((n, m - 1))
    if base is None:
        base = np.empty((2, n))
    n_standard, weight, convert = extended if extended is not None else (0, None, None)
    bad = _core.scenarios.option_scenarios(
        columns.flag,
        columns.forward,
        columns.strike,
        columns.t,
        columns.inverse,
        columns.term,
        sigma,
        layout.shifts,
        scenarios.vol_mode == "relative",
        scenarios.vol_floor_up,
        scenarios.vol_floor,
        layout.vol_state,
        moves,
        layout.time_shift,
        rate,
        thread_count(None, n * m),
        out,
        base,
        layout.identity_flags,
        n_standard,
        weight,
        convert,
        None if delta is None else columns.expired,
        delta,
    )
    if bad >= 0:
        raise invalid_scenario_input(int(bad), m)
    return out


def _options_full(
    table: InstrumentTable,
    resolved: ResolvedMarket,
    rate: float,
    scenarios: ScenarioSet,
    options: IntArray,
    groups: list[tuple[IntArray, FloatArray]],
    out: FloatArray | None = None,
    base: FloatArray | None = None,
) -> FloatArray:
    """Full revaluation of ``options`` (rows of table) under every scenario (`revalue_options`), one call per
    group of options that share a move vector (every option, or one underlying's).  The P&L goes into
    ``out[options]`` (rows of table) when ``out`` is given, else into a new array; ``base`` (2 x rows of
    table), when given, receives the options' unshocked value and delta dV/dF in its columns ``options``."""
    columns = OptionColumns.of(table, resolved, options, scenarios)
    sigma = np.ascontiguousarray(resolved.sigma[options], dtype=np.float64)
    if out is None:
        out, target = np.empty((len(options), len(scenarios))), np.arange(len(options))
    else:
        target = options
    for rows, move in groups:
        at = target[rows]
        block = len(at) > 0 and at[-1] - at[0] == len(at) - 1 and bool((np.diff(at) == 1).all())
        base_rows = None if base is None else np.empty((2, len(rows)))
        every = len(rows) == len(options)  # one group: the columns as they are, no gather
        pnl = revalue_options(
            columns if every else columns.at(rows),
            sigma if every else sigma[rows],
            scenarios,
            rate,
            move,
            out=out[at[0] : at[-1] + 1] if block else None,
            base=base_rows,
        )
        if not block:
            out[at] = pnl
        if base is not None and base_rows is not None:
            base[:, options[rows]] = base_rows
    return out


def _options_dgv(
    table: InstrumentTable,
    resolved: ResolvedMarket,
    rate: float,
    scenarios: ScenarioSet,
    options: IntArray,
    moves: FloatArray,
) -> FloatArray:
    forward, sigma, t, strike, is_call, inverse = _option_inputs(table, resolved, options)
    out = np.empty(moves.shape)
    d_sigma = scenarios.shocked_vol(sigma, t) - sigma[:, None]
    d_forward = forward[:, None] * moves
    dt = scenarios.time_shift[None, :]
    for settled, sel in (("inverse", inverse), ("linear", ~inverse)):
        if not sel.any():
            continue
        g = _greeks(
            is_call[sel],
            forward[sel],
            strike[sel],
            t[sel],
            rate,
            sigma[sel],
            settlement=settled,
            greeks=("delta", "gamma", "vega", "theta"),
        )
        delta, gamma, vega, theta = (np.asarray(g[k])[:, None] for k in ("delta", "gamma", "vega", "theta"))
        df = d_forward[sel]
        # theta is dV/dt with calendar time running forward (per year), so a shift of dt years adds theta dt.
        out[sel] = (
            delta * df + 0.5 * gamma * df * df + vega * d_sigma[sel] + theta * np.minimum(dt, t[sel, None])
        )
    return out


# The sum L = Q . P per account (and risk group) is the one sparse product of riskoffset.sparse.
