"""Margin of every account on a Dask cluster (the ``dask`` extra): ``ro.margin_accounts(..., client=...)``.

The split that makes this natural: the instruments are few and the accounts many.  For ``deribit-pm`` the
instruments are revalued once on the client (`pm_inputs`: instruments x 35 scenario P&Ls and the parameters
as arrays), that small object is broadcast to every worker, and the accounts are cut into contiguous ranges
of the book's CSR arrays; each task runs the same C++ pass as the local call on its range.  The other
methods send each task its accounts' sub-book and the broadcast market.  Results come back in account order
and are the local figures bit for bit, whatever the number of workers or partitions.

Also here: `read_book_partitions`, margining a book stored as a Parquet dataset or many CSV files, read
partition by partition by the workers and never gathered whole on the client.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ._types import FloatArray, IntArray
from .book import Book
from .margining import margin
from .margining.bulk import account_ranges
from .margining.columns import AccountMargins, GroupMargins
from .margining.legacy import is_legacy
from .margining.portfolio import PMInputs, from_columns, group_margins, pm_inputs
from .market import Market


def _require_distributed() -> Any:
    try:
        from dask import distributed
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "running on a Dask cluster needs the optional dask extra: pip install 'riskoffset[dask]'"
        ) from None
    return distributed


@contextmanager
def connected(client: Any = None, scheduler: str | None = None) -> Iterator[Any]:
    """The given client, or a client connected to ``scheduler`` (an address such as ``tcp://host:8786``)
    and closed afterwards."""
    if client is not None:
        if scheduler is not None:
            raise ValueError("give client= or scheduler=, not both")
        yield client
        return
    distributed = _require_distributed()
    if not isinstance(scheduler, str) or not scheduler:
        raise ValueError(f"scheduler must be the address of a Dask scheduler, got {scheduler!r}")
    own = distributed.Client(scheduler)
    try:
        yield own
    finally:
        own.close()


def _workers(client: Any) -> int:
    try:
        return max(1, len(client.scheduler_info().get("workers", {})))
    except Exception:  # noqa: BLE001 - any client-like object: fall back to one worker
        return 1


# ---------------------------------------------------------------------------------------------- tasks
def _pm_range(inputs: PMInputs, indptr: IntArray, indices: IntArray, quantity: FloatArray) -> dict[str, Any]:
    """One task: the C++ portfolio-margin pass over a contiguous range of accounts (``indptr`` from 0)."""
    return inputs.run(indptr, indices, quantity, keep_vectors=False)


def _method_range(book: Book, market: Market, method: str, params: Any) -> tuple[AccountMargins, int]:
    """One task: any method on a sub-book; (its accounts, its number of (account, group) rows)."""
    rows = GroupMargins.of(margin(book, market, method, params))
    return rows.by_account(), len(rows)


def dask_margin_accounts(
    book: Book,
    market: Market,
    method: str = "deribit-pm",
    params: Any = None,
    *,
    client: Any = None,
    scheduler: str | None = None,
    partitions: int | None = None,
) -> AccountMargins:
    """`margin_accounts` on a Dask cluster (module doc)."""
    with connected(client, scheduler) as c:
        ranges = account_ranges(book, partitions if partitions is not None else 4 * _workers(c))
        if not ranges:
            return GroupMargins.of(margin(book, market, method, params)).by_account()
        if method == "deribit-pm" and not is_legacy(params):
            return _pm_on_cluster(c, book, market, params, ranges)
        shared = c.scatter(market, broadcast=True)
        futures = [
            c.submit(_method_range, book.account_range(a, b), shared, method, params, pure=False)
            for a, b in ranges
        ]
        parts = c.gather(futures)
        return AccountMargins.concat([p[0] for p in parts], [p[1] for p in parts])


def _pm_on_cluster(c: Any, book: Book, market: Market, params: Any, ranges: list[tuple[int, int]]) -> AccountMargins:
    p, keys, inputs, labels = pm_inputs(book, market, params)
    shared = c.scatter(inputs, broadcast=True)
    futures = []
    for a, b in ranges:
        s, e = int(book.indptr[a]), int(book.indptr[b])
        indptr = np.asarray(book.indptr[a : b + 1] - s, dtype=np.int64)
        futures.append(c.submit(_pm_range, shared, indptr, book.indices[s:e], book.quantity[s:e], pure=False))
    parts = c.gather(futures)
    columns: dict[str, Any] = {}
    for name in parts[0]:
        values = [part[name] for part in parts]
        if name == "account":
            values = [v + a for v, (a, _) in zip(values, ranges)]
        columns[name] = np.concatenate(values)
    pm = from_columns(book, p, keys, inputs, labels, columns)
    return group_margins(book, pm).by_account()


__all__ = ["connected", "dask_margin_accounts"]
