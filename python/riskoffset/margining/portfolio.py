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

Calibrated against the BTC worked example docs/margin.md gives (Deribit's PM simulator's output): the futures
vectors, the extended futures entries, the dampener on them, the worst case, the roll shock of futures and
``MM = 0.8 x risk_matrix_margin``.  Candidates (documented, not yet checked against Deribit): option vectors
(the vol-state order and the DTE floor are unpublished), options in the roll shock, the delta shock, the
extended conversion and the dampener of linear (USDC) vectors, ``max_offsetable_pnl`` units.  X:PM
cross-collateral offsets are not modelled: each vector is margined on its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import _core
from .._types import FloatArray, IntArray
from ..book import Book
from ..instruments import INVERSE, KIND_FUTURE, KIND_OPTION, KIND_PERPETUAL, KIND_SPOT, InstrumentTable
from ..market import Market, ResolvedMarket
from ..scalars import plain
from .columns import CALIBRATION_ORDER, NO_TAG, GroupMargins
from .legacy import is_legacy, legacy_margin, legacy_margins
from .pm_parameters import ADDONS, METHOD, CurrencyParameters, PairParameters, PMParameters
from .result import Calibration, MarginResult
from .scenarios import OptionColumns, closed_form_pnl, revalue_options
from .vectors import VectorKeys, key_columns, vector_keys


# ---------------------------------------------------------------------------------------------- the engine
@dataclass(frozen=True)
class PortfolioMargins:
    """Deribit PM of every (account, vector key) of a book, as columns (one row per group, account-major,
    keys in code order within an account)."""

    params: PMParameters
    keys: VectorKeys
    account: IntArray  # row of book.accounts
    key: IntArray  # code into keys.names
    instrument_vectors: FloatArray  # per unit of amount, rows = book.instruments: 27 standard + 8 extended
    pre_aggregated: FloatArray | None  # (groups, 35) sums before dampener and pnl_offset (None: not kept)
    aggregated: FloatArray | None  # (groups, 35) after them (None: not kept)
    worst_case: FloatArray
    worst_index: IntArray
    worst_pnl: FloatArray  # the aggregated entry of the worst scenario
    roll_shock: FloatArray
    delta_shock: FloatArray
    delta: FloatArray  # net coin delta of the group
    risk_matrix_margin: FloatArray
    addons: FloatArray  # open orders + MMP + spot margins given in the parameters
    initial: FloatArray
    maintenance: FloatArray
    labels: tuple[tuple[str, ...], ...]  # scenario labels per key
    inputs: PMInputs  # what the C++ pass read: enough to recompute any account's vectors

    def __len__(self) -> int:
        return len(self.account)


@dataclass(frozen=True)
class PMInputs:
    """The per-instrument and per-key arrays of the C++ portfolio-margin pass (small: instruments x 35),
    computed once per (book table, market, parameters) and reused for every account."""

    instrument_key: IntArray  # vector key per instrument, -1 for spot (collateral, not a risk position)
    vectors: FloatArray
    n_standard: int
    extended_moves: FloatArray
    delta: FloatArray  # coin delta per unit counted in the roll and delta shocks
    column: IntArray  # expiry column per instrument
    t_column: FloatArray
    key_matrix: FloatArray  # (n_keys, len(_core.margin.KEY_FIELDS))
    mm_factor: float

    def run(
        self,
        indptr: IntArray,
        indices: IntArray,
        quantity: FloatArray,
        *,
        keep_vectors: bool = False,
        collateral: FloatArray | None = None,
        coins: tuple[FloatArray, FloatArray, IntArray, FloatArray] | None = None,
    ) -> dict[str, Any]:
        """The pass over a CSR book (or a contiguous range of its accounts, ``indptr`` rebased to 0).
        ``coins``: (balances per [account, coin], their USD P&L per coin per key and scenario column, the coin
        column each key takes or -1, the most a gain of each coin counts), from
        `riskoffset.accounts.scenario_collateral.coin_moves`: each balance is added, in C++, to its account's
        first group of a key that takes that coin."""
        amounts, moves, coin_col, gain_cap = coins if coins is not None else (None, None, None, None)
        return dict(
            _core.margin.portfolio_margin_accounts(
                indptr,
                indices,
                quantity,
                self.instrument_key,
                self.vectors,
                self.n_standard,
                self.extended_moves,
                self.delta,
                self.column,
                self.t_column,
                self.key_matrix,
                self.mm_factor,
                keep_vectors,
                collateral,
                amounts,
                moves,
                coin_col,
                gain_cap,
            )
        )

    def group_figures(self, pre: FloatArray, key: int, net_by_column: FloatArray) -> dict[str, Any]:
        """Steps after the sum for one group (the same kernel as `run`): the what-if path's reduction."""
        return dict(
            _core.margin.portfolio_margin_group(
                pre,
                self.n_standard,
                self.extended_moves,
                self.key_matrix[key],
                net_by_column,
                self.t_column,
                self.mm_factor,
            )
        )


