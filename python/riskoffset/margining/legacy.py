"""Legacy Deribit portfolio-margin models (before November 2023; see docs/margin.md), as named
presets for reproducing old statements: ``ro.margin(book, market, "deribit-pm", "deribit-pm-legacy-2020")``.

Per account and vector key (as in the current model, `portfolio`), the book is revalued on a grid of
``2 price_steps + 1`` price moves over ``+-price_range`` with two vol states, up and down, relative shocks
scaled by ``(30 / max(d, 1)) ** p``, and:

    risk matrix       = max(0, -min over the grid of the P&L)
    futures           = futures_contingency x sum |futures position in coin|      (x index for linear)
    options (strike)  = option_contingency_per_coin x sum over (expiry, strike) of the net short options,
                        calls and puts of a strike netted, each scaled by min(1, |S - K| / (atm_range S))
                        when an ATM range is given                                   (x index for linear)
    options (all)     = options_underlying_rate x sum |option position in coin|     (x index for linear)
    MM = risk matrix + contingencies,  IM = im_over_mm x MM (MM where the ratio was not published).

Every legacy figure is a **candidate**: the models are reconstructed from Deribit's old documentation
and a venue that copied them (the futures grid and contingency of that venue's published example are
reproduced); the vega offset across expiries and the minimum equity of the 2017-2018
models are not modelled.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..book import Book
from ..instruments import INVERSE, KIND_FUTURE, KIND_OPTION, KIND_PERPETUAL
from ..market import Market
from ..sparse import account_pnl, cell_sums, group_positions, group_sums
from . import parameters as P
from .columns import CALIBRATION_ORDER, GroupMargins
from .result import MarginResult
from .scenarios import ScenarioSet, VolTerm, scenario_pnl
from .vectors import key_columns, vector_keys, without_spot

METHOD = "deribit-pm"
FAMILY = "deribit-pm-legacy"
_NUMBERS = (
    "price_range",
    "price_steps",
    "vol_up",
    "vol_down",
    "short_term_vega_power",
    "long_term_vega_power",
    "futures_contingency",
    "option_contingency_per_coin",
    "option_contingency_atm_range",
    "options_underlying_rate",
    "vol_pivot_days",
    "vol_days_floor",
    "vol_down_floor",
)


@dataclass(frozen=True)
class LegacyParameters:
    name: str
    source: str
    price_range: float
    price_steps: int
    vol_up: float
    vol_down: float
    short_term_vega_power: float
    long_term_vega_power: float
    futures_contingency: float
    option_contingency_per_coin: float
    option_contingency_atm_range: float
    options_underlying_rate: float
    vol_pivot_days: float
    vol_days_floor: float
    vol_down_floor: float
    im_over_mm: float | None

    @classmethod
    def load(cls, source: Any) -> LegacyParameters:
        doc, origin = P.load(source, FAMILY)
        v = {k: P.number(doc, k, origin, minimum=0.0) for k in _NUMBERS}
        steps = v.pop("price_steps")
        if v["price_range"] <= 0 or steps < 1 or steps != int(steps):
            raise P.ParameterError(f"{origin}: price_range must be > 0 and price_steps an integer >= 1")
        ratio = doc.get("im_over_mm")
        if ratio is not None:
            ratio = P.number(doc, "im_over_mm", origin, minimum=1.0)
        return cls(
            name=P.text(doc, "name", origin, default=origin),
            source=P.describe(doc, origin),
            price_range=v["price_range"],
            price_steps=int(steps),
            vol_up=v["vol_up"],
            vol_down=v["vol_down"],
            short_term_vega_power=v["short_term_vega_power"],
            long_term_vega_power=v["long_term_vega_power"],
            futures_contingency=v["futures_contingency"],
            option_contingency_per_coin=v["option_contingency_per_coin"],
            option_contingency_atm_range=v["option_contingency_atm_range"],
            options_underlying_rate=v["options_underlying_rate"],
            vol_pivot_days=v["vol_pivot_days"],
            vol_days_floor=v["vol_days_floor"],
            vol_down_floor=v["vol_down_floor"],
            im_over_mm=ratio,
        )

    def scenarios(self) -> ScenarioSet:
        k = np.arange(-self.price_steps, self.price_steps + 1, dtype=np.float64)
        moves = self.price_range * k / self.price_steps
        labels = tuple(f"price {m:+.1%}, vol {v}" for m in moves.tolist() for v in ("up", "down"))
        return ScenarioSet(
            price_move=np.repeat(moves, 2),
            vol_shift=np.tile([self.vol_up, -self.vol_down], len(moves)),
            vol_term=VolTerm(
                self.short_term_vega_power,
                self.long_term_vega_power,
                self.vol_pivot_days,
                self.vol_days_floor,
            ),
            vol_floor=self.vol_down_floor,
            labels=labels,
        )


def is_legacy(params: Any) -> bool:
    """Whether a deribit-pm ``params`` names or holds a legacy model."""
    if isinstance(params, LegacyParameters):
        return True
    if isinstance(params, str):
        return params.startswith(FAMILY)
    return isinstance(params, Mapping) and str(params.get("schema", "")).startswith(
        "riskoffset/deribit-pm-legacy"
    )


def legacy_margin(book: Book, market: Market, params: Any) -> MarginResult:
    """The book's requirement under a legacy model: one group's result as it is, else the sum of the groups,
    whose rows are columns in ``groups`` (a `GroupMargins`)."""
    return legacy_margins(book, market, params).total()


def legacy_margins(book: Book, market: Market, params: Any) -> GroupMargins:
    """Every (account, vector key) group of ``book`` under a legacy model, as columns; a row's full result
    (with its grid P&L in ``details["vector"]``) is built when asked for."""
    p = params if isinstance(params, LegacyParameters) else LegacyParameters.load(params)
    book = without_spot(book)
    table = book.instruments
    resolved = market.resolve(table)  # once for the whole call
    keys = vector_keys(book, market, resolved)
    n_keys = len(keys.names)
    scenarios = p.scenarios()
    pnl = scenario_pnl(table, market, scenarios, resolved=resolved).pnl
    grouping = group_positions(book, keys.key, n_keys)
    sums = account_pnl(book, pnl, grouping=grouping)
    n_groups = len(sums.pnl)
    worst_index = np.argmin(sums.pnl, axis=1) if n_groups else np.zeros(0, dtype=np.int64)
    lowest = sums.pnl[np.arange(n_groups), worst_index]
    worst = np.maximum(0.0, -lowest)

    inverse = table.settlement == INVERSE
    is_future = (table.kind == KIND_FUTURE) | (table.kind == KIND_PERPETUAL)
    is_option = table.kind == KIND_OPTION
    # Coin size per unit of amount: inverse futures are USD face (coin = face / mark), the rest is in coin.
    coin_per_unit = np.where(is_future & inverse, 1.0 / resolved.forward, 1.0)
    # Gross sizes per group: |futures| in coin, |options|.
    gross = group_sums(
        book, np.stack((np.where(is_future, coin_per_unit, 0.0), np.where(is_option, 1.0, 0.0)), axis=1),
        grouping, absolute=True,
    )  # fmt: skip
    futures_abs, options_abs = gross[:, 0], gross[:, 1]
    # Net short options per (expiry, strike): the net amount of each strike a group holds (calls and puts of a
    # strike net), its short part tapered near the money, summed per group.
    options = np.flatnonzero(is_option)
    strikes, option_column = np.unique(
        np.stack((table.expiration_ms[options].astype(np.float64), table.strike[options])), axis=1,
        return_inverse=True,
    )  # fmt: skip
    strike_column = np.full(len(table), -1, dtype=np.int64)
    strike_column[options] = option_column.reshape(-1)
    taper = np.ones(strikes.shape[1])
    if p.option_contingency_atm_range > 0:
        index_of_column = np.ones(strikes.shape[1])
        index_of_column[strike_column[options]] = resolved.index[options]
        distance = np.abs(index_of_column - strikes[1]) / (p.option_contingency_atm_range * index_of_column)
        taper = np.minimum(1.0, distance)
    by_strike = cell_sums(book, np.ones(len(table)), strike_column, grouping)
    tapered_short = np.maximum(-by_strike.total, 0.0) * taper[by_strike.column]
    net_short = np.bincount(by_strike.group, weights=tapered_short, minlength=n_groups)

    group_key = sums.key
    per_coin = np.where(keys.coin, 1.0, keys.index)[group_key]
    futures_cont = p.futures_contingency * futures_abs * per_coin
    strike_cont = p.option_contingency_per_coin * net_short * per_coin
    options_cont = p.options_underlying_rate * options_abs * per_coin
    maintenance = worst + futures_cont + strike_cont + options_cont
    ratio = 1.0 if p.im_over_mm is None else p.im_over_mm
    initial = ratio * maintenance
    components = {
        "risk_matrix": worst,
        "futures_contingency": futures_cont,
        "option_strike_contingency": strike_cont,
        "options_contingency": options_cont,
        "im_markup": initial - maintenance,
    }
    candidate = np.full(n_groups, CALIBRATION_ORDER.index("candidate"), dtype=np.int64)
    labels = scenarios.labels

    def full_result(columns: GroupMargins, row: int) -> MarginResult:
        base = columns.result_from_columns(row)
        details = {
            **base.details,
            "model": p.name,
            "im_over_mm": ratio,
            "vector": sums.pnl[row].tolist(),
            "im_over_mm_published": p.im_over_mm is not None,
        }
        return dataclasses.replace(base, details=details)

    return GroupMargins(
        method=METHOD,
        parameters_source=p.source,
        accounts=book.accounts,
        account=sums.account,
        **key_columns(keys, group_key),
        initial=initial,
        maintenance=maintenance,
        components=components,
        calibration={name: candidate for name in components},
        worst_index=worst_index.astype(np.int64, copy=False),
        worst_pnl=lowest,
        worst_description=lambda row, j: labels[j],
        row_result=full_result,
    )
