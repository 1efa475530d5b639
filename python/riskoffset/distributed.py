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

import dataclasses
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
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


def require_distributed() -> Any:
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
    distributed = require_distributed()
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
    progress: bool = False,
) -> AccountMargins:
    """`margin_accounts` on a Dask cluster (module doc)."""
    with connected(client, scheduler) as c:
        ranges = account_ranges(book, partitions if partitions is not None else 4 * _workers(c))
        if not ranges:
            return GroupMargins.of(margin(book, market, method, params)).by_account()
        if method == "deribit-pm" and not is_legacy(params):
            return _pm_on_cluster(c, book, market, params, ranges, progress)
        shared = c.scatter(market, broadcast=True)
        futures = [
            c.submit(_method_range, book.account_range(a, b), shared, method, params, pure=False)
            for a, b in ranges
        ]
        parts = _gather(c, futures, progress)
        return AccountMargins.concat([p[0] for p in parts], [p[1] for p in parts])


def _gather(c: Any, futures: list[Any], progress: bool) -> list[Any]:
    """The tasks' results in order; with ``progress`` a text progress bar on standard error meanwhile."""
    if progress:
        distributed = require_distributed()
        with redirect_stdout(sys.stderr):  # the bar is drawn on stdout; keep stdout for the results
            distributed.progress(futures)
    return list(c.gather(futures))


def _pm_on_cluster(c: Any, book: Book, market: Market, params: Any, ranges: list[tuple[int, int]],
                   progress: bool = False) -> AccountMargins:  # fmt: skip
    p, keys, inputs, labels = pm_inputs(book, market, params)
    shared = c.scatter(inputs, broadcast=True)
    futures = []
    for a, b in ranges:
        s, e = int(book.indptr[a]), int(book.indptr[b])
        indptr = np.asarray(book.indptr[a : b + 1] - s, dtype=np.int64)
        futures.append(c.submit(_pm_range, shared, indptr, book.indices[s:e], book.quantity[s:e], pure=False))
    parts = _gather(c, futures, progress)
    columns: dict[str, Any] = {}
    for name in parts[0]:
        values = [part[name] for part in parts]
        if name == "account":
            values = [v + a for v, (a, _) in zip(values, ranges)]
        columns[name] = np.concatenate(values)
    pm = from_columns(book, p, keys, inputs, labels, columns)
    return group_margins(book, pm).by_account()


# ---------------------------------------------------------------------------------------------- datasets
def _require_dataframe() -> Any:
    try:
        import dask.dataframe as dd
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "reading a positions dataset needs the optional dask extra: pip install 'riskoffset[dask]'"
        ) from None
    return dd


def is_dataset(source: Any) -> bool:
    """A Dask DataFrame, or a path, glob or list of paths of Parquet or CSV position files (not a Book)."""
    if hasattr(source, "npartitions") and hasattr(source, "to_delayed"):
        return True
    items = list(source) if isinstance(source, (list, tuple)) else [source]
    return bool(items) and all(isinstance(x, (str, Path)) for x in items)


def read_positions(source: Any) -> Any:
    """Positions as a lazy Dask DataFrame (read by the workers, partition by partition): a Dask DataFrame as
    it is; a Parquet dataset (a directory, ``.parquet`` files or a glob of them); CSV files (``.csv`` paths
    or a glob; '#' starts a comment).  Columns as in a positions CSV: instrument (or instrument_name),
    quantity (or size, or contracts), optionally account."""
    dd = _require_dataframe()
    if hasattr(source, "npartitions") and hasattr(source, "to_delayed"):
        frame = source
    else:
        paths = [str(p) for p in source] if isinstance(source, (list, tuple)) else [str(source)]
        if all(p.lower().endswith((".csv", ".csv.gz")) for p in paths):
            frame = dd.read_csv(paths, dtype=str, comment="#", keep_default_na=False)
        elif all(p.lower().endswith(".parquet") or Path(p).is_dir() for p in paths):
            frame = dd.read_parquet(paths)
        else:
            raise ValueError(f"positions dataset {paths[0]!r}: give .csv files, .parquet files or a Parquet directory")
    columns = set(frame.columns)
    if not columns & {"instrument", "instrument_name"} or not columns & {"quantity", "size", "contracts"}:
        raise ValueError(
            "a positions dataset needs columns instrument (or instrument_name) and quantity (or size or "
            f"contracts), optionally account; found {sorted(columns)}"
        )
    return frame


def _arrays(frame: Any) -> tuple[Any, Any, FloatArray, str]:
    """(account labels as str, instrument names, amounts, unit) of one partition."""
    n = len(frame)
    names = (frame["instrument"] if "instrument" in frame else frame["instrument_name"]).astype(str).to_numpy()
    unit = "amount"
    column = next(c for c in ("quantity", "size", "contracts") if c in frame)
    if column == "contracts":
        unit = "contracts"
    raw = frame[column].to_numpy()
    try:
        amounts = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        for i, v in enumerate(raw.tolist()):
            try:
                float(v)
            except (TypeError, ValueError):
                raise ValueError(f"position of {names[i]}: {column} {v!r} is not a number") from None
        raise
    if "account" in frame:
        accounts = frame["account"].astype(str).to_numpy()
        accounts = np.where((accounts == "") | (accounts == "None") | (accounts == "nan"), "default", accounts)
    else:
        accounts = np.full(n, "default")
    return accounts, names, amounts, unit