def instrument_vectors(
    book: Book,
    market: Market,
    params: PMParameters,
    keys: VectorKeys,
    resolved: ResolvedMarket | None = None,
) -> tuple[FloatArray, tuple[tuple[str, ...], ...], FloatArray]:
    """Per unit of amount of every instrument of the book: its scenario vector and its coin delta counted in
    the roll and delta shocks (`vectors_of_rows`), and the scenario labels of each key."""
    table = book.instruments
    if resolved is None:
        resolved = market.resolve(table)
    out, delta = vectors_of_rows(table, market, params, resolved, np.arange(len(table), dtype=np.int64))
    labels: list[tuple[str, ...]] = [()] * len(keys.names)
    for k, base in enumerate(keys.base):
        labels[k] = params.scenarios(params.pair(base)).labels
    return out, tuple(labels), delta


def vectors_of_rows(
    table: InstrumentTable,
    market: Market,
    params: PMParameters,
    resolved: ResolvedMarket,
    rows: IntArray,
    *,
    option_columns: Mapping[int, OptionColumns] | None = None,
) -> tuple[FloatArray, FloatArray]:
    """For the instruments ``rows`` of ``table`` (``resolved`` its market columns), per unit of amount: the 27
    standard scenario P&Ls and the 8 extended ones already weighted (and, coin-settled, converted to the edge
    of the range), and the coin delta counted in the roll and delta shocks, read from the unshocked column of
    the same kernel pass (no second pricing pass): premium-adjusted for inverse options (delta - V / F), 1 / F
    coin per USD of face for inverse futures, 1 for linear futures; 0 for spot, for expired instruments, and
    for options unless the parameters count options in the roll shock.  The full pass and the live engine's
    revaluation of one underlying both come here.  ``option_columns``: per underlying code, the `OptionColumns`
    of the options of ``rows`` in order, as `OptionColumns.of` builds them (a caller that keeps them passes them
    instead of having them built twice)."""
    n_std = params.n_standard
    out = np.zeros((len(rows), n_std + len(params.extended_moves)))
    delta = np.zeros(len(rows))  # the options' (futures' below)
    underlying = table.underlying[rows]
    option = table.kind[rows] == KIND_OPTION
    for code in np.unique(underlying).tolist():
        pair = params.pair(table.underlyings[code])
        scenarios = params.scenarios(pair)
        mine = underlying == code
        others = np.flatnonzero(mine & ~option)
        if len(others):
            pnl = closed_form_pnl(table, resolved, scenarios, rows[others])
            weigh_extended(pnl, params, pair, table.settlement[rows[others]] == INVERSE)
            out[others] = pnl
        options = np.flatnonzero(mine & option)
        if len(options):
            at = rows[options]
            columns = option_columns.get(code) if option_columns is not None else None
            if columns is None:
                columns = OptionColumns.of(table, resolved, at, scenarios)
            elif len(columns.flag) != len(at):
                raise ValueError(f"option_columns of underlying code {code}: {len(columns.flag)} options, not {len(at)}")
            sigma = np.ascontiguousarray(resolved.sigma[at], dtype=np.float64)
            out[options], delta[options] = option_vectors(columns, sigma, params, pair, market.rate)
    kind = table.kind[rows]
    inverse = table.settlement[rows] == INVERSE
    futures = (kind == KIND_FUTURE) | (kind == KIND_PERPETUAL)
    forward = resolved.forward[rows]
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(futures, np.where(inverse, 1.0 / forward, 1.0), delta)
    delta = np.where(resolved.expired[rows], 0.0, delta)  # settled: no risk left
    return out, delta.astype(np.float64)


