"""Deribit's delta totals per account and currency: ``delta_total`` and ``projected_delta_total``.

Deribit's account summary reports, per currency, the sum of the positions' deltas in coin of their underlying:
an option counts its net transaction delta (Black delta minus its coin mark price for an inverse option: the
coin premium is itself coin exposure; the plain delta for a linear one), a future or perpetual its coin position
(USD face / mark for an inverse contract, the coin amount for a linear one).  Spot holdings are balances, not
positions, and count nothing here.  The *projected* total leaves out the positions that expire at the closest
expiration (the earliest expiry still ahead among the book's and the market's listed instruments), which is what the delta becomes once they
settle.

Example: long 10,000 USD face of an inverse future marked at 50,000 (0.2 BTC) and short 1 inverse call with a
delta of 0.4 marked at 0.05 BTC expiring at the closest expiration: delta total 0.2 - (0.4 - 0.05) = -0.15 BTC,
projected delta total 0.2 BTC.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .._types import FloatArray, IntArray
from ..instruments import KIND_SPOT, PERPETUAL_EXPIRY_MS, InstrumentTable
from ..market import Market
from ..sparse import account_sums, spread_by_column
from ..times import epoch_ms


def closest_expiration(table: InstrumentTable, market: Market) -> npt.NDArray[np.bool_]:
    """Per instrument of ``table``: whether it expires at the closest expiration, the earliest expiry after
    the market's valuation time among ``table`` and the market's listed instruments (the venue's, when the
    market has them); all False when no dated instrument is ahead."""
    now = epoch_ms(market.valuation_time)
    expiry = np.asarray(table.expiration_ms, dtype=np.int64)
    candidates = [expiry]
    if market.instruments is not None:
        candidates.append(np.asarray(market.instruments.expiration_ms, dtype=np.int64))
    every = np.concatenate(candidates)
    ahead = every[(every != PERPETUAL_EXPIRY_MS) & (every > now)]
    if not len(ahead):
        return np.zeros(len(expiry), dtype=bool)
    return np.asarray(expiry == ahead.min(), dtype=bool)


def delta_totals(
    indptr: IntArray,
    indices: IntArray,
    quantity: FloatArray,
    unit_delta: FloatArray,
    currency: IntArray,
    expiring: npt.NDArray[np.bool_],
    n_currencies: int,
) -> tuple[FloatArray, FloatArray]:
    """(delta total, projected delta total) per [account, currency] of a CSR book: each position's coin delta
    (quantity x its instrument's ``unit_delta``) summed into its account's row at its instrument's settlement
    ``currency`` column; the projected total without the instruments ``expiring`` at the closest expiration
    (module doc).  One sparse product over the positions."""
    per_instrument = spread_by_column(
        np.column_stack((unit_delta, np.where(expiring, 0.0, unit_delta))), currency, n_currencies
    )
    sums = account_sums(indptr, indices, quantity, per_instrument)
    return (
        np.ascontiguousarray(sums[:, :n_currencies], dtype=np.float64),
        np.ascontiguousarray(sums[:, n_currencies:], dtype=np.float64),
    )


def unit_deltas(table: InstrumentTable, net_transaction_delta: FloatArray) -> FloatArray:
    """Per instrument, the coin delta of one unit of amount that the totals count: the instruments' net
    transaction delta (`riskoffset.unit_greeks` ``delta_pa``), 0 for spot."""
    return np.asarray(np.where(table.kind == KIND_SPOT, 0.0, net_transaction_delta), dtype=np.float64)
