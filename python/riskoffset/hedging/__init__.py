"""Hedging a book: what to trade to offset a risk, what it costs, what is left after it, and what it does to
margin (docs/hedging.md walks through every target).

``ro.hedge(book, market, target=..., instruments=None)`` hedges one account (``account=``, or the only one,
or every account netted as one) over candidate instruments (``instruments=[names]``, or the defaults of
`candidates`, taken from that account's own underlyings and risks), for one of the targets:

- ``"delta"``: premium-adjusted coin delta per underlying to zero, with futures and perpetuals (inverse
  futures count ``1/F`` coin per USD of face, inverse options their delta net of the coin premium);
- ``"delta-gamma"``, ``"delta-gamma-vega"``: those Greeks per underlying (vega per expiry with
  ``by_expiry=True``) to zero with options and futures, as least squares with a cost penalty (`solvers`);
- ``"margin"``: the Deribit PM initial margin plus transaction cost minimised as a linear program (HiGHS
  through scipy, the optional extra ``riskoffset[hedge]``; `solvers`).  It may add delta: the result then
  carries a warning.

Every hedge is rounded to lots (``min_trade_amount``, else the contract size) and comes back as a
`HedgeResult` (`result`): the trades, their cost (`costs`: premium, fees, half-spread), the Greeks before
and after with their units (and the error the rounding adds), the scenario P&L profile of each risk group
before and after (the upside given up, in USD), the worst scenario after, and the Deribit PM margin before
and after through ``ro.margin(..., "deribit-pm")``.

`cross_hedge` hedges one underlying's delta with another underlying's instrument, or with another expiry,
and reports the residual risk for a user-supplied correlation (`cross`, `residual`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..book import Book, instrument_greeks
from ..margining import margin as _margin
from ..market import Market
from ..whatif import WhatIf
from .candidates import (
    REPORTED_MEASURES,
    TARGETS,
    default_candidates,
    exposure_matrix,
    lot_sizes,
    option_expiries,
)
from .costs import TradeCost, trade_cost, unit_costs
from .cross import CrossHedge, cross_hedge
from .residual import CorrelationResidual, ScenarioProfile, correlation_residual
from .result import GREEK_UNITS, HedgeResult, Trade
from .solvers import check_cost_penalty, greek_hedge, margin_lp, round_for_margin


def hedge(
    book: Book,
    market: Market,
    target: str = "delta",
    instruments: Sequence[str] | None = None,
    *,
    account: Any = None,
    params: Any = None,
    by_expiry: bool = False,
    quotes: Mapping[str, tuple[float, float]] | None = None,
    liquidity: str = "taker",
    cost_penalty: float = 1e-8,
    margin: bool = True,
) -> HedgeResult:
    """Hedge ``book`` on ``market`` (module doc).  target: "delta" | "delta-gamma" | "delta-gamma-vega" |
    "margin".  instruments: candidate names (default: `candidates.default_candidates`).  params: the
    deribit-pm parameters (margin target, profiles, margins).  quotes: ``{name: (bid, ask)}`` for the
    half-spread.  margin=False skips the two ``ro.margin`` calls."""
    if target not in TARGETS:
        raise ValueError(f"unknown hedge target {target!r}; choose one of {', '.join(TARGETS)}")
    check_cost_penalty(cost_penalty)
    w = WhatIf(book, market, params, account=account, instruments=instruments or ())
    table = w.table
    greeks = instrument_greeks(table, market)
    names = (
        list(dict.fromkeys(instruments)) if instruments else default_candidates(table, greeks, w.book, target)
    )
    rows = table.rows(names)
    lots = lot_sizes(table, rows)
    costs = unit_costs(greeks, rows, quotes=quotes, liquidity=liquidity)
    held = table.rows(w.book.instruments.names[w.book.indices])
    held_q = w.book.quantity
    both = np.concatenate((held, rows))
    underlyings = sorted(set(table.underlying[both].tolist()))
    expiries = option_expiries(table, both) if by_expiry else []
    labels, m_held = exposure_matrix(
        greeks, held, REPORTED_MEASURES, underlyings, by_expiry=by_expiry, expiries=expiries
    )
    _, m_cand = exposure_matrix(
        greeks, rows, REPORTED_MEASURES, underlyings, by_expiry=by_expiry, expiries=expiries
    )
    before = m_held @ held_q
    flags = list(costs.flags)
    if target == "margin":
        h_cont = margin_lp(w, rows, lots, costs.transaction)
        h = round_for_margin(w, rows, h_cont, lots, costs.transaction)
    else:
        wanted = TARGETS[target]
        sel = np.array([label.split(" ")[0] in wanted for label in labels], dtype=bool)
        h_cont, h = greek_hedge(m_cand[sel], before[sel], lots, costs.transaction * lots, cost_penalty)
        if not (np.abs(m_cand[sel]).sum(axis=1) > 0).all():
            missing = [
                label for label, s in zip(np.array(labels)[sel].tolist(), m_cand[sel]) if not np.abs(s).any()
            ]
            flags.append(f"no candidate moves {', '.join(missing)}: left as it is")
    after = before + m_cand @ h
    unrounded = before + m_cand @ h_cont
    cost = trade_cost(costs, h)
    trades = tuple(
        Trade(
            str(names[k]),
            float(h[k]),
            float(lots[k]),
            float(h_cont[k]),
            float(costs.premium[k] * h[k]) + 0.0,  # no -0.0 for futures
            float(costs.fee[k] * abs(h[k])),
            float(costs.half_spread[k] * abs(h[k])),
        )
        for k in range(len(names))
        if h[k] != 0.0
    )
    profiles: dict[str, ScenarioProfile] = {}
    touched = sorted(set(w.keys.key[both].tolist()))
    for k in touched:
        g = w.groups[k]
        sel_k = w.keys.key[rows] == k
        before_v = w.pnl_vector(k)
        after_v = before_v + h[sel_k] @ w.vectors[rows[sel_k]]
        profiles[g.name] = ScenarioProfile(
            g.name, g.currency, w.labels[k], before_v, after_v, w.params.n_standard, float(g.usd_rate)
        )
    margin_before = margin_after = None
    if margin:
        margin_before = _margin(w.book, market, "deribit-pm", params)
        label = w.book.accounts[0] if len(w.book.accounts) else "book"
        all_names = w.book.instruments.names[w.book.indices].tolist() + [t.instrument for t in trades]
        all_q = w.book.quantity.tolist() + [t.quantity for t in trades]
        hedged = Book.from_arrays(np.array([label] * len(all_names)), all_names, all_q, instruments=table)
        margin_after = _margin(hedged, market, "deribit-pm", params)
    warnings = []
    if target == "margin":
        warnings = directional_warnings(labels, before, after)
    account_label = w.book.accounts[0] if len(w.book.accounts) else "book"
    return HedgeResult(
        target=target,
        account=account_label.item() if hasattr(account_label, "item") else account_label,
        candidates=tuple(str(n) for n in names),
        trades=trades,
        cost=cost,
        greeks_before=dict(zip(labels, before.tolist())),
        greeks_after=dict(zip(labels, after.tolist())),
        greeks_unrounded=dict(zip(labels, unrounded.tolist())),
        profiles=profiles,
        margin_before=margin_before,
        margin_after=margin_after,
        flags=tuple(flags),
        details={"lots": dict(zip(names, lots.tolist())), "unrounded": dict(zip(names, h_cont.tolist()))},
        warnings=tuple(warnings),
        neutralised=TARGETS[target],
    )


def directional_warnings(labels: Sequence[str], before: Any, after: Any) -> list[str]:
    """One warning per underlying whose premium-adjusted delta grows in size (``|after| > |before|``)."""
    out = []
    for label, b, a in zip(labels, np.asarray(before).tolist(), np.asarray(after).tolist()):
        measure, base = label.split(" ")[:2]
        if measure == "delta" and abs(a) > abs(b) * (1.0 + 1e-12) + 1e-12:
            out.append(
                f"the margin-minimising hedge adds directional risk on {base}: delta {b:.6g} -> {a:.6g} "
                f"{GREEK_UNITS['delta']}"
            )
    return out


__all__ = [
    "GREEK_UNITS",
    "TARGETS",
    "CorrelationResidual",
    "CrossHedge",
    "HedgeResult",
    "ScenarioProfile",
    "Trade",
    "TradeCost",
    "correlation_residual",
    "cross_hedge",
    "directional_warnings",
    "hedge",
]
