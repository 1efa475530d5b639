"""Margin from a user-defined scenario grid, and the Paradex-style 24-scenario preset.

A grid is a set of scenarios, each a relative price move per underlying (or one for all), a vol shift
(relative ``sigma (1 + v f(d))`` or absolute ``sigma + v f(d)``, with an optional term factor ``f`` of the
days to expiry, `riskoffset.margining.scenarios.VolTerm`), an optional calendar-time shift and a weight.  The
book is revalued in full through the scenario engine (`riskoffset.margining.scenarios`): every instrument once
per scenario (one vectorised pricing call over instruments x scenarios), then ``L = Q . P`` over the book's
CSR positions, per account and settlement currency (a coin-settled group in coin, a linear one in its
quote currency).  The sums and every step below run in one C++ pass over the positions
(``_core.margin.grid_margin_accounts``); the result holds the groups as columns (`GroupMargins`).  Per group:

- scan risk ``= max(0, max_j w_j (-L_j))``, the worst weighted loss, with its scenario;
- optional minimum delta requirement (Paradex): ``(net_rate |net delta| + hedged_rate (gross - |net|)) x
  index`` per underlying, gross = sum of |position deltas| (coin deltas: plain Black-76 for linear options,
  premium-adjusted for inverse ones; divided by the index for a coin group);
- ``net = max(scan, min delta)``; initial = net + funding provision + fee provision; maintenance =
  ``maintenance_ratio`` x net + provisions (provisions are amounts given by the caller; 0 by default).

Parameters are data: the Paradex preset is ``riskoffset/data/margin/paradex_DATE.json`` with its source
and the two readings the published table does not give (DTE floor, vol shock of the extended
scenarios) marked unverified; a user grid is a mapping or JSON file of the same form (``scenarios``: a list
of ``{"price_move", "vol_shift", "weight", "time_shift_days", "label"}``, where ``price_move`` may be a
mapping underlying -> move), or a `ScenarioSet`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .. import _core
from .._types import FloatArray, IntArray
from ..book import Book, instrument_greeks
from ..instruments import INVERSE
from ..market import Market
from .columns import CALIBRATION_ORDER, GroupMargins
from .parameters import ParameterError, describe, load, number, section
from .result import MarginResult
from .scenarios import DAYS_PER_YEAR, ScenarioSet, VolTerm, scenario_pnl

PRESETS = ("paradex",)
USD_LIKE = {"USD", "USDC", "USDT"}


@dataclass(frozen=True)
class MarginGrid:
    """A scenario grid and how its losses become a requirement (see the module doc)."""

    scenarios: ScenarioSet
    name: str = "grid"
    source: str = "user-defined grid"
    maintenance_ratio: float = 1.0
    min_delta_net_rate: float = 0.0
    min_delta_hedged_rate: float = 0.0
    funding_provision: float = 0.0
    fee_provision: float = 0.0
    preset: bool = False  # a published preset whose readings are partly unverified -> "candidate"

    @property
    def min_delta(self) -> bool:
        """Whether the grid has a minimum delta requirement."""
        return self.min_delta_net_rate > 0 or self.min_delta_hedged_rate > 0

    def __post_init__(self) -> None:
        for name in ("maintenance_ratio", "min_delta_net_rate", "min_delta_hedged_rate"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be finite and >= 0, got {v!r}")
        if (self.scenarios.weight < 0).any():
            raise ValueError("scenario weights must be >= 0")


# ---------------------------------------------------------------------------------------------- parameters
def _scenarios_from_doc(doc: Mapping[str, Any], where: str) -> ScenarioSet:
    vol_mode = str(doc.get("vol_mode", "relative"))
    term = None
    if "vol_term" in doc and doc["vol_term"] is not None:
        t = section(doc, "vol_term", where)
        w = f"{where}.vol_term"
        term = VolTerm(
            short_power=number(t, "short_power", w),
            long_power=number(t, "long_power", w),
            pivot_days=number(t, "pivot_days", w, minimum=0.0, default=30.0),
            floor_days=number(t, "floor_days", w, minimum=0.0, default=1.0),
        )
    rows = doc.get("scenarios")
    if not isinstance(rows, Sequence) or isinstance(rows, str) or not rows:
        raise ParameterError(f"{where}: 'scenarios' must be a non-empty list of scenario objects")
    moves: list[Any] = []
    vols: list[float] = []
    weights: list[float] = []
    shifts: list[float] = []
    labels: list[str] = []
    for j, s in enumerate(rows):
        w = f"{where}.scenarios[{j}]"
        if not isinstance(s, Mapping):
            raise ParameterError(f"{w}: expected an object, got {s!r}")
        move = s.get("price_move")
        if isinstance(move, Mapping):
            moves.append({str(k): number(move, k, f"{w}.price_move", minimum=-0.999999) for k in move})
        else:
            moves.append(number(s, "price_move", w, minimum=-0.999999))
        vols.append(number(s, "vol_shift", w, default=0.0))
        weights.append(number(s, "weight", w, minimum=0.0, default=1.0))
        shifts.append(number(s, "time_shift_days", w, minimum=0.0, default=0.0) / DAYS_PER_YEAR)
        label = s.get("label")
        labels.append(str(label) if label else _label(moves[-1], vols[-1], vol_mode, weights[-1], shifts[-1]))
    per_underlying = [m for m in moves if isinstance(m, dict)]
    if per_underlying:
        if len(per_underlying) != len(moves):
            raise ParameterError(f"{where}: give price_move per underlying in every scenario or in none")
        unders = sorted(set().union(*per_underlying))
        missing = [(j, u) for j, m in enumerate(per_underlying) for u in unders if u not in m]
        if missing:
            j, u = missing[0]
            raise ParameterError(f"{where}.scenarios[{j}].price_move: no move for {u!r}")
        price = np.array([[m[u] for m in per_underlying] for u in unders], dtype=np.float64)
        return ScenarioSet(
            price_move=price, vol_shift=np.array(vols), vol_mode=vol_mode, vol_term=term,
            time_shift=np.array(shifts), weight=np.array(weights), labels=tuple(labels), underlyings=tuple(unders),
        )  # fmt: skip
    return ScenarioSet(
        price_move=np.array(moves, dtype=np.float64), vol_shift=np.array(vols), vol_mode=vol_mode,
        vol_term=term, time_shift=np.array(shifts), weight=np.array(weights), labels=tuple(labels),
    )  # fmt: skip


def _label(move: Any, vol: float, mode: str, weight: float, shift: float) -> str:
    price = (
        "price " + ", ".join(f"{u} {m:+.4g}" for u, m in move.items())
        if isinstance(move, dict)
        else f"price {100 * move:+.4g} %"
    )
    v = "vol same" if vol == 0 else f"vol {100 * vol:+.4g} %" + (" rel" if mode == "relative" else " abs")
    out = f"{price}, {v}"
    if shift:
        out += f", +{shift * DAYS_PER_YEAR:g} days"
    if weight != 1.0:
        out += f" (weight {weight:g})"
    return out


def grid_from_document(doc: Mapping[str, Any], origin: str = "grid") -> MarginGrid:
    """A MarginGrid from a parsed grid document (the JSON form of the module doc)."""
    scenarios = _scenarios_from_doc(doc, origin)
    md = doc.get("min_delta")
    net_rate = hedged_rate = 0.0
    if md is not None:
        m = section(doc, "min_delta", origin)
        net_rate = number(m, "net_rate", f"{origin}.min_delta", minimum=0.0)
        hedged_rate = number(m, "hedged_rate", f"{origin}.min_delta", minimum=0.0, default=0.0)
    return MarginGrid(
        scenarios=scenarios,
        name=str(doc.get("name", "grid")),
        source=describe(doc, origin),
        maintenance_ratio=number(doc, "maintenance_ratio", origin, minimum=0.0, default=1.0),
        min_delta_net_rate=net_rate,
        min_delta_hedged_rate=hedged_rate,
        funding_provision=number(doc, "funding_provision", origin, default=0.0),
        fee_provision=number(doc, "fee_provision", origin, default=0.0),
        preset=str(doc.get("name", "")).startswith(PRESETS),
    )


def paradex_grid() -> MarginGrid:
    """The bundled Paradex-style 24-scenario preset (latest dated file)."""
    doc, origin = load("paradex", "paradex")
    return grid_from_document(doc, origin)


def load_grid(params: Any) -> MarginGrid:
    """MarginGrid from None (the Paradex preset), a MarginGrid, a ScenarioSet, a preset name, a JSON path or a
    mapping (a grid document, optionally with overrides funding_provision / fee_provision)."""
    if params is None:
        return paradex_grid()
    if isinstance(params, MarginGrid):
        return params
    if isinstance(params, ScenarioSet):
        return MarginGrid(params)
    if isinstance(params, (str, Path)):
        doc, origin = load(params, "paradex")
        return grid_from_document(doc, origin)
    if isinstance(params, Mapping):
        if "scenarios" in params:
            return grid_from_document(params, "grid parameters")
        grid = load_grid(params.get("grid", params.get("preset")))
        if "funding_provision" in params:
            grid = replace(grid, funding_provision=float(params["funding_provision"]))
        if "fee_provision" in params:
            grid = replace(grid, fee_provision=float(params["fee_provision"]))
        return grid
    raise TypeError(
        f"grid params must be a preset name, path, mapping, MarginGrid or ScenarioSet, not {type(params).__name__}"
    )


# ---------------------------------------------------------------------------------------------- margin
@dataclass(frozen=True)
class GridInputs:
    """What the C++ grid pass reads that does not depend on the accounts (instruments revalued once): per
    instrument its settlement-currency code and scenario P&L per unit, and for the minimum delta requirement
    its coin delta and underlying, with each underlying's index."""

    grid: MarginGrid
    currencies: tuple[str, ...]
    instrument_key: IntArray
    pnl: FloatArray  # instruments x scenarios, per unit of amount
    usd_rate: FloatArray  # per currency (NaN: unknown)
    delta: FloatArray | None  # None: no minimum delta requirement
    underlying: IntArray
    index: FloatArray  # per underlying

    def run(
        self, indptr: IntArray, indices: IntArray, quantity: FloatArray, *, keep_vectors: bool = False
    ) -> dict[str, Any]:
        """The pass over a CSR book: per (account, currency) group its scan risk and scenario, minimum delta
        requirement, IM and MM (with ``keep_vectors`` its scenario P&L too)."""
        grid = self.grid
        usd_like = np.array([c in USD_LIKE for c in self.currencies], dtype=np.uint8)
        with_delta = self.delta is not None
        return dict(
            _core.margin.grid_margin_accounts(
                indptr,
                indices,
                quantity,
                self.instrument_key,
                len(self.currencies),
                self.pnl,
                grid.scenarios.weight,
                grid.maintenance_ratio,
                grid.funding_provision + grid.fee_provision,
                self.delta,
                self.underlying if with_delta else None,
                self.index if with_delta else None,
                usd_like if with_delta else None,
                grid.min_delta_net_rate,
                grid.min_delta_hedged_rate,
                keep_vectors,
            )
        )


