"""The scenario-grid and SPAN reductions as they were written in Python before the C++ passes: per (account,
currency) group a Python loop over numpy rows building one `MarginResult` each (grid), and one `span_account`
call per account (SPAN).  Kept as the baseline the grid/SPAN benchmarks measure their speed-up against, and as
an independent reference the tests compare the C++ passes with on random books."""

from __future__ import annotations

from typing import Any

import numpy as np
from riskoffset.book import Book, instrument_greeks
from riskoffset.instruments import INVERSE
from riskoffset.margining.grid import USD_LIKE, _plain, _usd_rate, load_grid
from riskoffset.margining.result import Calibration, MarginResult, WorstScenario, aggregate
from riskoffset.margining.scenarios import scenario_pnl
from riskoffset.market import Market
from riskoffset.sparse import account_pnl


def grid_margin_python(book: Book, market: Market, params: Any = None) -> MarginResult:
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


def span_margin_python(book: Book, span: Any, mapping: dict[str, Any], opts: Any = None) -> MarginResult:
    """SPAN of every account of ``book``, one `span_account` call per account (the path before the C++ pass),
    aggregated."""
    from riskoffset.margining.span.algorithm import SpanOptions, net_positions, span_account

    opts = opts or SpanOptions()
    names = book.instruments.names.tolist()
    size = book.instruments.contract_size
    row_of, factor = [], []
    for i, name in enumerate(names):
        target = mapping[name]
        key, f = target if isinstance(target, (tuple, list)) else (target, 1.0)
        row_of.append(span.row(key))
        factor.append(float(f) / float(size[i]))
    row_arr, fac = np.asarray(row_of, dtype=np.int64), np.asarray(factor)
    results = []
    for a, label in enumerate(book.accounts.tolist()):
        lo, hi = int(book.indptr[a]), int(book.indptr[a + 1])
        idx = book.indices[lo:hi]
        rows, qty = net_positions(row_arr[idx], book.quantity[lo:hi] * fac[idx])
        results.append(span_account(span, rows, qty, opts, account=label))
    return aggregate("span", results, results[0].parameters_source)
