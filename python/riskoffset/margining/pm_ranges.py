"""Deribit PM of every account of a large book, a range of accounts at a time on instruments revalued once: what
`margin_accounts` runs on this machine, and each task of a Dask cluster on its part of the book.

Why ranges: one pass over a whole book of a million accounts makes a dozen temporary columns per (account,
group) row, about 400 MB, fresh memory on every call.  The operating system then supplies and zeroes those pages
again each time, and with numpy's transparent huge pages this system time grew from call to call (0.1 s to more
than 1 s for a million accounts on our 2-vCPU VM).  A range of `ACCOUNTS_PER_PASS` accounts keeps the
temporaries to a few MB that the allocator hands back from call to call.  The figures are those of the whole
pass bit for bit: accounts are independent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .._types import FloatArray, IntArray
from ..accounts.scenario_collateral import coin_moves
from ..book import Book
from ..instruments import InstrumentTable
from ..market import Market
from . import check_rows
from .bulk import indptr_ranges
from .columns import AccountMargins
from .portfolio import PMInputs, from_columns, group_margins, pm_inputs

#: Accounts margined in one pass (about 0.6 M positions at 20 an account): past ~100,000 the pass's
#: temporaries no longer stay in memory the allocator reuses; below ~10,000 the per-pass overhead shows.
ACCOUNTS_PER_PASS = 32_768


def shell(table: InstrumentTable) -> Book:
    """A book without positions over ``table`` (what the per-instrument steps need)."""
    return Book(table, np.zeros(0, np.int64), np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0))


@dataclass(frozen=True)
class PMSetup:
    """What the PM pass needs besides the positions: the instruments revalued once, the parameters, and with
    balances each vector key's scenario P&L of one coin held (`coin_moves`)."""

    params: Any
    keys: Any
    inputs: PMInputs
    labels: tuple[tuple[str, ...], ...]
    coin_moves: tuple[FloatArray, IntArray, FloatArray] | None = None

    @classmethod
    def of(
        cls, table: InstrumentTable, market: Market, params: Any = None, currencies: tuple[str, ...] | None = None
    ) -> PMSetup:
        """The setup of ``table`` on ``market``; ``currencies``: those of the balances to be revalued inside
        the scenarios (None: no balances)."""
        p, keys, inputs, labels = pm_inputs(shell(table), market, params)
        moves = coin_moves(p, keys, currencies) if currencies is not None else None
        return cls(p, keys, inputs, labels, moves)


def pm_account_margins(
    book: Book, setup: PMSetup, coins: FloatArray | None = None, on_range: Callable[[int], None] | None = None
) -> tuple[AccountMargins, IntArray]:
    """Deribit PM of every account of ``book`` (`margin_accounts`' figures), about `ACCOUNTS_PER_PASS` at a time
    (ranges of about equal positions); and the number of (account, group) rows of each account.  ``coins``: the
    accounts' balances per [account, currency of the setup] (revalued inside the scenarios); ``on_range``: called
    with the number of accounts of each range done (a progress bar)."""
    n = len(book.accounts)
    ranges = indptr_ranges(np.asarray(book.indptr), -(-n // ACCOUNTS_PER_PASS)) if n > ACCOUNTS_PER_PASS else [(0, n)]
    parts, counts = [], []
    for a, b in ranges:
        part = book if (a, b) == (0, n) else book.account_range(a, b)
        balances = None
        if coins is not None and setup.coin_moves is not None:
            balances = (coins[a:b], *setup.coin_moves)
        columns = setup.inputs.run(part.indptr, part.indices, part.quantity, keep_vectors=False, coins=balances)
        rows = group_margins(part, from_columns(part, setup.params, setup.keys, setup.inputs, setup.labels, columns))
        check_rows(rows)
        parts.append(rows.by_account())
        counts.append(np.bincount(rows.account, minlength=b - a).astype(np.int64))
        if on_range is not None:
            on_range(b - a)
    count = np.concatenate(counts) if counts else np.zeros(0, np.int64)
    if len(parts) == 1:
        return parts[0], count
    return AccountMargins.concat(parts, [int(c.sum()) for c in counts]), count


__all__ = ["ACCOUNTS_PER_PASS", "PMSetup", "pm_account_margins", "shell"]