def grid_inputs(book: Book, market: Market, params: Any = None) -> GridInputs:
    """The instruments of ``book`` revalued once under the grid of ``params`` (see `GridInputs`)."""
    grid = load_grid(params)
    table = book.instruments
    resolved = market.resolve(table)  # once for the whole call
    with_delta = grid.min_delta and len(book) > 0
    if with_delta:
        index = underlying_index(table, resolved)
        held = np.unique(table.underlying[book.held_rows()])
        missing = held[~np.isfinite(index[held])]
        if len(missing):
            raise ValueError(
                f"minimum delta requirement: no index price for {table.underlyings[int(missing[0])]}"
            )
    return table_grid_inputs(table, market, grid, resolved, with_delta=with_delta)


def table_grid_inputs(table: Any, market: Market, grid: MarginGrid, resolved: Any, *, with_delta: bool) -> GridInputs:
    """`GridInputs` of every instrument of ``table`` (``resolved``: its market columns), with the minimum delta
    requirement's deltas when ``with_delta``."""
    pnl, delta = instrument_scenarios(table, market, grid, resolved, with_delta=with_delta)
    currency_of_row = [inst.settlement_currency for inst in table]
    currencies = tuple(sorted(set(currency_of_row)))
    code = {c: k for k, c in enumerate(currencies)}
    key = np.array([code[c] for c in currency_of_row], dtype=np.int64)
    usd_rate = np.array([_usd_rate(c, table, resolved.index) for c in currencies], dtype=float)
    return GridInputs(
        grid=grid,
        currencies=currencies,
        instrument_key=key,
        pnl=pnl,
        usd_rate=usd_rate,
        delta=delta,
        underlying=table.underlying.astype(np.int64),
        index=underlying_index(table, resolved),
    )


