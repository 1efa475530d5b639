"""Margin of every account on a Dask cluster (the ``dask`` extra): ``ro.margin_accounts(..., client=...)``.

The split that makes this natural: the instruments are few and the accounts many.  For ``deribit-pm`` the
instruments are revalued once on the client (`PMSetup`: instruments x 35 scenario P&Ls and the parameters
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
import numpy.typing as npt

from ._types import FloatArray, IntArray
from .book import Book, _integer_label
from .instruments import InstrumentTable
from .margining import margin_rows
from .margining.bulk import account_ranges
from .margining.columns import AccountMargins
from .margining.legacy import is_legacy
from .margining.pm_ranges import PMSetup, pm_account_margins, shell
from .market import Market
from .optional import require


def require_distributed() -> Any:
    """dask.distributed, or an ImportError naming the dask extra."""
    return require("dask.distributed", "dask", "running on a Dask cluster")


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


#: Environment for worker processes that run numpy-heavy margin tasks.  Dask's nanny sets glibc's malloc trim
#: threshold to 64 kB (to hand memory back to the system); that also fixes the mmap threshold at 128 kB, so
#: every large temporary array is a fresh mmap whose pages fault in again on each call.  glibc reads these when
#: a process starts, so they go in ``distributed.nanny.pre-spawn-environ`` (Dask sets those in the process that
#: starts the workers, as it does its own defaults, then spawns them); a nanny's ``env=`` is set too late.
NUMPY_WORKER_ENV = {"MALLOC_TRIM_THRESHOLD_": str(1 << 30), "MALLOC_MMAP_THRESHOLD_": str(1 << 25)}


@contextmanager
def local_cluster(workers: int) -> Iterator[Any]:
    """A client of a new local cluster of ``workers`` single-threaded worker processes set up for margin work
    (`NUMPY_WORKER_ENV`), closed afterwards."""
    distributed = require_distributed()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    # No dashboard; the scheduler's HTTP server (health, metrics) on a free port: clusters started side by side
    # would otherwise all ask for 8787, and all but the first warn.  No statistical profiler in the workers (it
    # feeds the dashboard): sampling every thread's stack every 10 ms slowed a live engine's updates by a fifth.
    # The client fetches results from the workers directly, not through the scheduler: the workers are on this
    # machine (the gather of 1,000,000 accounts' figures, 48 MB: 22-38 ms against 54-58 ms).
    import dask

    environ = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}), **NUMPY_WORKER_ENV}
    settings = {"distributed.worker.profile.enabled": False, "distributed.nanny.pre-spawn-environ": environ}
    with dask.config.set(settings), distributed.LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
        scheduler_kwargs={"dashboard": False},
    ) as cluster, distributed.Client(cluster, direct_to_workers=True) as client:  # fmt: skip
        yield client


def _workers(client: Any) -> int:
    try:
        return max(1, len(client.scheduler_info().get("workers", {})))
    except Exception:  # noqa: BLE001 - any client-like object: fall back to one worker
        return 1


# ---------------------------------------------------------------------------------------------- tasks
def _shared(
    c: Any, table: InstrumentTable, market: Market, method: str, params: Any, currencies: tuple[str, ...] | None = None
) -> Any:
    """Broadcast once to every worker: for deribit-pm the instruments revalued (`PMSetup`, with the balances'
    scenario P&L per key when ``currencies`` of balances are given), else the market."""
    if method == "deribit-pm" and not is_legacy(params):
        return c.scatter(PMSetup.of(table, market, params, currencies), broadcast=True, hash=False)
    return c.scatter(market, broadcast=True, hash=False)


def _margin_book(
    book: Book, shared: Any, method: str, params: Any, coins: FloatArray | None = None
) -> tuple[AccountMargins, IntArray]:
    """One task: a range of accounts margined on a worker; (its accounts, the (account, group) rows of each).
    deribit-pm runs the pass of this machine's call on the broadcast instrument data (`pm_account_margins`;
    with ``coins``, the accounts' balances per [account, currency], inside the scenarios), the other methods
    margin the sub-book."""
    if isinstance(shared, PMSetup):
        return pm_account_margins(book, shared, coins)
    rows = margin_rows(book, shared, method, params)
    counts = np.bincount(rows.account, minlength=len(book.accounts)).astype(np.int64)
    return rows.by_account(), counts


def _packed(book: Book, shared: Any, method: str, params: Any, coins: FloatArray | None = None) -> tuple[Any, ...]:
    """One task on a `ClusterBook` part: its accounts' figures, small to send back (the client has the
    labels; codes and counts as the narrowest integers that hold them; each worst row as an offset within its
    account)."""
    rows, counts = _margin_book(book, shared, method, params, coins)
    within = rows.worst_row - (np.cumsum(counts) - counts)
    worst_index = None if rows.worst_index is None else _narrow(rows.worst_index)
    return (rows.method, rows.currencies, rows.group_names, _narrow(rows.currency), rows.initial,
            rows.maintenance, rows.initial_usd, rows.maintenance_usd, _narrow(rows.worst_group),
            _narrow(within), _narrow(counts), worst_index)  # fmt: skip


def _narrow(values: IntArray) -> npt.NDArray[np.signedinteger[Any]]:
    """``values`` in the narrowest signed integer type that holds them all (the client widens them again): a
    million accounts' groups and codes fit a byte each."""
    if len(values) == 0:
        return values.astype(np.int8)
    low, high = int(values.min()), int(values.max())
    for kind in (np.int8, np.int16, np.int32):
        info = np.iinfo(kind)
        if info.min <= low and high <= info.max:
            return values.astype(kind)
    return values