def option_vectors(
    columns: OptionColumns,
    sigma: FloatArray,
    params: PMParameters,
    pair: PairParameters,
    rate: float,
    *,
    out: FloatArray | None = None,
    base: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Per unit of options of one pair (``columns``, their vols ``sigma``): their scenario vectors (into
    ``out`` when given) and the coin delta counted in the roll and delta shocks (`vectors_of_rows`), from one
    kernel pass (`scenarios.revalue_options`; ``base``, when given, receives its unshocked value and dV/dF).
    The full pass and the live engine's vol tick of one option both come here."""
    n = len(sigma)
    delta = np.zeros(n) if params.roll_shock_includes_options else None
    pnl = revalue_options(
        columns,
        sigma,
        params.scenarios(pair),
        rate,
        out=out,
        base=base,
        extended=(params.n_standard, *extended_scales(params, pair)),
        delta=delta,
    )
    return pnl, np.zeros(n) if delta is None else delta


def bind_option_reprice(
    columns: OptionColumns,
    params: PMParameters,
    pair: PairParameters,
    rate: float,
    *,
    unit_value: FloatArray,
    unit_delta: FloatArray,
    vectors: FloatArray,
    delta: FloatArray,
) -> Any:
    """The compiled twin of `option_vectors` plus `unit_greeks.option_greeks` for one option at a time, bound to
    the live engine's arrays: ``reprice(row, sigma)`` writes the option's value in its settlement currency and
    premium-adjusted delta into ``unit_value`` / ``unit_delta``, its vector and shock delta into ``vectors`` /
    ``delta`` at ``row``, from the same kernels (the same bits), or returns False with nothing written when a
    kernel refuses an input.  ``columns``: the kept columns of every instrument row (`OptionColumns`)."""
    scenarios = params.scenarios(pair)
    layout = scenarios.layout
    if layout.move is None:
        raise ValueError("the scenario set moves each underlying apart: no one-option reprice")
    weight, convert = extended_scales(params, pair)
    identity = layout.identity_flags
    return _core.scenarios.OptionReprice(
        *columns,
        layout.shifts,
        scenarios.vol_mode == "relative",
        scenarios.vol_floor_up,
        scenarios.vol_floor,
        layout.vol_state,
        layout.move,
        layout.time_shift,
        rate,
        np.zeros(len(layout.move) - 1, dtype=np.uint8) if identity is None else identity,
        params.n_standard,
        weight,
        convert,
        params.roll_shock_includes_options,
        unit_value,
        unit_delta,
        vectors,
        delta,
    )


def extended_scales(params: PMParameters, pair: PairParameters) -> tuple[FloatArray, FloatArray]:
    """(weight, coin conversion) of the extended entries of a pair's vectors (module doc): ``w =
    extended_table_factor R / |m|`` and, coin-settled, the P&L realised at ``S (1 + m)`` re-expressed at the
    edge of the standard range ``S (1 + s R)`` (built once per pair)."""
    cache: dict[PairParameters, tuple[FloatArray, FloatArray]] = params.__dict__.setdefault("_extended_scales", {})
    scales = cache.get(pair)
    if scales is None:
        ext = np.asarray(params.extended_moves, dtype=np.float64)
        weight = pair.extended_table_factor * pair.price_range / np.abs(ext)
        convert = (1.0 + ext) / (1.0 + np.sign(ext) * pair.price_range)
        scales = cache[pair] = (weight, convert)
    return scales


def weigh_extended(pnl: FloatArray, params: PMParameters, pair: PairParameters, coin: npt.NDArray[np.bool_]) -> None:
    """Weigh the extended entries of the vectors of futures and spot (rows ``pnl``, ``coin``: coin-settled) in
    place by `extended_scales` (options are weighed by `option_vectors`, in the kernel's call)."""
    weight, convert = extended_scales(params, pair)
    n_std = params.n_standard
    pnl[:, n_std:] *= weight
    pnl[coin, n_std:] *= convert


def expiry_columns(book: Book, resolved: ResolvedMarket) -> tuple[IntArray, FloatArray]:
    """(expiry column of each instrument, T of each column: 0 for perpetuals and expired instruments)."""
    expiries, column = np.unique(book.instruments.expiration_ms, return_inverse=True)
    t_of_column = np.zeros(len(expiries))
    t_of_column[column] = resolved.t
    return column.reshape(-1).astype(np.int64), t_of_column


def key_matrix(params: PMParameters, keys: VectorKeys) -> FloatArray:
    """Each vector key's parameters in the order of ``_core.margin.KEY_FIELDS``."""
    rows = []
    for name, base, currency, coin, index in zip(keys.names, keys.base, keys.currency, keys.coin, keys.index):
        pair, cur = params.pair(base), params.currency(currency)
        values = {
            "price_range": pair.price_range,
            "index": float(index),
            "extended_dampener": cur.extended_dampener,
            "pnl_offset": cur.pnl_offset,
            "max_offsetable_pnl": cur.max_offsetable_pnl,
            "annualised_move_risk": cur.annualised_move_risk,
            "min_annualised_move": cur.min_annualised_move,
            "delta_total_liq_shock_threshold": pair.delta_total_liq_shock_threshold,
            "m_inc": pair.m_inc,
            "max_delta_shock": pair.max_delta_shock,
            "addons": float(sum(params.addons.get(name, {}).values())),
            "coin": 1.0 if coin else 0.0,
        }
        rows.append([values[f] for f in _core.margin.KEY_FIELDS])
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(_core.margin.KEY_FIELDS))


