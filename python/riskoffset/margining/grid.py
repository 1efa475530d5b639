"""Margin from a user-defined scenario grid, and the Paradex-style 24-scenario preset.

A grid is a set of scenarios, each a relative price move per underlying (or one for all), a vol shift
(relative ``sigma (1 + v f(d))`` or absolute ``sigma + v f(d)``, with an optional term factor ``f`` of the
days to expiry, `riskoffset.margining.scenarios.VolTerm`), an optional calendar-time shift and a weight.  The
book is revalued in full through the scenario engine (`riskoffset.margining.scenarios`): every instrument once
per scenario (one vectorised pricing call over instruments x scenarios), then ``L = Q . P`` over the book's
CSR positions, per account and settlement currency (a coin-settled group in coin, a linear one in its
quote currency).  Per group:

- scan risk ``= max(0, max_j w_j (-L_j))``, the worst weighted loss, with its scenario;
- optional minimum delta requirement (Paradex): ``(net_rate |net delta| + hedged_rate (gross - |net|)) x
  index`` per underlying, gross = sum of |position deltas| (coin deltas: plain Black-76 for linear options,
  premium-adjusted for inverse ones; divided by the index for a coin group);
- ``net = max(scan, min delta)``; initial = net + funding provision + fee provision; maintenance =
  ``maintenance_ratio`` x net + provisions (provisions are amounts given by the caller; 0 by default).

Parameters are data: the Paradex preset is ``riskoffset/data/margin/paradex_DATE.json`` with its source
and the two readings that are not printed on Paradex's page (DTE floor, vol shock of the extended
scenarios) marked unverified; a user grid is a mapping or JSON file of the same form (``scenarios``: a list
of ``{"price_move", "vol_shift", "weight", "time_shift_days", "label"}``, where ``price_move`` may be a
mapping underlying -> move), or a `ScenarioSet`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .._types import FloatArray
from ..book import Book, instrument_greeks
from ..instruments import INVERSE
from ..market import Market
from ..sparse import account_pnl
from .parameters import ParameterError, describe, load, number, section
from .result import Calibration, MarginResult, WorstScenario, aggregate
from .scenarios import DAYS_PER_YEAR, ScenarioSet, VolTerm, scenario_pnl

PRESETS = ("paradex",)
USD_LIKE = {"USD", "USDC", "USDT"}


@dataclass(frozen=True)
class GridSpec:
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


def grid_from_document(doc: Mapping[str, Any], origin: str = "grid") -> GridSpec:
    """A GridSpec from a parsed grid document (the JSON form of the module doc)."""
    scenarios = _scenarios_from_doc(doc, origin)
    md = doc.get("min_delta")
    net_rate = hedged_rate = 0.0
    if md is not None:
        m = section(doc, "min_delta", origin)
        net_rate = number(m, "net_rate", f"{origin}.min_delta", minimum=0.0)
        hedged_rate = number(m, "hedged_rate", f"{origin}.min_delta", minimum=0.0, default=0.0)
    return GridSpec(
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


def paradex_grid() -> GridSpec:
    """The bundled Paradex-style 24-scenario preset (latest dated file)."""
    doc, origin = load("paradex", "paradex")
    return grid_from_document(doc, origin)


def load_grid(params: Any) -> GridSpec:
    """GridSpec from None (the Paradex preset), a GridSpec, a ScenarioSet, a preset name, a JSON path or a
    mapping (a grid document, optionally with overrides funding_provision / fee_provision)."""
    if params is None:
        return paradex_grid()
    if isinstance(params, GridSpec):
        return params
    if isinstance(params, ScenarioSet):
        return GridSpec(params)
    if isinstance(params, (str, Path)):
        doc, origin = load(params, "paradex")
        return grid_from_document(doc, origin)
    if isinstance(params, Mapping):
        if "scenarios" in params:
            return grid_from_document(params, "grid parameters")
        spec = load_grid(params.get("grid", params.get("preset")))
        if "funding_provision" in params:
            spec = replace(spec, funding_provision=float(params["funding_provision"]))
        if "fee_provision" in params:
            spec = replace(spec, fee_provision=float(params["fee_provision"]))
        return spec
    raise TypeError(
        f"grid params must be a preset name, path, mapping, GridSpec or ScenarioSet, not {type(params).__name__}"
    )


# ---------------------------------------------------------------------------------------------- margin
def grid_margin(book: Book, market: Market, params: Any = None) -> MarginResult:
    """Initial and maintenance margin of every (account, settlement currency) group of ``book`` under a
    scenario grid, aggregated (see the module doc); one group's result as is."""
    spec = load_grid(params)
    table = book.instruments
    scen = spec.scenarios
    resolved = market.resolve(table)  # once for the whole call
    pnl = scenario_pnl(table, market, scen, resolved=resolved).pnl  # instruments x scenarios, per unit
    items = list(table)
    currency_of_row = [inst.settlement_currency for inst in items]
    currencies = sorted(set(currency_of_row))
    code = {c: k for k, c in enumerate(currencies)}
    key = np.array([code[c] for c in currency_of_row], dtype=np.int64)
    groups = account_pnl(book, pnl, key, len(currencies))

    # coin deltas per unit of amount, for the minimum delta requirement
    delta_req = spec.min_delta_net_rate > 0 or spec.min_delta_hedged_rate > 0
    per_group_delta: dict[tuple[int, int], float] = {}
    if delta_req and len(book):
        g = instrument_greeks(table, market, resolved)
        delta = np.where(table.settlement == INVERSE, g["delta_pa"], g["delta"])
        account_row = np.repeat(np.arange(len(book.accounts), dtype=np.int64), np.diff(book.indptr))
        idx = book.indices
        pos_delta = book.quantity * delta[idx]
        under = table.underlying[idx].astype(np.int64)
        n_u = max(len(table.underlyings), 1)
        combo = (account_row * len(currencies) + key[idx]) * n_u + under
        uniq, inv = np.unique(combo, return_inverse=True)
        net = np.bincount(inv, weights=pos_delta, minlength=len(uniq))
        gross = np.bincount(inv, weights=np.abs(pos_delta), minlength=len(uniq))
        index_of_under = np.zeros(n_u)
        for u in range(len(table.underlyings)):
            rows = np.flatnonzero(table.underlying == u)
            index_of_under[u] = resolved.index[rows[0]] if len(rows) else np.nan
        for c, nt, gr in zip(uniq.tolist(), net.tolist(), gross.tolist()):
            group_code, u = divmod(c, n_u)
            a, k = divmod(group_code, len(currencies))
            usd = (
                spec.min_delta_net_rate * abs(nt) + spec.min_delta_hedged_rate * max(gr - abs(nt), 0.0)
            ) * float(index_of_under[u])
            if not np.isfinite(usd):
                raise ValueError(f"minimum delta requirement: no index price for {table.underlyings[u]}")
            amount = usd if currencies[k] in USD_LIKE else usd / float(index_of_under[u])
            per_group_delta[(a, k)] = per_group_delta.get((a, k), 0.0) + amount

    calib: Calibration = "candidate" if spec.preset else "exact"
    results: list[MarginResult] = []
    for a, k, row in zip(groups.account.tolist(), groups.key.tolist(), groups.pnl):
        a, k = int(a), int(k)
        cur = currencies[k]
        weighted = -row * scen.weight
        j = int(np.argmax(weighted)) if len(weighted) else 0
        scan = max(0.0, float(weighted[j])) if len(weighted) else 0.0
        min_delta: float = per_group_delta.get((int(a), int(k)), 0.0)
        required = max(scan, min_delta)
        provisions = spec.funding_provision + spec.fee_provision
        initial = required + provisions
        maintenance = spec.maintenance_ratio * required + provisions
        usd_rate = _usd_rate(cur, table, resolved.index)
        components = {
            "scan_risk": scan,
            "min_delta_excess": max(0.0, min_delta - scan),
            "funding_provision": spec.funding_provision,
            "fee_provision": spec.fee_provision,
        }
        calibration: dict[str, Calibration] = {
            "scan_risk": calib,
            "min_delta_excess": calib,
            "funding_provision": "candidate",
            "fee_provision": "candidate",
        }
        worst = WorstScenario(index=j, description=scen.labels[j], pnl=float(row[j])) if scan > 0 else None
        results.append(
            MarginResult.in_currency(
                method="grid",
                initial=initial,
                maintenance=maintenance,
                currency=cur,
                usd_rate=usd_rate,
                worst_scenario=worst,
                components=components,
                calibration=calibration,
                parameters_source=spec.source,
                details={
                    "grid": spec.name,
                    "scenario_pnl": row.tolist(),
                    "weighted_loss": weighted.tolist(),
                    "min_delta_requirement": min_delta,
                    "net_requirement": required,
                },
                account=_plain(book.accounts[a]),
                group=cur,
            )
        )
    return aggregate("grid", results, spec.source)


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
