"""The Deribit portfolio-margin reductions written with numpy over (groups x 35) matrices: the Python path
the C++ pass replaced, kept as an independent reference (same formulas, docs/margin.md) and as the baseline
the exchange-scale benchmark measures its speed-up against."""

from __future__ import annotations

from typing import Any

import numpy as np
from riskoffset import Book
from riskoffset._core import margin as core_margin
from riskoffset.margining.portfolio import PMInputs, key_matrix
from riskoffset.sparse import Grouping, account_pnl, group_positions

FIELD = {name: i for i, name in enumerate(core_margin.KEY_FIELDS)}


def position_sums(book: Book, value: np.ndarray, column: np.ndarray, n_columns: int, grouping: Grouping) -> np.ndarray:
    """Sums of quantity x value[instrument] per group and per column[instrument] (net delta per expiry), shape
    (groups, n_columns): numpy's bincount over the dense cells, as the package summed them before."""
    group_code = np.repeat(np.arange(len(grouping.ids)), grouping.lengths)
    indices, quantity = book.indices, book.quantity
    if grouping.order is not None:
        indices, quantity = indices[grouping.order], quantity[grouping.order]
    cell = group_code * n_columns + column[indices]
    sums = np.bincount(cell, weights=quantity * value[indices], minlength=len(grouping.ids) * n_columns)
    return np.asarray(sums, dtype=np.float64).reshape(len(grouping.ids), n_columns)


def portfolio_margin_numpy(book: Book, inputs: PMInputs) -> dict[str, Any]:
    """Per (account, key) group: initial, maintenance, worst case and its index, roll and delta shocks."""
    keys = inputs.key_matrix
    n_keys = len(keys)
    instrument_key = np.where(inputs.instrument_key < 0, n_keys, inputs.instrument_key)  # spot: its own key
    grouping = group_positions(book, instrument_key, n_keys + 1)
    sums = account_pnl(book, inputs.vectors, grouping=grouping)
    risk = sums.key < n_keys
    group_key = sums.key[risk]
    agg = sums.pnl[risk].copy()
    n_std = inputs.n_standard
    k = keys[group_key]
    price_range, index, coin = k[:, FIELD["price_range"]], k[:, FIELD["index"]], k[:, FIELD["coin"]] != 0
    per_coin = np.where(coin, 1.0, index)
    ext = inputs.extended_moves
    excess = np.maximum(np.abs(ext)[None, :] / price_range[:, None], 1.0) - 1.0
    amount = excess * k[:, FIELD["extended_dampener"]][:, None]
    amount = np.where(
        coin[:, None],
        amount / ((1.0 + np.sign(ext)[None, :] * price_range[:, None]) * index[:, None]),
        amount,
    )
    e = agg[:, n_std:]
    agg[:, n_std:] = np.sign(e) * np.maximum(np.abs(e) - amount, 0.0) + 0.0
    cap = k[:, FIELD["max_offsetable_pnl"]] / np.where(coin, index, 1.0)
    gains = np.minimum(np.maximum(agg, 0.0) * k[:, FIELD["pnl_offset"]][:, None], cap[:, None])
    agg = np.minimum(agg, 0.0) + gains
    lowest = agg.min(axis=1)
    worst_case = np.maximum(0.0, -lowest)
    worst_index = np.argmin(agg, axis=1)
    middle = 3 * (worst_index // 3) + 1
    rows = np.arange(len(agg))
    use_middle = (worst_index < n_std) & (agg[rows, np.minimum(middle, agg.shape[1] - 1)] == lowest)
    worst_index = np.where(use_middle, middle, worst_index)
    net = position_sums(book, inputs.delta, inputs.column, len(inputs.t_column), grouping)[risk]
    rate = np.maximum(
        k[:, FIELD["min_annualised_move"]][:, None],
        k[:, FIELD["annualised_move_risk"]][:, None] * inputs.t_column,
    )
    roll_shock = (np.abs(net) * rate).sum(axis=1) * per_coin
    delta = net.sum(axis=1)
    size = np.abs(delta)
    threshold = k[:, FIELD["delta_total_liq_shock_threshold"]] / index
    delta_shock = (
        size
        * np.minimum(k[:, FIELD["max_delta_shock"]], k[:, FIELD["m_inc"]] * np.maximum(0.0, size - threshold))
        * per_coin
    )
    rmm = worst_case + roll_shock + delta_shock
    return {
        "account": sums.account[risk],
        "key": group_key,
        "worst_case": worst_case,
        "worst_index": worst_index,
        "roll_shock": roll_shock,
        "delta_shock": delta_shock,
        "initial": rmm + k[:, FIELD["addons"]],
        "maintenance": inputs.mm_factor * rmm,
    }


__all__ = ["key_matrix", "portfolio_margin_numpy"]
