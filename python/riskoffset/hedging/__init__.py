"""Hedging a book (DESIGN §7 ``ro.hedge``; issue 6): what to trade to offset a risk, what it costs, what is
left after it, and what it does to margin.

``ro.hedge(book, market, target=..., instruments=None)`` hedges one account (``account=``, or the only one,
or every account netted as one) over candidate instruments (``instruments=[names]``, or the defaults of
`candidates`), for one of the targets:

- ``"delta"``: premium-adjusted coin delta per underlying to zero, with futures and perpetuals (inverse
  futures count ``1/F`` coin per USD of face, inverse options their delta net of the coin premium);
- ``"delta-gamma"``, ``"delta-gamma-vega"``: those Greeks per underlying (vega per expiry with
  ``by_expiry=True``) to zero with options and futures, as least squares with a cost penalty (`solvers`);
- ``"margin"``: the Deribit PM initial margin plus transaction cost minimised as a linear program (HiGHS
  through scipy, the optional extra ``riskoffset[hedge]``; `solvers`).

Every hedge is rounded to lots (``min_trade_amount``, else the contract size) and comes back as a
`HedgeResult`: the trades, their cost (`costs`: premium, fees, half-spread), the Greeks before and after (and
the error the rounding adds), the scenario P&L profile of each risk group before and after (numpy arrays;
the upside given up), the worst scenario after, and the Deribit PM margin before and after through
``ro.margin(..., "deribit-pm")``.

`cross_hedge` hedges one underlying's delta with another underlying's instrument, or with another expiry,
and reports the residual risk for a user-supplied correlation (`cross`, `residual`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..book import Book, instrument_greeks
from ..margining import margin as _margin
from ..margining.result import MarginResult
from ..market import Market
from ..whatif import WhatIf
from .candidates import (
    ALL_MEASURES,
    TARGETS,
    default_candidates,
    exposure_matrix,
    lot_sizes,
    option_expiries,
)
from .costs import TradeCost, trade_cost, unit_costs
from .cross import CrossHedge, cross_hedge
from .residual import CorrelationResidual, ScenarioProfile, correlation_residual
from .solvers import greek_hedge, margin_lp, round_for_margin


@dataclass(frozen=True)
class Trade:
    """One hedge trade: signed amount (Deribit size units), in lots, and its cost in USD."""

    instrument: str
    quantity: float
    lot: float
    unrounded: float
    premium_usd: float
    fee_usd: float
    half_spread_usd: float

    @property
    def side(self) -> str:
        return "buy" if self.quantity > 0 else "sell"

    @property
    def lots(self) -> float:
        return round(self.quantity / self.lot)

    def to_dict(self) -> dict[str, Any]:
        return {
            "instrument": self.instrument,
            "side": self.side,
            "quantity": self.quantity,
            "lots": self.lots,
            "lot": self.lot,
            "unrounded": self.unrounded,
            "premium_usd": self.premium_usd,
            "fee_usd": self.fee_usd,
            "half_spread_usd": self.half_spread_usd,
        }


@dataclass(frozen=True)
class HedgeResult:
    """A hedge and its consequences (module doc).  Greeks are keyed like ``"delta BTC"`` (coin),
    ``"gamma BTC"`` (per USD), ``"vega BTC"`` (USD per 1.00 vol; ``"vega BTC 2026-12-25"`` by expiry)."""

    target: str
    account: Any
    candidates: tuple[str, ...]
    trades: tuple[Trade, ...]
    cost: TradeCost
    greeks_before: dict[str, float]
    greeks_after: dict[str, float]
    greeks_unrounded: dict[str, float]
    profiles: dict[str, ScenarioProfile]
    margin_before: MarginResult | None
    margin_after: MarginResult | None
    flags: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def rounding_error(self) -> dict[str, float]:
        """Greeks left by rounding to lots: after the rounded hedge minus after the continuous one."""
        return {k: self.greeks_after[k] - self.greeks_unrounded[k] for k in self.greeks_after}

    @property
    def quantities(self) -> dict[str, float]:
        return {t.instrument: t.quantity for t in self.trades}

    def to_dict(self) -> dict[str, Any]:
        def m(r: MarginResult | None) -> Any:
            return None if r is None else r.to_dict()

        return {
            "target": self.target,
            "account": self.account.item() if hasattr(self.account, "item") else self.account,
            "candidates": list(self.candidates),
            "trades": [t.to_dict() for t in self.trades],
            "cost": self.cost.to_dict(),
            "greeks_before": self.greeks_before,
            "greeks_after": self.greeks_after,
            "rounding_error": self.rounding_error,
            "profiles": {k: p.to_dict() for k, p in self.profiles.items()},
            "margin_before": m(self.margin_before),
            "margin_after": m(self.margin_after),
            "flags": list(self.flags),
        }

    def table(self) -> str:
        lines = [
            f"hedge target {self.target} for account {self.account}; candidates {', '.join(self.candidates)}"
        ]
        if not self.trades:
            lines.append("no trade: the book is already hedged to within a lot")
        else:
            lines.append(
                f"{'instrument':<26}{'side':<6}{'quantity':>14}{'lots':>10}{'premium USD':>14}{'fees USD':>11}"
            )
            for t in self.trades:
                lines.append(
                    f"{t.instrument:<26}{t.side:<6}{t.quantity:>14,.4f}{t.lots:>10,.0f}{t.premium_usd:>14,.2f}"
                    f"{t.fee_usd:>11,.2f}"
                )
        c = self.cost
        lines.append(
            f"cost: fees {c.fees:,.2f} USD + half-spread {c.half_spread:,.2f} USD = {c.total:,.2f} USD; "
            f"premium {c.premium:,.2f} USD"
        )
        lines.append("")
        lines.append(f"{'greek':<24}{'before':>16}{'after':>16}{'from rounding':>16}")
        err = self.rounding_error
        for k in self.greeks_before:
            lines.append(f"{k:<24}{self.greeks_before[k]:>16.6g}{self.greeks_after[k]:>16.6g}{err[k]:>16.3g}")
        lines.append("")
        for p in self.profiles.values():
            wb, wa = p.worst_before, p.worst_after
            lines.append(
                f"[{p.group}] worst scenario before {wb[2]:.6g} {p.currency} ({wb[1]}), after {wa[2]:.6g} "
                f"({wa[1]}); upside given up {p.upside_given_up:.6g} {p.currency}"
            )
        if self.margin_before is not None and self.margin_after is not None:
            b, a = self.margin_before, self.margin_after
            lines.append(
                f"deribit-pm margin USD: initial {b.initial_usd or 0:,.2f} -> {a.initial_usd or 0:,.2f}, "
                f"maintenance {b.maintenance_usd or 0:,.2f} -> {a.maintenance_usd or 0:,.2f}"
            )
        lines += [f"note: {f}" for f in self.flags]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


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
        greeks, held, ALL_MEASURES, underlyings, by_expiry=by_expiry, expiries=expiries
    )
    _, m_cand = exposure_matrix(
        greeks, rows, ALL_MEASURES, underlyings, by_expiry=by_expiry, expiries=expiries
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
            g.name, g.currency, w.labels[k], before_v, after_v, w.params.n_standard
        )
    margin_before = margin_after = None
    if margin:
        margin_before = _margin(w.book, market, "deribit-pm", params)
        label = w.book.accounts[0] if len(w.book.accounts) else "book"
        all_names = w.book.instruments.names[w.book.indices].tolist() + [t.instrument for t in trades]
        all_q = w.book.quantity.tolist() + [t.quantity for t in trades]
        hedged = Book.from_arrays(np.array([label] * len(all_names)), all_names, all_q, instruments=table)
        margin_after = _margin(hedged, market, "deribit-pm", params)
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
    )


__all__ = [
    "TARGETS",
    "CorrelationResidual",
    "CrossHedge",
    "HedgeResult",
    "ScenarioProfile",
    "Trade",
    "TradeCost",
    "correlation_residual",
    "cross_hedge",
    "hedge",
]
