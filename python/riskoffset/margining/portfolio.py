"""Deribit-style portfolio margin (S:PM), the current model (see docs/margin.md, Deribit portfolio margin);
parameters as dated JSON in riskoffset/data/margin/deribit-pm_*.json, or Deribit's own ``model_params``.

Per currency pair (``btc_usd``) and settlement currency the book's positions form one risk vector, keyed
like Deribit's ``btc_btc`` (coin-settled) or ``btc_usdc`` (linear), of 35 scenario P&Ls:

- standard table: 2B+1 price moves ``m_b = R (b - B) / B`` (``R = price_range``, ``B = buckets_count``) each
  with the vol states [up, same, down], stored bucket-major (entry ``3 b + v``); vols shocked relatively by
  ``volatility_range_up/down`` scaled by the vega power law ``(30 / max(d, 1)) ** p`` (p = short / long term
  power below / from 30 days), the up state floored at ``min_volatility_for_shock_up``;
- extended table: the moves of ``extended_moves`` with the vol-up state, each instrument's P&L weighted by
  ``w = extended_table_factor R / |m|`` and, coin-settled, re-expressed at the edge of the standard range:
  ``E = P w (1 + m) / (1 + s R)``.

Instruments are revalued once (`scenarios.scenario_pnl`, full Black-76 on the expiry's forward, r = 0, no time
decay) and summed per account and key (`scenarios.account_pnl`).  Then per vector: the extended entries are
dampened toward zero by ``A_m = (max(|m|/R, 1) - 1) extended_dampener / ((1 + s R) S)`` (coin; USD for
linear), gains are multiplied by ``pnl_offset`` and capped at ``max_offsetable_pnl``; ``worst_case =
max(0, -min(entries))``; ``roll_shock = sum_e |delta_e| max(min_annualised_move, annualised_move_risk T_e)``
over expiries (perpetual T = 0); the delta shock is a labelled candidate
``|delta| min(max_delta_shock, m_inc max(0, |delta| - threshold / S))``; ``risk_matrix_margin`` is their sum,
``MM = mm_factor * risk_matrix_margin`` and IM adds the open-order, MMP and spot margins given in
``params["addons"]`` (a Book has no orders).  Spot holdings are collateral, not risk positions: they are
left out of the vectors (as standard margin charges them nothing).

Calibrated against Deribit's published `private/pme/simulate` output (the BTC example of its API
documentation): the futures
vectors, the extended futures entries, the dampener on them, the worst case, the roll shock of futures and
``MM = 0.8 x risk_matrix_margin``.  Candidates (documented, not yet checked against Deribit): option vectors
(the vol-state order and the DTE floor are unpublished), options in the roll shock, the delta shock, the
extended conversion and the dampener of linear (USDC) vectors, ``max_offsetable_pnl`` units.  X:PM
cross-collateral offsets are not modelled: each vector is margined on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._types import FloatArray, IntArray
from ..book import Book, instrument_greeks
from ..instruments import INVERSE, KIND_FUTURE, KIND_OPTION, KIND_PERPETUAL, KIND_SPOT
from ..market import Market, ResolvedMarket
from ..scalars import plain
from .legacy import is_legacy, legacy_margin
from .pm_parameters import ADDONS, METHOD, CurrencyParameters, PairParameters, PMParameters
from .result import Calibration, MarginResult, WorstScenario, aggregate
from .scenarios import account_pnl, group_positions, position_sums, scenario_pnl
from .vectors import VectorKeys, vector_keys, without_spot


# ---------------------------------------------------------------------------------------------- the engine
@dataclass(frozen=True)
class PortfolioMargins:
    """Deribit PM of every (account, vector key) of a book, as columns (one row per group)."""

    params: PMParameters
    keys: VectorKeys
    account: IntArray  # row of book.accounts
    key: IntArray  # code into keys.names
    instrument_vectors: (
        FloatArray  # per unit of amount, rows = book.instruments: 27 standard + 8 extended (weighted)
    )
    pre_aggregated: FloatArray  # (groups, 35) sums before dampener and pnl_offset
    aggregated: FloatArray  # (groups, 35) after them
    worst_case: FloatArray
    worst_index: IntArray
    roll_shock: FloatArray
    delta_shock: FloatArray
    delta: FloatArray  # net coin delta of the group
    risk_matrix_margin: FloatArray
    addons: FloatArray  # open orders + MMP + spot margins given in the parameters
    initial: FloatArray
    maintenance: FloatArray
    labels: tuple[tuple[str, ...], ...]  # scenario labels per key

    def __len__(self) -> int:
        return len(self.account)


def instrument_vectors(
    book: Book,
    market: Market,
    params: PMParameters,
    keys: VectorKeys,
    resolved: ResolvedMarket | None = None,
) -> tuple[FloatArray, tuple[tuple[str, ...], ...]]:
    """Per unit of amount of every instrument of the book: its 27 standard scenario P&Ls and its 8 extended
    ones already weighted (and, coin-settled, converted to the edge of the range)."""
    table = book.instruments
    n_std = params.n_standard
    n_ext = len(params.extended_moves)
    out = np.zeros((len(table), n_std + n_ext))
    labels: list[tuple[str, ...]] = [()] * len(keys.names)
    for base in sorted(set(keys.base)):
        pair = params.pair(base)
        scenarios = params.scenarios(pair)
        rows = np.flatnonzero(table.underlying == table.underlyings.index(base))
        pnl = scenario_pnl(table, market, scenarios, rows=rows, resolved=resolved).pnl
        ext = np.asarray(params.extended_moves)
        weight = pair.extended_table_factor * pair.price_range / np.abs(ext)
        coin = table.settlement[rows] == INVERSE
        # Coin P&L realised at S (1 + m) re-expressed at the edge of the standard range S (1 + s R).
        convert = (1.0 + ext) / (1.0 + np.sign(ext) * pair.price_range)
        pnl[:, n_std:] *= weight
        pnl[coin, n_std:] *= convert
        out[rows] = pnl
        for k, b in enumerate(keys.base):
            if b == base:
                labels[k] = scenarios.labels
    return out, tuple(labels)


def coin_delta_by_expiry(
    book: Book, market: Market, params: PMParameters, resolved: ResolvedMarket | None = None
) -> tuple[FloatArray, IntArray, FloatArray]:
    """(coin delta per unit of each instrument, expiry column of each instrument, T of each column)."""
    table = book.instruments
    g = instrument_greeks(table, market, resolved)
    resolved = g.market
    delta = np.where(table.settlement == INVERSE, g["delta_pa"], g["delta"]).astype(np.float64)
    futures = (table.kind == KIND_FUTURE) | (table.kind == KIND_PERPETUAL)
    include = futures | ((table.kind == KIND_OPTION) & params.roll_shock_includes_options)
    delta = np.where(include & (table.kind != KIND_SPOT), delta, 0.0)
    expiries, column = np.unique(table.expiration_ms, return_inverse=True)
    t_of_column = np.zeros(len(expiries))
    t_of_column[column] = resolved.t  # 0 for perpetuals (and expired instruments)
    return delta, column.reshape(-1).astype(np.int64), t_of_column


def portfolio_margins(book: Book, market: Market, params: Any = None) -> PortfolioMargins:
    """Deribit PM of every (account, vector key) of ``book`` as columns (the exchange-scale entry point:
    no per-account Python)."""
    p = PMParameters.load(params)
    book = without_spot(book)
    resolved = market.resolve(book.instruments)  # once: every step below reads these columns
    keys = vector_keys(book, market, resolved)
    vectors, labels = instrument_vectors(book, market, p, keys, resolved)
    n_keys = len(keys.names)
    grouping = group_positions(book, keys.key, n_keys)
    sums = account_pnl(book, vectors, grouping=grouping)
    group_key = sums.key
    n_std = p.n_standard
    pre = sums.pnl
    agg = pre.copy()

    # Per-group parameters.
    pair = [p.pair(b) for b in keys.base]
    cur = [p.currency(c) for c in keys.currency]
    price_range = np.array([x.price_range for x in pair])[group_key]
    index = keys.index[group_key]
    coin = keys.coin[group_key]
    per_coin = np.where(coin, 1.0, index)  # coin amounts -> the group's currency

    # Step 6.2: dampen the extended entries toward zero.
    ext = np.asarray(p.extended_moves)
    sign = np.sign(ext)
    dampener = np.array([x.extended_dampener for x in cur])[group_key]
    excess = np.maximum(np.abs(ext)[None, :] / price_range[:, None], 1.0) - 1.0
    amount = excess * dampener[:, None]
    amount = np.where(
        coin[:, None], amount / ((1.0 + sign[None, :] * price_range[:, None]) * index[:, None]), amount
    )
    e = agg[:, n_std:]
    agg[:, n_std:] = np.sign(e) * np.maximum(np.abs(e) - amount, 0.0) + 0.0  # + 0.0: no -0.0 entries

    # Step 6.3: gains count at pnl_offset, capped at max_offsetable_pnl (USD; coin vectors at the index).
    offset = np.array([x.pnl_offset for x in cur])[group_key]
    cap = np.array([x.max_offsetable_pnl for x in cur])[group_key] / np.where(coin, index, 1.0)
    # In place (100,000 x 35 temporaries cost more in page faults than in arithmetic): losses pass,
    # gains become min(gain x offset, cap) (the cap is >= 0, so a zero gain stays zero).
    gains = np.maximum(agg, 0.0)
    np.minimum(agg, 0.0, out=agg)
    gains *= offset[:, None]
    np.minimum(gains, cap[:, None], out=gains)
    agg += gains
    del gains

    # Step 7: worst case; ties inside a bucket go to the middle (vol same) entry, as Deribit reports.
    lowest = agg.min(axis=1) if agg.shape[1] else np.zeros(len(agg))
    worst_case = np.maximum(0.0, -lowest)
    worst_index = np.argmin(agg, axis=1).astype(np.int64)
    middle = 3 * (worst_index // 3) + 1
    rows = np.arange(len(agg))
    use_middle = (worst_index < n_std) & (agg[rows, np.minimum(middle, agg.shape[1] - 1)] == lowest)
    worst_index = np.where(use_middle, middle, worst_index)

    # Step 8: roll shock per expiry and the delta shock (candidate).
    delta_unit, column, t_column = coin_delta_by_expiry(book, market, p, resolved)
    net = position_sums(book, delta_unit, column, len(t_column), grouping)  # the groups of `sums`
    amr = np.array([x.annualised_move_risk for x in cur])[group_key]
    floor = np.array([x.min_annualised_move for x in cur])[group_key]
    rate = np.maximum(floor[:, None], amr[:, None] * t_column[None, :])
    roll_shock = (np.abs(net) * rate).sum(axis=1) * per_coin
    delta = net.sum(axis=1)
    threshold = np.array([x.delta_total_liq_shock_threshold for x in pair])[group_key] / index
    m_inc = np.array([x.m_inc for x in pair])[group_key]
    max_shock = np.array([x.max_delta_shock for x in pair])[group_key]
    size = np.abs(delta)
    delta_shock = size * np.minimum(max_shock, m_inc * np.maximum(0.0, size - threshold)) * per_coin

    risk_matrix_margin = worst_case + roll_shock + delta_shock
    addon_by_key = np.array([sum(p.addons.get(name, {}).values()) for name in keys.names], dtype=np.float64)
    addons = addon_by_key[group_key]
    return PortfolioMargins(
        params=p,
        keys=keys,
        account=sums.account,
        key=group_key,
        instrument_vectors=vectors,
        pre_aggregated=pre,
        aggregated=agg,
        worst_case=worst_case,
        worst_index=worst_index,
        roll_shock=roll_shock,
        delta_shock=delta_shock,
        delta=delta,
        risk_matrix_margin=risk_matrix_margin,
        addons=addons,
        initial=risk_matrix_margin + addons,
        maintenance=p.mm_factor * risk_matrix_margin,
        labels=labels,
    )


CALIBRATION: dict[str, Calibration] = {
    "worst_case": "calibrated",
    "roll_shock": "calibrated",
    "delta_shock": "candidate",
    "correlation_contingency": "candidate",
}


def results(book: Book, pm: PortfolioMargins) -> list[MarginResult]:
    """One MarginResult per (account, vector key)."""
    out = []
    table = book.instruments
    has_options = np.zeros(len(pm.keys.names), dtype=bool)
    has_options[np.unique(pm.keys.key[table.kind == KIND_OPTION])] = True
    n_std = pm.params.n_standard
    for g in range(len(pm)):
        k = int(pm.key[g])
        name, currency = pm.keys.names[k], pm.keys.currency[k]
        usd_rate = float(pm.keys.index[k]) if pm.keys.coin[k] else 1.0
        components = {
            "worst_case": float(pm.worst_case[g]),
            "roll_shock": float(pm.roll_shock[g]),
            "delta_shock": float(pm.delta_shock[g]),
            "correlation_contingency": 0.0,
        }
        calibration = dict(CALIBRATION)
        if has_options[k] or not pm.keys.coin[k]:
            # Option vectors, options in the roll shock and linear vectors are candidates (module doc).
            calibration["worst_case"] = "candidate"
            calibration["roll_shock"] = "candidate"
        addons = pm.params.addons.get(name, {})
        for addon in ADDONS:
            if addon in addons:
                components[addon] = addons[addon]
                calibration[addon] = "exact"
        i = int(pm.worst_index[g])
        worst = WorstScenario(i, pm.labels[k][i], float(pm.aggregated[g, i]))
        initial = float(pm.initial[g])
        maintenance = float(pm.maintenance[g])
        out.append(
            MarginResult.in_currency(
                method=METHOD,
                initial=initial,
                maintenance=maintenance,
                currency=currency,
                usd_rate=usd_rate,
                worst_scenario=worst,
                components=components,
                calibration=calibration,
                parameters_source=pm.params.source,
                details={
                    "risk_matrix_margin": float(pm.risk_matrix_margin[g]),
                    "mm_factor": pm.params.mm_factor,
                    "net_delta": float(pm.delta[g]),
                    "bucket": i // 3 + 1 if i < n_std else None,
                    "pre_aggregated": {
                        "standard": pm.pre_aggregated[g, :n_std].tolist(),
                        "extended": pm.pre_aggregated[g, n_std:].tolist(),
                    },
                    "aggregated": {
                        "standard": pm.aggregated[g, :n_std].tolist(),
                        "extended": pm.aggregated[g, n_std:].tolist(),
                    },
                },
                account=plain(book.accounts[int(pm.account[g])]),
                group=name,
            )
        )
    return out


def portfolio_margin(book: Book, market: Market, params: Any = None) -> MarginResult:
    """Deribit-style portfolio margin of ``book`` (module doc): one result per (account, vector key), summed
    (in USD when the currencies differ) for a book of several.  A legacy preset
    (``"deribit-pm-legacy-2017"`` ... ``"-2020"``, see `legacy`) runs the pre-2024 model instead."""
    if is_legacy(params):
        return legacy_margin(book, market, params)
    pm = portfolio_margins(book, market, params)
    return aggregate(METHOD, results(book, pm), pm.params.source)


__all__ = [
    "CurrencyParameters",
    "PMParameters",
    "PairParameters",
    "PortfolioMargins",
    "coin_delta_by_expiry",
    "instrument_vectors",
    "portfolio_margin",
    "portfolio_margins",
    "results",
    "vector_keys",
]