_INDEX_FIELD = _core.margin.KEY_FIELDS.index("index")


def key_matrix_at(matrix: FloatArray, index: FloatArray) -> FloatArray:
    """`key_matrix` of the same keys at other index prices (one per key): the index is the only market field
    (a live index tick moves it alone)."""
    out = matrix.copy()
    out[:, _INDEX_FIELD] = index
    return out


def pm_inputs(
    book: Book, market: Market, params: Any = None
) -> tuple[PMParameters, VectorKeys, PMInputs, tuple[tuple[str, ...], ...]]:
    """Everything the pass needs that does not depend on the accounts: the market resolved once, every
    instrument revalued once."""
    p = PMParameters.load(params)
    table = book.instruments
    resolved = market.resolve(table)  # once: every step below reads these columns
    keys = vector_keys(book, market, resolved)
    vectors, labels, delta = instrument_vectors(book, market, p, keys, resolved)
    column, t_column = expiry_columns(book, resolved)
    instrument_key = np.where(table.kind == KIND_SPOT, -1, keys.key).astype(np.int64)
    inputs = PMInputs(
        instrument_key=instrument_key,
        vectors=vectors,
        n_standard=p.n_standard,
        extended_moves=np.asarray(p.extended_moves, dtype=np.float64),
        delta=delta,
        column=column,
        t_column=t_column,
        key_matrix=key_matrix(p, keys),
        mm_factor=p.mm_factor,
    )
    return p, keys, inputs, labels


def check_finite(book: Book, names: tuple[str, ...], columns: dict[str, Any]) -> None:
    """A margin figure that is not a finite number is an error naming the account and key, never output."""
    bad = ~(np.isfinite(columns["initial"]) & np.isfinite(columns["maintenance"]))
    if bad.any():
        g = int(np.flatnonzero(bad)[0])
        account = plain(book.accounts[int(columns["account"][g])])
        raise ValueError(
            f"deribit-pm: account {account!r}, group {names[int(columns['key'][g])]}: the margin is not a finite "
            "number (check the market's prices and vols for this account's instruments)"
        )