def instrument_scenarios(
    table: Any, market: Market, grid: MarginGrid, resolved: Any, *, with_delta: bool, greeks: Any = None
) -> tuple[FloatArray, FloatArray | None]:
    """Per instrument of ``table`` (``resolved``: its market columns): its P&L in each scenario of ``grid`` per unit
    of amount (instruments x scenarios, C order) and, with ``with_delta``, the coin delta the minimum delta
    requirement counts (plain Black-76 for a linear option, premium-adjusted for an inverse one); else None.
    ``greeks``: the table's `instrument_greeks` when the caller has them already."""
    pnl = np.ascontiguousarray(scenario_pnl(table, market, grid.scenarios, resolved=resolved).pnl, dtype=np.float64)
    if not with_delta:
        return pnl, None
    g = greeks if greeks is not None else instrument_greeks(table, market, resolved)
    delta = np.asarray(np.where(table.settlement == INVERSE, g["delta_pa"], g["delta"]), dtype=np.float64)
    return pnl, delta


def underlying_index(table: Any, resolved: Any) -> FloatArray:
    """Per underlying code of ``table``, its index price (``resolved``: the table's market columns; NaN for an
    underlying without a row; one entry for a table without underlyings)."""
    n_u = max(len(table.underlyings), 1)
    index = np.full(n_u, np.nan)
    codes = np.asarray(table.underlying)
    if len(codes):
        unique, first = np.unique(codes, return_index=True)
        index[unique] = np.asarray(resolved.index)[first]
    return index


