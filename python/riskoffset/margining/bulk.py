"""Margin of every account of a book, one row per account: on this machine, or on a Dask cluster.

`margin_accounts` gives the figures `ro.margin` gives per account (initial and maintenance in the account's
currency and in USD, the currency, the group and scenario that drive it) as columns, without building a
result object per account.  With ``client=`` (a ``dask.distributed.Client``) or ``scheduler=`` (its
address) the accounts are split into contiguous ranges of the book and margined on the cluster: for
``deribit-pm`` the instruments are revalued once here and that small matrix is broadcast to the workers;
for the other methods each worker margins its accounts' sub-book on the broadcast market.  The per-account
figures do not depend on how the accounts are split, so the result is bit-for-bit the local one (see
docs/distributed.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._types import IntArray
from ..book import Book
from ..market import Market
from ..progress import bar
from ..progress import is_enabled as progress_on
from . import margin_rows
from .columns import AccountMargins, GroupMargins
from .legacy import is_legacy


def margin_accounts(
    book: Book | Any,
    market: Market,
    method: str = "deribit-pm",
    params: Any = None,
    *,
    client: Any = None,
    scheduler: str | None = None,
    partitions: int | None = None,
    progress: bool = False,
    balances: Any = None,
) -> AccountMargins:
    """Initial and maintenance margin of every account of ``book`` under ``method``, one row per account
    (`AccountMargins`: numpy columns, ``to_pandas()`` with pandas installed).

    book: a `Book`; a `ClusterBook` (``ro.distributed.scatter_book``: a book already on the workers); or on a
    cluster a positions dataset (Parquet or CSV files, or a Dask DataFrame) that the workers read in partitions.
    client / scheduler: run on a Dask cluster (the ``dask`` extra); partitions: number of account ranges
    (default: four per worker); progress: a progress bar on standard error (the cluster's tasks, or on
    this machine a large book's account ranges; also on when `riskoffset.progress` is enabled).  Without a
    client or scheduler everything runs here.  balances: a `riskoffset.Balances`; under deribit-pm its coin
    balances are revalued inside the scenarios of their coin (as ``ro.account(..., "X:PM")`` does), so a
    balance hedges, or adds to, the account's risk (here or on a cluster, for a Book or a ClusterBook).
    """
    if balances is not None:
        if method != "deribit-pm":
            raise ValueError(
                f"balances change the margin only under deribit-pm (coin balances inside its scenarios), not "
                f"{method}: the account view (ro.account) sets {method} against the balances"
            )
        if not isinstance(book, Book):
            from ..distributed import ClusterBook, cluster_book_margins

            if isinstance(book, ClusterBook):
                return cluster_book_margins(book, market, method, params, progress=progress, balances=balances)
            raise ValueError("balances= needs a Book or a ClusterBook (not a positions dataset)")
        if client is not None or scheduler is not None:
            from ..distributed import dask_margin_accounts

            return dask_margin_accounts(book, market, method, params, client=client, scheduler=scheduler,
                                        partitions=partitions, progress=progress, balances=balances)  # fmt: skip
        from ..accounts.scenario_collateral import pm_with_collateral

        coins = balances.for_accounts(book.accounts)
        if not is_legacy(params):
            return _pm_local(book, market, params, progress, coins, balances.currencies)
        rows: GroupMargins = pm_with_collateral(book, market, coins, balances.currencies, params).groups
        return rows.by_account()
    if not isinstance(book, Book):
        from ..distributed import ClusterBook, cluster_book_margins, is_dataset, margin_dataset

        if isinstance(book, ClusterBook):
            return cluster_book_margins(book, market, method, params, progress=progress)

        if not is_dataset(book):
            raise TypeError(f"book must be a Book or a positions dataset, not {type(book).__name__}")
        if client is None and scheduler is None:
            raise ValueError("a positions dataset is margined on a Dask cluster: pass client= or scheduler=")
        return margin_dataset(book, market, method, params, client=client, scheduler=scheduler, progress=progress)
    if client is None and scheduler is None:
        if partitions is not None:
            raise ValueError("partitions= applies to a Dask run: pass client= or scheduler= too")
        if method == "deribit-pm" and not is_legacy(params):
            return _pm_local(book, market, params, progress)
        if (progress or progress_on()) and len(book.accounts) >= CHUNKED:
            return _chunked(book, market, method, params)
        return margin_rows(book, market, method, params).by_account()
    from ..distributed import dask_margin_accounts  # optional: needs the dask extra

    return dask_margin_accounts(book, market, method, params, client=client, scheduler=scheduler,
                                partitions=partitions, progress=progress)  # fmt: skip


CHUNKED = 200_000  # accounts from which a local run with a progress bar goes range by range


def _pm_local(
    book: Book,
    market: Market,
    params: Any,
    progress: bool,
    coins: Any = None,
    currencies: tuple[str, ...] | None = None,
) -> AccountMargins:
    """Deribit PM here, range by range on instruments revalued once (`pm_ranges`), with a progress bar on a
    large book."""
    from .pm_ranges import PMSetup, pm_account_margins

    setup = PMSetup.of(book.instruments, market, params, currencies)
    if (progress or progress_on()) and len(book.accounts) >= CHUNKED:
        with bar("margin", len(book.accounts), "accounts", scale=True) as shown:
            return pm_account_margins(book, setup, coins, on_range=shown.update)[0]
    return pm_account_margins(book, setup, coins)[0]


def _chunked(book: Book, market: Market, method: str, params: Any) -> AccountMargins:
    """The local run in account ranges with a progress bar (the same figures: accounts are independent)."""
    parts, rows = [], []
    with bar("margin", len(book.accounts), "accounts", scale=True) as shown:
        for a, b in account_ranges(book, max(len(book.accounts) // 50_000, 1)):
            part = margin_rows(book.account_range(a, b), market, method, params)
            parts.append(part.by_account())
            rows.append(len(part))
            shown.update(b - a)
    return AccountMargins.concat(parts, rows)


def account_ranges(book: Book, partitions: int) -> list[tuple[int, int]]:
    """Split the accounts into at most ``partitions`` contiguous ranges of about equal positions (each range
    non-empty; a range never splits an account)."""
    if isinstance(partitions, bool) or not isinstance(partitions, (int, np.integer)) or partitions < 1:
        raise ValueError(f"partitions must be a positive integer, got {partitions!r}")
    return indptr_ranges(np.asarray(book.indptr), int(partitions))


def indptr_ranges(indptr: IntArray, partitions: int) -> list[tuple[int, int]]:
    """`account_ranges` of the accounts whose positions ``indptr`` delimits (CSR offsets)."""
    n = len(indptr) - 1
    if n <= 0:
        return []
    targets = np.linspace(0, indptr[-1], partitions + 1)[1:-1]
    cuts: IntArray = np.searchsorted(indptr, targets, side="left").astype(np.int64)
    bounds = np.unique(np.concatenate(([0], np.clip(cuts, 1, n - 1) if n > 1 else [], [n]))).astype(np.int64)
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


__all__ = ["account_ranges", "indptr_ranges", "margin_accounts"]
