"""The Deribit PM numbers the report shows: the risk matrix of each (account, risk group), a wide P&L profile
at the PM vol shocks, and the positions behind the worst scenario.

Everything comes from ``ro.margin(..., "deribit-pm")``; the report adds no margin formula of its own:

- the risk matrix is the result's ``details["aggregated"]`` vectors (entry ``3 b + v`` of the standard
  table is price move ``m_b = R (b - B) / B`` with vol state ``v`` in up / same / down; then the extended
  moves, vol up), the moves read from the bundled parameter set;
- the profile is the same margin run with every pair's ``price_range`` widened and more buckets, so its
  standard vector is the book's P&L on a fine grid of price moves at exactly the PM vol shocks (the vol
  shocks do not depend on the price range);
- each position's part in a scenario comes from one more run on a copy of the book with every position in
  an account of its own: PM vectors are sums over positions, so these per-account vectors add up to the
  book's (before the PM dampener and gain offset, which act on the sum).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np

# Only the package's public names: the report is a client of the library like any user's script.
from ..book import Book
from ..margining import margin
from ..margining.result import MarginResult
from ..market import Market

VOL_STATES = ("up", "same", "down")
PROFILE_BUCKETS = 40  # 81 price moves per profile


def pm_document() -> dict[str, Any]:
    """The bundled Deribit PM parameter sets merged (oldest first, later sets override pair by pair and
    currency by currency), as one document ``ro.margin`` accepts: the default parameters of the method."""
    folder = resources.files("riskoffset").joinpath("data/margin")
    files = sorted(
        p.name for p in folder.iterdir() if p.name.startswith("deribit-pm_") and p.name.endswith(".json")
    )
    if not files:
        raise ValueError("no bundled deribit-pm parameter files (riskoffset/data/margin/deribit-pm_*.json)")
    merged: dict[str, Any] = {"currency_pair": {}, "currency": {}, "general": {}}
    engine: Any = None
    for name in files:
        doc = json.loads(folder.joinpath(name).read_text())
        mp = doc["model_params"]
        merged["currency_pair"].update(mp["currency_pair"])
        merged["currency"].update(mp["currency"])
        merged["general"] = dict(mp["general"])
        engine = doc.get("engine")
    return {
        "name": "deribit-pm",
        "source": "bundled deribit-pm sets",
        "model_params": merged,
        "engine": engine,
    }


def widened(doc: dict[str, Any], price_range: float, buckets: int) -> dict[str, Any]:
    """``doc`` with every pair's price range set to ``price_range`` and ``buckets`` buckets a side."""
    out = copy.deepcopy(doc)
    for pair in out["model_params"]["currency_pair"].values():
        pair["price_range"] = price_range
    out["model_params"]["general"]["buckets_count"] = buckets
    out["name"] = "deribit-pm (price range widened for the report's P&L profile)"
    return out


def groups_of(result: MarginResult) -> tuple[MarginResult, ...]:
    """The per (account, risk group) results of a PM result (a single group is its own aggregate)."""
    if result.groups:
        return tuple(result.groups)
    return (result,) if result.group else ()


def base_of(group: str) -> str:
    """The underlying of a PM vector key: "btc_usdc" -> "BTC"."""
    return group.split("_")[0].upper()


@dataclass
class RiskMatrix:
    """The PM risk matrix of one (account, risk group), in the group's currency."""

    account: str
    group: str
    currency: str
    moves: list[float]  # standard price moves, relative
    standard: list[list[float]]  # [move][vol state], after dampener / offset (what the margin uses)
    standard_raw: list[list[float]]  # [move][vol state], the plain P&L sums
    extended_moves: list[float]
    extended: list[float]  # vol up, after dampener / offset
    extended_raw: list[float]
    worst_index: int
    worst_description: str
    worst_pnl: float
    initial: float
    maintenance: float

    @property
    def worst_cell(self) -> tuple[int, int] | None:
        """(move row, vol column) of the worst scenario when it is in the standard table."""
        n = 3 * len(self.moves)
        return divmod(self.worst_index, 3) if self.worst_index < n else None


@dataclass
class Profile:
    """P&L of one risk group (all accounts) over price moves at the PM vol states, in its currency."""

    group: str
    underlying: str
    currency: str
    index: float
    moves: list[float]
    pnl: dict[str, list[float]]  # vol state -> P&L per move
    pm_range: float  # the PM price range R of the pair


@dataclass
class Driver:
    """One position's P&L in the worst scenario of its (account, risk group)."""

    account: str
    instrument: str
    quantity: float
    pnl: float


@dataclass
class WorstDrivers:
    account: str
    group: str
    currency: str
    scenario: str
    total: float  # the group's P&L in that scenario before the PM dampener and gain offset
    drivers: list[Driver] = field(default_factory=list)  # every position, largest loss first