def portfolio_margins(
    book: Book,
    market: Market,
    params: Any = None,
    *,
    keep_vectors: bool = True,
    collateral: FloatArray | None = None,
) -> PortfolioMargins:
    """Deribit PM of every (account, vector key) of ``book`` as columns: one C++ pass over the positions
    (the sums, the dampener, pnl_offset, the worst case, the roll and delta shocks) after the instruments are
    revalued once.  ``keep_vectors=False`` skips the (groups x 35) matrices; ``collateral`` (groups x 35, in
    the order of `group_layout`) is added to each group's vector before the non-linear steps."""
    p, keys, inputs, labels = pm_inputs(book, market, params)
    columns = inputs.run(
        book.indptr, book.indices, book.quantity, keep_vectors=keep_vectors, collateral=collateral
    )
    return from_columns(book, p, keys, inputs, labels, columns)


def from_columns(
    book: Book,
    params: PMParameters,
    keys: VectorKeys,
    inputs: PMInputs,
    labels: tuple[tuple[str, ...], ...],
    columns: dict[str, Any],
) -> PortfolioMargins:
    """`PortfolioMargins` from the columns of the C++ pass over the whole book (in one call or, on a cluster,
    concatenated from contiguous account ranges): refuses a non-finite figure."""
    check_finite(book, keys.names, columns)
    addons = inputs.key_matrix[:, _core.margin.KEY_FIELDS.index("addons")][columns["key"]]
    return PortfolioMargins(
        params=params,
        keys=keys,
        account=columns["account"],
        key=columns["key"],
        instrument_vectors=inputs.vectors,
        pre_aggregated=columns.get("pre_aggregated"),
        aggregated=columns.get("aggregated"),
        worst_case=columns["worst_case"],
        worst_index=columns["worst_index"],
        worst_pnl=columns["worst_pnl"],
        roll_shock=columns["roll_shock"],
        delta_shock=columns["delta_shock"],
        delta=columns["delta"],
        risk_matrix_margin=columns["risk_matrix_margin"],
        addons=addons,
        initial=columns["initial"],
        maintenance=columns["maintenance"],
        labels=labels,
        inputs=inputs,
    )


def group_layout(book: Book, pm_or_inputs: PortfolioMargins | PMInputs) -> tuple[IntArray, IntArray]:
    """(account row, key code) of every group of the pass, in its row order (to lay out ``collateral``)."""
    inputs = pm_or_inputs.inputs if isinstance(pm_or_inputs, PortfolioMargins) else pm_or_inputs
    account, key = _core.margin.group_layout(
        book.indptr, book.indices, inputs.instrument_key, len(inputs.key_matrix)
    )
    return account, key


CALIBRATION: dict[str, Calibration] = {
    "worst_case": "calibrated",
    "roll_shock": "calibrated",
    "delta_shock": "candidate",
    "correlation_contingency": "candidate",
}


def group_margins(book: Book, pm: PortfolioMargins) -> GroupMargins:
    """The rows of ``pm`` as `GroupMargins`: columns for the whole book, a full `MarginResult` (with the
    scenario vectors in its details) built only for a row that is looked at."""
    table = book.instruments
    keys = pm.keys
    n_keys = len(keys.names)
    has_options = np.zeros(n_keys, dtype=bool)
    has_options[np.unique(keys.key[table.kind == KIND_OPTION])] = True
    # Option vectors, options in the roll shock and linear vectors are candidates (module doc).
    candidate_key = has_options | ~keys.coin
    key = pm.key
    rank = {name: i for i, name in enumerate(CALIBRATION_ORDER)}
    # (columns of the same tags share one array: they are read, never written)
    by_key = np.where(candidate_key, rank["candidate"], rank["calibrated"]).astype(np.int64)[key]
    every_candidate = np.full(len(key), rank["candidate"], dtype=np.int64)
    calibration: dict[str, IntArray] = {
        "worst_case": by_key,
        "roll_shock": by_key,
        "delta_shock": every_candidate,
        "correlation_contingency": every_candidate,
    }
    components: dict[str, FloatArray] = {
        "worst_case": pm.worst_case,
        "roll_shock": pm.roll_shock,
        "delta_shock": pm.delta_shock,
        "correlation_contingency": np.zeros(len(key)),
    }
    for addon in ADDONS:
        given = np.array([addon in pm.params.addons.get(name, {}) for name in keys.names], dtype=bool)
        if given.any():
            amount = np.array([pm.params.addons.get(name, {}).get(addon, 0.0) for name in keys.names])
            components[addon] = amount[key]
            calibration[addon] = np.where(given[key], rank["exact"], NO_TAG).astype(np.int64)

    def describe(row: int, index: int) -> str:
        return pm.labels[int(key[row])][index]

    def full_result(columns: GroupMargins, row: int) -> MarginResult:
        return _row_result(book, pm, row, columns)

    return GroupMargins(
        method=METHOD,
        parameters_source=pm.params.source,
        accounts=book.accounts,
        account=pm.account,
        **key_columns(keys, key),
        initial=pm.initial,
        maintenance=pm.maintenance,
        components=components,
        calibration=calibration,
        worst_index=pm.worst_index,
        worst_pnl=pm.worst_pnl,
        worst_description=describe,
        row_result=full_result,
    )