def _joined(packed: list[tuple[Any, ...]], accounts: Any) -> AccountMargins:
    """The parts' figures (`_packed`, in account order, together covering ``accounts``) as one result: each column
    converted and joined in one copy, and each worst row counted from the book's first (account, group) row."""
    method = packed[0][0]
    currencies = tuple(dict.fromkeys(c for p in packed for c in p[1]))
    names = tuple(dict.fromkeys(n for p in packed for n in p[2]))

    def codes(old: tuple[str, ...], new: tuple[str, ...], values: Any) -> Any:
        if old == new[: len(old)]:  # the codes hold (the usual case: every part has the book's names)
            return values
        return np.array([new.index(x) for x in old], dtype=np.int64)[values]

    def column(k: int, dtype: Any = np.float64) -> Any:
        return np.concatenate([p[k] for p in packed], dtype=dtype)

    # Each worst row is its account's first (account, group) row plus the offset the part sent, in place: a
    # temporary array of a million accounts costs its page faults (~2 ms each).
    counts = column(10, np.int64)
    worst_row = np.cumsum(counts)
    worst_row -= counts
    worst_row += column(9, None)  # (the parts' narrow integers, widened in the sum)
    worst_index = None if any(p[11] is None for p in packed) else column(11, np.int64)
    return AccountMargins(
        method, np.array(accounts), currencies,
        np.concatenate([codes(p[1], currencies, p[3]) for p in packed], dtype=np.int64),
        column(4), column(5), column(6), column(7),
        np.concatenate([codes(p[2], names, p[8]) if p[2] else p[8] for p in packed], dtype=np.int64),
        worst_row,
        group_names=names, worst_index=worst_index,
    )  # fmt: skip


@dataclass(frozen=True)
class ClusterBook:
    """A book whose account ranges live on the workers of a Dask cluster (`scatter_book`): margined again on
    every new market without sending the positions again, as a risk loop does."""

    client: Any
    parts: tuple[Any, ...]  # futures of the sub-books, in account order
    ranges: tuple[tuple[int, int], ...]  # the account rows of each part
    instruments: InstrumentTable
    accounts: Any  # the labels, in the book's order

    def __repr__(self) -> str:
        return f"ClusterBook({len(self.accounts):,} accounts in {len(self.parts)} parts on {self.client!r})"


def scatter_book(book: Book, client: Any, partitions: int | None = None) -> ClusterBook:
    """Send the book's accounts to the workers once, cut into contiguous account ranges (default: four per
    worker); `margin_accounts` on the result sends only the market or the revalued instruments."""
    ranges = account_ranges(book, partitions if partitions is not None else 4 * _workers(client))
    parts = client.scatter([book.account_range(a, b) for a, b in ranges], hash=False)
    return ClusterBook(client, tuple(parts), tuple(ranges), book.instruments, book.accounts)


def cluster_book_margins(cb: ClusterBook, market: Market, method: str = "deribit-pm", params: Any = None, *,
                         progress: bool = False, balances: Any = None) -> AccountMargins:  # fmt: skip
    """`margin_accounts` of a `ClusterBook`: one task per part on the worker that holds it; with ``balances``
    (deribit-pm) each task gets its accounts' coin balances."""
    c = cb.client
    if not cb.parts:
        return margin_rows(shell(cb.instruments), market, method, params).by_account()
    coins = balances.for_accounts(cb.accounts) if balances is not None else None
    shared = _shared(c, cb.instruments, market, method, params, balances.currencies if balances is not None else None)
    futures = [
        c.submit(_packed, part, shared, method, params, None if coins is None else coins[a:b], pure=False)
        for part, (a, b) in zip(cb.parts, cb.ranges)
    ]
    return _joined(_gather(c, futures, progress), cb.accounts)


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
    balances: Any = None,
) -> AccountMargins:
    """`margin_accounts` on a Dask cluster (module doc): the book is sent in account ranges, then margined."""
    with connected(client, scheduler) as c:
        return cluster_book_margins(scatter_book(book, c, partitions), market, method, params, progress=progress,
                                    balances=balances)  # fmt: skip


def _gather(c: Any, futures: list[Any], progress: bool) -> list[Any]:
    """The tasks' results in order; with ``progress`` a text progress bar on standard error meanwhile."""
    if progress:
        distributed = require_distributed()
        with redirect_stdout(sys.stderr):  # the bar is drawn on stdout; keep stdout for the results
            distributed.progress(futures)
    return list(c.gather(futures))


# ---------------------------------------------------------------------------------------------- datasets
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
    dd = require("dask.dataframe", "dask", "reading a positions dataset")
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
    digits = bool(len(accounts)) and all(_integer_label(a) for a in accounts.tolist())
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


def _margin_partition(frame: Any, table: InstrumentTable, integer_accounts: bool, shared: Any, method: str,
                      params: Any) -> tuple[AccountMargins, IntArray]:  # fmt: skip
    """Pass 2: the partition's accounts margined over the dataset's instrument table."""
    return _margin_book(_on_table(_partition_book(frame, integer_accounts)[0], table), shared, method, params)


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
        shared = _shared(c, table, market, method, params)
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


__all__ = [
    "NUMPY_WORKER_ENV",
    "ClusterBook",
    "cluster_book_margins",
    "connected",
    "dask_margin_accounts",
    "is_dataset",
    "local_cluster",
    "margin_dataset",
    "read_positions",
    "require_distributed",
    "scatter_book",
]