def _str(v: Any) -> str:
    return str(v.item() if hasattr(v, "item") else v)


def risk_matrices(result: MarginResult, doc: dict[str, Any]) -> list[RiskMatrix]:
    pairs = doc["model_params"]["currency_pair"]
    ext_moves = [float(m) for m in doc["engine"]["extended_moves"]]
    out = []
    for g in groups_of(result):
        agg, pre = g.details["aggregated"], g.details["pre_aggregated"]
        n_std = len(agg["standard"])
        buckets = (n_std // 3 - 1) // 2
        price_range = float(pairs[f"{base_of(g.group).lower()}_usd"]["price_range"])
        moves = [price_range * (b - buckets) / buckets for b in range(2 * buckets + 1)]
        ws = g.worst_scenario
        out.append(
            RiskMatrix(
                account=_str(g.account),
                group=g.group,
                currency=g.currency,
                moves=moves,
                standard=[agg["standard"][3 * b : 3 * b + 3] for b in range(len(moves))],
                standard_raw=[pre["standard"][3 * b : 3 * b + 3] for b in range(len(moves))],
                extended_moves=ext_moves,
                extended=list(agg["extended"]),
                extended_raw=list(pre["extended"]),
                worst_index=ws.index if ws is not None else -1,
                worst_description=ws.description if ws is not None else "",
                worst_pnl=ws.pnl if ws is not None else 0.0,
                initial=g.initial,
                maintenance=g.maintenance,
            )
        )
    return out


def profiles(
    book: Book, market: Market, doc: dict[str, Any], price_range: float, buckets: int = PROFILE_BUCKETS
) -> list[Profile]:
    """P&L of each risk group at ``2 buckets + 1`` price moves over ``-price_range .. +price_range``, at the
    PM vol states (module doc)."""
    wide = margin(book, market, "deribit-pm", widened(doc, price_range, buckets))
    pairs = doc["model_params"]["currency_pair"]
    moves = [price_range * (b - buckets) / buckets for b in range(2 * buckets + 1)]
    sums: dict[str, np.ndarray] = {}
    currency: dict[str, str] = {}
    for g in groups_of(wide):
        vector = np.asarray(g.details["pre_aggregated"]["standard"], dtype=np.float64)
        sums[g.group] = sums.get(g.group, 0.0) + vector
        currency[g.group] = g.currency
    out = []
    for group in sorted(sums):
        table = sums[group].reshape(len(moves), 3)
        base = base_of(group)
        out.append(
            Profile(
                group=group,
                underlying=base,
                currency=currency[group],
                index=float(market.index[base]),
                moves=moves,
                pnl={state: table[:, v].tolist() for v, state in enumerate(VOL_STATES)},
                pm_range=float(pairs[f"{base.lower()}_usd"]["price_range"]),
            )
        )
    return out


def worst_drivers(book: Book, market: Market, result: MarginResult) -> list[WorstDrivers]:
    """Every position's P&L in the worst scenario of its (account, risk group) (module doc)."""
    if not len(book):
        return []
    accounts = book.account_of_position()
    names = book.instruments.names[book.indices]
    split = Book.from_arrays(
        np.arange(len(book), dtype=np.int64), names, book.quantity, instruments=book.instruments
    )
    # (account label, risk group) -> [(position, its per-position PM result)], in one pass.
    parts: dict[tuple[str, str], list[tuple[int, MarginResult]]] = {}
    for part in groups_of(margin(split, market, "deribit-pm")):
        p = int(part.account)
        parts.setdefault((_str(accounts[p]), part.group), []).append((p, part))
    out = []
    for g in groups_of(result):
        ws = g.worst_scenario
        if ws is None:
            continue
        account = _str(g.account)
        n_std = len(g.details["pre_aggregated"]["standard"])
        drivers = []
        for p, part in parts.get((account, g.group), []):
            pre = part.details["pre_aggregated"]
            value = pre["standard"][ws.index] if ws.index < n_std else pre["extended"][ws.index - n_std]
            drivers.append(Driver(account, str(names[p]), float(book.quantity[p]), float(value)))
        drivers.sort(key=lambda d: d.pnl)
        pre = g.details["pre_aggregated"]
        total = pre["standard"][ws.index] if ws.index < n_std else pre["extended"][ws.index - n_std]
        out.append(WorstDrivers(account, g.group, g.currency, ws.description, float(total), drivers))
    return out


__all__ = [
    "VOL_STATES",
    "Driver",
    "Profile",
    "RiskMatrix",
    "WorstDrivers",
    "base_of",
    "groups_of",
    "pm_document",
    "profiles",
    "risk_matrices",
    "widened",
    "worst_drivers",
]