def _account_vectors(book: Book, pm: PortfolioMargins, account: int) -> dict[str, Any]:
    """The pass rerun on one account (the same kernel, so the same bits), with its scenario vectors."""
    s, e = int(book.indptr[account]), int(book.indptr[account + 1])
    return pm.inputs.run(
        np.array([0, e - s], dtype=np.int64), book.indices[s:e], book.quantity[s:e], keep_vectors=True
    )


def _row_result(book: Book, pm: PortfolioMargins, g: int, columns: GroupMargins) -> MarginResult:
    base = columns.result_from_columns(g)
    if pm.pre_aggregated is not None and pm.aggregated is not None:
        pre, agg = pm.pre_aggregated[g], pm.aggregated[g]
    else:
        one = _account_vectors(book, pm, int(pm.account[g]))
        row = int(np.flatnonzero(one["key"] == pm.key[g])[0])
        pre, agg = one["pre_aggregated"][row], one["aggregated"][row]
    n_std = pm.params.n_standard
    i = int(pm.worst_index[g])
    details = {
        **base.details,
        "risk_matrix_margin": float(pm.risk_matrix_margin[g]),
        "mm_factor": pm.params.mm_factor,
        "net_delta": float(pm.delta[g]),
        "bucket": i // 3 + 1 if i < n_std else None,
        "pre_aggregated": {"standard": pre[:n_std].tolist(), "extended": pre[n_std:].tolist()},
        "aggregated": {"standard": agg[:n_std].tolist(), "extended": agg[n_std:].tolist()},
    }
    return dataclasses.replace(base, details=details)


def results(book: Book, pm: PortfolioMargins) -> list[MarginResult]:
    """One MarginResult per (account, vector key)."""
    return list(group_margins(book, pm))


def portfolio_margin(book: Book, market: Market, params: Any = None) -> MarginResult:
    """Deribit-style portfolio margin of ``book`` (module doc): one result per (account, vector key), summed
    (in USD when the currencies differ) for a book of several, with the rows as columns in ``groups``
    (a `GroupMargins`).  A legacy preset (``"deribit-pm-legacy-2017"`` ... ``"-2020"``, see `legacy`) runs
    the pre-2024 model instead."""
    if is_legacy(params):
        return legacy_margin(book, market, params)
    return portfolio_rows(book, market, params).total()


def portfolio_rows(book: Book, market: Market, params: Any = None) -> GroupMargins:
    """The (account, vector key) rows of `portfolio_margin`, without their total."""
    if is_legacy(params):
        return legacy_margins(book, market, params)
    return group_margins(book, portfolio_margins(book, market, params, keep_vectors=False))


__all__ = [
    "CurrencyParameters",
    "PMInputs",
    "PMParameters",
    "PairParameters",
    "PortfolioMargins",
    "expiry_columns",
    "from_columns",
    "group_layout",
    "group_margins",
    "instrument_vectors",
    "key_matrix",
    "option_vectors",
    "pm_inputs",
    "portfolio_margin",
    "portfolio_margins",
    "portfolio_rows",
    "results",
    "vector_keys",
    "vectors_of_rows",
    "weigh_extended",
]