def _partition_book(frame: Any, integer_accounts: bool | None = None) -> tuple[Book, bool]:
    """The netted book of one partition (every account of which is whole) and whether its account labels
    are all integers (the labels are then read as integers, as a positions CSV's are)."""
    accounts, names, amounts, unit = _arrays(frame)
    digits = bool(len(accounts)) and all(a.lstrip("-").isdigit() for a in accounts.tolist())
    as_int = digits if integer_accounts is None else integer_accounts
    labels = accounts.astype(np.int64) if as_int else accounts.astype(str)
    return Book.from_arrays(labels, names, amounts, unit=unit), digits


def _used_instruments(frame: Any) -> tuple[tuple[str, ...], bool, int]:
    """Pass 1 of a dataset: the instruments the partition's accounts hold (after netting)."""
    book, digits = _partition_book(frame)
    return tuple(book.instruments.names.tolist()), digits or len(frame) == 0, len(book.accounts)


def _on_table(book: Book, table: Any) -> Book:
    """The same positions over the whole dataset's instrument table (canonical order is kept)."""
    rows = table.rows(book.instruments.names[book.indices]) if len(book) else np.zeros(0, np.int64)
    return Book(table, book.accounts, book.indptr, np.asarray(rows, dtype=np.int64), book.quantity)


def _margin_partition(frame: Any, table: Any, integer_accounts: bool, shared: Any, method: str,
                      params: Any) -> tuple[AccountMargins, IntArray]:  # fmt: skip
    """Pass 2: the partition's accounts margined over the dataset's table; (accounts, group rows of each)."""
    book = _on_table(_partition_book(frame, integer_accounts)[0], table)
    if isinstance(shared, PMSetup):
        columns = shared.inputs.run(book.indptr, book.indices, book.quantity, keep_vectors=False)
        rows = group_margins(book, from_columns(book, shared.params, shared.keys, shared.inputs, shared.labels,
                                                columns))  # fmt: skip
    else:
        rows = GroupMargins.of(margin(book, shared, method, params))
    counts = np.bincount(rows.account, minlength=len(book.accounts)).astype(np.int64)
    return rows.by_account(), counts


@dataclass(frozen=True)
class PMSetup:
    """What every worker needs for the PM pass: the instruments revalued once, and the parameters."""

    params: Any
    keys: Any
    inputs: PMInputs
    labels: tuple[tuple[str, ...], ...]


def margin_dataset(
    source: Any,
    market: Market,
    method: str = "deribit-pm",
    params: Any = None,
    *,
    client: Any = None,
    scheduler: str | None = None,
    progress: bool = False,
) -> AccountMargins:
    """Margin of every account of a positions dataset (`read_positions`) on a Dask cluster, read by the
    workers: the rows are shuffled so that each account is whole in one partition; a first pass collects
    the instruments held (small), a second margins each partition over that one instrument table.  The
    figures are those of the same positions loaded as one `Book` and given to `margin_accounts`, bit for bit."""
    frame = read_positions(source)
    with connected(client, scheduler) as c:
        if "account" in frame.columns:
            frame = frame.shuffle(on="account")
        else:
            frame = frame.repartition(npartitions=1)
        frame = c.persist(frame)
        parts = frame.to_delayed()
        first = c.gather(c.compute([_delayed(_used_instruments)(p) for p in parts]))
        names = sorted({n for used, _, _ in first for n in used})
        integer_accounts = all(digits for _, digits, _ in first)
        table = Book.from_arrays(np.zeros(len(names), np.int64), names, np.ones(len(names))).instruments
        if method == "deribit-pm" and not is_legacy(params):
            shell = Book(table, np.zeros(0, np.int64), np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0))
            p, keys, inputs, labels = pm_inputs(shell, market, params)
            shared = c.scatter(PMSetup(p, keys, inputs, labels), broadcast=True)
        else:
            shared = c.scatter(market, broadcast=True)
        tasks = [_delayed(_margin_partition)(part, table, integer_accounts, shared, method, params)
                 for part, (_, _, n) in zip(parts, first) if n]  # fmt: skip
        results = _gather(c, c.compute(tasks), progress)
    if not results:
        return margin_accounts_empty(method)
    return _in_account_order([r[0] for r in results], [r[1] for r in results])


def _delayed(func: Any) -> Any:
    from dask.delayed import delayed

    return delayed(func, pure=False)


def margin_accounts_empty(method: str) -> AccountMargins:
    zeros = np.zeros(0)
    empty = np.zeros(0, np.int64)
    return AccountMargins(method, np.zeros(0, dtype=object), ("USD",), empty, zeros, zeros, zeros, zeros, empty, empty)


def _in_account_order(parts: list[AccountMargins], counts: list[IntArray]) -> AccountMargins:
    """Partitions' accounts (each sorted, hashed across partitions) in the book's account order, with
    ``worst_row`` a row of the whole book's (account, group) rows."""
    within = [p.worst_row - (np.cumsum(c) - c) for p, c in zip(parts, counts)]
    joined = AccountMargins.concat(parts, [int(c.sum()) for c in counts])
    order = np.argsort(joined.account, kind="stable")
    count = np.concatenate(counts)[order]
    start = np.cumsum(count) - count
    return dataclasses.replace(
        joined,
        account=joined.account[order],
        currency=joined.currency[order],
        initial=joined.initial[order],
        maintenance=joined.maintenance[order],
        initial_usd=joined.initial_usd[order],
        maintenance_usd=joined.maintenance_usd[order],
        worst_group=joined.worst_group[order],
        worst_row=(start + np.concatenate(within)[order]).astype(np.int64),
        worst_index=None if joined.worst_index is None else joined.worst_index[order],
    )


__all__ = ["connected", "dask_margin_accounts", "is_dataset", "margin_dataset", "read_positions"]
