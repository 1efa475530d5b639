"""Cross-underlying risk offsets in portfolio margin: a correlation-aware aggregation of Deribit PM scan risk
across underlyings.  Not an exchange's published method: a documented, parameterised candidate
for a venue (or a risk desk) that credits offsetting BTC and ETH risk, in the form ISDA SIMM aggregates
signed risk across buckets (see docs/margin.md).

Per account, Deribit PM (`portfolio.portfolio_margins`) gives each risk group ``g`` (``btc_btc``,
``eth_eth``, ``btc_usdc``) its worst-case loss ``W_g`` (converted to USD at the index) and the scenario that
sets it.  Groups of the same underlying are added as they are (no offset between settlement currencies, as
in S:PM), giving one scan risk ``R_u`` per underlying with a direction ``s_u``: +1 when the worst scenario is a
price fall (the book is long the underlying), -1 when it is a rise, +1 for a pure vol scenario.  Then

    R = sqrt( max(0, sum_u sum_v rho_uv s_u s_v R_u R_v) ),   rho_uu = 1

replaces ``sum_u R_u``: with every rho = 1 and the same direction it is the plain sum (Deribit PM); a long
BTC book and a short ETH book with rho = 0.8 offset; uncorrelated risks add in quadrature.  ``rho`` is the
user's parameter: one number for every pair, or ``{"BTC/ETH": 0.8}``; a pair without a value adds in full
(its term counts ``+R_u R_v``: no credit without a parameter).  The roll and delta shocks and the given
add-ons stay per group, added in USD: ``MM = mm_factor (R + shocks)``, ``IM = R + shocks + add-ons``.  Every
component is a candidate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Union

import numpy as np

from ..book import Book
from ..market import Market
from .portfolio import portfolio_margins
from .result import MarginResult, aggregate

METHOD = "deribit-pm-correlated"
Correlation = Union[float, Mapping[str, float]]


def pair_correlation(correlation: Correlation, a: str, b: str) -> float | None:
    """rho between underlyings ``a`` and ``b`` (1 for a == b; None when the mapping has no value)."""
    if a == b:
        return 1.0
    if isinstance(correlation, (int, float)):
        rho = float(correlation)
    else:
        found = correlation.get(f"{a}/{b}", correlation.get(f"{b}/{a}"))
        if found is None:
            return None
        rho = float(found)
    if not -1.0 <= rho <= 1.0:
        raise ValueError(f"correlation of {a}/{b} must be in [-1, 1], got {rho!r}")
    return rho


def _aggregate(risk: list[float], sign: list[float], bases: list[str], correlation: Correlation) -> float:
    n = len(risk)
    total = 0.0
    for i in range(n):
        for j in range(n):
            rho = pair_correlation(correlation, bases[i], bases[j])
            if rho is None:  # no parameter for the pair: it adds in full, no credit
                rho = sign[i] * sign[j]
            total += rho * sign[i] * sign[j] * risk[i] * risk[j]
    return math.sqrt(max(total, 0.0))


def correlated_margin(
    book: Book, market: Market, correlation: Correlation = 0.8, params: Any = None
) -> MarginResult:
    """Deribit PM with the cross-underlying aggregation of the module doc, per account (summed over accounts)."""
    if isinstance(correlation, (int, float)) and not -1.0 <= correlation <= 1.0:
        raise ValueError(f"cross-underlying correlation must be in [-1, 1], got {correlation!r}")
    pm = portfolio_margins(book, market, params)
    p = pm.params
    n_std = p.n_standard
    ext = np.asarray(p.extended_moves)
    results: list[MarginResult] = []
    for account in np.unique(pm.account).tolist():
        rows = np.flatnonzero(pm.account == account)
        by_base: dict[str, list[float]] = {}
        shocks = addons = 0.0
        for g in rows.tolist():
            k = int(pm.key[g])
            base = pm.keys.base[k]
            usd = float(pm.keys.index[k]) if pm.keys.coin[k] else 1.0
            i = int(pm.worst_index[g])
            move = float(p.standard_moves(p.pair(base))[i // 3]) if i < n_std else float(ext[i - n_std])
            loss = float(pm.worst_case[g]) * usd
            entry = by_base.setdefault(base, [0.0, 0.0])  # [risk, largest single loss's signed direction]
            if loss > abs(entry[1]):
                entry[1] = (1.0 if move <= 0 else -1.0) * loss
            entry[0] += loss
            shocks += (float(pm.roll_shock[g]) + float(pm.delta_shock[g])) * usd
            addons += float(pm.addons[g]) * usd
        bases = sorted(by_base)
        risk = [by_base[b][0] for b in bases]
        sign = [1.0 if by_base[b][1] >= 0 else -1.0 for b in bases]
        scan = _aggregate(risk, sign, bases, correlation)
        plain = sum(risk)
        maintenance = p.mm_factor * (scan + shocks)
        initial = scan + shocks + addons
        label = book.accounts[int(account)]
        results.append(
            MarginResult.in_currency(
                method=METHOD,
                initial=initial,
                maintenance=maintenance,
                currency="USD",
                usd_rate=1.0,
                components={
                    "scan_risk_aggregated": scan,
                    "cross_underlying_credit": scan - plain,
                    "shocks": shocks,
                    "addons": addons,
                },
                calibration={
                    k: "candidate" for k in ("scan_risk_aggregated", "cross_underlying_credit", "shocks")
                },
                parameters_source=f"{p.source}; cross-underlying correlation {correlation!r} (user parameter)",
                details={
                    "scan_risk_by_underlying": dict(zip(bases, risk)),
                    "direction": dict(zip(bases, sign)),
                },
                account=label.item() if hasattr(label, "item") else label,
                group="all underlyings",
            )
        )
    return aggregate(METHOD, results, f"{p.source}; cross-underlying correlation {correlation!r}")


__all__ = ["METHOD", "correlated_margin", "pair_correlation"]
