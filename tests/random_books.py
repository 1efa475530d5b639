"""Random books over the sample market's instruments, shared by the tests that check a many-account result
against each account or position read off one by one; and every margin method with its parameters."""

from __future__ import annotations

import numpy as np
import riskoffset as ro

#: Every margin method (and a legacy preset of deribit-pm), with parameters that run on the sample market.
MARGIN_METHODS = [
    ("deribit-pm", None),
    ("deribit-pm", "deribit-pm-legacy-2020"),
    ("deribit-standard", None),
    ("grid", None),
    ("span", "sample"),
]


def random_book(
    seed: int, n_accounts: int, n_positions: int, *, futures_lot: float = 1_000.0, other_lot: float = 1.0,
    most_lots: int = 9,
) -> ro.Book:  # fmt: skip
    """``n_positions`` rows on random instruments of the sample market, each in one of ``n_accounts`` accounts
    at random ("a0", "a1", ...), of -most_lots .. most_lots lots: ``futures_lot`` for futures and perpetuals (USD
    face or coin), ``other_lot`` for options and spot (netted: rows of one account and instrument add up)."""
    rng = np.random.default_rng(seed)
    table = ro.Market.sample().instruments
    rows = rng.integers(0, len(table), size=n_positions)
    accounts = [f"a{int(a)}" for a in rng.integers(0, n_accounts, size=n_positions)]
    lot = np.where(np.isin(table.kind[rows], (0, 1)), futures_lot, other_lot)
    amount = lot * rng.integers(-most_lots, most_lots + 1, size=n_positions)
    return ro.Book.from_arrays(accounts, table.names[rows], amount, instruments=table)