def grid_margins(book: Book, market: Market, params: Any = None) -> GroupMargins:
    """Grid margin of every (account, settlement currency) group of ``book`` as columns (module doc): the
    instruments revalued once, then one C++ pass over the positions; a group's full `MarginResult` (with its
    scenario P&L) is built only when it is looked at."""
    inputs = grid_inputs(book, market, params)
    columns = inputs.run(book.indptr, book.indices, book.quantity)
    return _group_margins(book, inputs, columns)


def _group_margins(book: Book, inputs: GridInputs, columns: dict[str, Any]) -> GroupMargins:
    grid = inputs.grid
    key, scan, min_delta = columns["key"], columns["scan"], columns["min_delta"]
    bad = ~(np.isfinite(columns["initial"]) & np.isfinite(columns["maintenance"]))
    if bad.any():
        g = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"grid: account {_plain(book.accounts[int(columns['account'][g])])!r}, group "
            f"{inputs.currencies[int(key[g])]}: the margin is not a finite number (check the market's prices and "
            "vols for this account's instruments)"
        )
    n = len(key)
    rank = {name: i for i, name in enumerate(CALIBRATION_ORDER)}
    calib = rank["candidate" if grid.preset else "exact"]
    labels = grid.scenarios.labels
    def full_result(columns: GroupMargins, row: int) -> MarginResult:
        return _row_result(book, inputs, columns, row)

    return GroupMargins(
        method="grid",
        parameters_source=grid.source,
        accounts=book.accounts,
        account=columns["account"],
        group_names=inputs.currencies,
        group=key,
        currencies=inputs.currencies,
        currency=key,
        initial=columns["initial"],
        maintenance=columns["maintenance"],
        usd_rate=inputs.usd_rate[key],
        components={
            "scan_risk": scan,
            "min_delta_excess": np.maximum(0.0, min_delta - scan),
            "funding_provision": np.full(n, grid.funding_provision),
            "fee_provision": np.full(n, grid.fee_provision),
        },
        calibration={
            "scan_risk": np.full(n, calib, dtype=np.int64),
            "min_delta_excess": np.full(n, calib, dtype=np.int64),
            "funding_provision": np.full(n, rank["candidate"], dtype=np.int64),
            "fee_provision": np.full(n, rank["candidate"], dtype=np.int64),
        },
        worst_index=columns["worst_index"],
        worst_pnl=columns["worst_pnl"],
        worst_description=lambda row, j: labels[j] if j >= 0 else "",
        row_result=full_result,
    )


def _row_result(book: Book, inputs: GridInputs, columns: GroupMargins, g: int) -> MarginResult:
    """Row ``g`` with its details: the pass rerun on its account (the same kernel, so the same bits) keeps the
    group's scenario P&L."""
    a = int(columns.account[g])
    s, e = int(book.indptr[a]), int(book.indptr[a + 1])
    one = inputs.run(
        np.array([0, e - s], dtype=np.int64), book.indices[s:e], book.quantity[s:e], keep_vectors=True
    )
    row = int(np.flatnonzero(one["key"] == columns.group[g])[0])
    pnl = one["pnl"][row]
    base = columns.result_from_columns(g)
    details = {
        **base.details,
        "grid": inputs.grid.name,
        "scenario_pnl": pnl.tolist(),
        "weighted_loss": (-pnl * inputs.grid.scenarios.weight).tolist(),
        "min_delta_requirement": float(one["min_delta"][row]),
        "net_requirement": float(one["required"][row]),
    }
    return dataclasses.replace(base, details=details)


def grid_margin(book: Book, market: Market, params: Any = None) -> MarginResult:
    """Initial and maintenance margin of every (account, settlement currency) group of ``book`` under a
    scenario grid (see the module doc): one group's result as is, else their sum with the rows as columns in
    ``groups`` (a `GroupMargins`)."""
    return grid_margins(book, market, params).total()


def _usd_rate(currency: str, table: Any, index: FloatArray) -> float | None:
    if currency in USD_LIKE:
        return 1.0
    if currency in table.underlyings:
        rows = np.flatnonzero(table.underlying == table.underlyings.index(currency))
        if len(rows) and np.isfinite(index[rows[0]]):
            return float(index[rows[0]])
    return None


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
