"""``riskoffset margin BOOK --by account [--dask SCHEDULER|local[:N]] [--out FILE]``: one row per account,
on this machine or on a Dask cluster, printed (the largest first) or written to a Parquet or CSV file."""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..distributed import local_cluster, require_distributed
from ..margining.bulk import margin_accounts
from ..margining.columns import AccountMargins, plain
from ..market import Market
from ..progress import is_enabled as progress_on
from ..tables import Column, csv_text, render
from .common import load_book, print_json

SHOWN = 20  # accounts printed on the terminal (all of them go to --out)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--by", choices=["account"], help="one row per account (initial and maintenance, in USD too)"
    )
    p.add_argument(
        "--dask",
        metavar="SCHEDULER|local[:N]",
        help="margin the accounts on a Dask cluster: a scheduler address, or local[:N] for a local cluster of N "
        "worker processes (the dask extra); BOOK may then be a Parquet dataset or a glob of CSV files",
    )
    p.add_argument("--partitions", type=int, help="with --dask: account ranges to split the book into")
    p.add_argument("--out", metavar="FILE", help="write the per-account columns to FILE (.parquet or .csv)")


def wanted(args: argparse.Namespace) -> bool:
    return bool(args.by or args.dask or args.out or args.partitions)


@contextlib.contextmanager
def cluster(address: str) -> Iterator[Any]:
    """A Dask client for ``--dask``: a new local cluster (``local`` or ``local:N`` workers) or the scheduler
    at the given address."""
    local = address == "local" or address.startswith("local:")
    count = address.partition(":")[2] if local else ""
    if local and count and (not count.isdigit() or int(count) < 1):
        raise ValueError(f"--dask {address!r}: write local or local:N with N a positive number of workers")
    try:
        distributed = require_distributed()
    except ImportError as exc:
        raise ValueError(f"--dask: {exc}") from None
    if local:
        with local_cluster(int(count) if count else (os.cpu_count() or 1)) as client:
            yield client
        return
    try:
        client = distributed.Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise ValueError(f"--dask {address!r}: cannot reach the Dask scheduler ({exc})") from None
    try:
        yield client
    finally:
        client.close()


def _source(given: str, market: Market, dask: bool) -> Any:
    """The book, or with --dask a positions dataset the workers read (Parquet directory/files, CSV glob)."""
    path = Path(given)
    if dask and (path.is_dir() or given.lower().endswith(".parquet") or any(c in given for c in "*?[")):
        return given
    return load_book(given, market)


def run(args: argparse.Namespace, market: Market, method: str, params: Any) -> int:
    if args.partitions is not None and not args.dask:
        raise ValueError("--partitions applies to a Dask run: add --dask")
    if args.out and not args.out.lower().endswith((".parquet", ".csv")):
        raise ValueError(f"--out {args.out!r}: write a .parquet or a .csv file")
    source = _source(args.book, market, bool(args.dask))
    if args.dask:
        with cluster(args.dask) as client:
            rows = margin_accounts(source, market, method, params, client=client, partitions=args.partitions,
                                   progress=progress_on())  # fmt: skip
    else:
        rows = margin_accounts(source, market, method, params)
    if args.out:
        _write(rows, args.out)
    if args.json:
        print_json({"method": method, "accounts": rows.to_dict(), "written": args.out})
        return 0
    if args.csv:
        print(csv_text(ACCOUNT_COLUMNS, account_rows(rows)), end="")
        return 0
    print("\n".join(account_table(rows)))
    if args.out:
        print(f"{len(rows):,} accounts written to {args.out}")
    return 0


def _write(rows: AccountMargins, path: str) -> None:
    columns = rows.columns()
    if path.lower().endswith(".csv"):
        with open(path, "w", encoding="utf-8") as f:
            f.write(",".join(columns) + "\n")
            f.writelines(",".join(repr(plain(v[i])) if isinstance(plain(v[i]), float) else str(plain(v[i]))
                                 for v in columns.values()) + "\n" for i in range(len(rows)))  # fmt: skip
        return
    from ..optional import require_pandas

    pd = require_pandas("--out FILE.parquet")
    try:
        pd.DataFrame({k: v for k, v in columns.items()}).to_parquet(path, index=False)
    except ImportError as exc:
        raise ValueError(f"--out {path!r}: writing Parquet needs pyarrow ({exc}); or write a .csv") from None


ACCOUNT_COLUMNS = (
    Column("account", label=True),
    Column("ccy"),
    Column("initial", "sig", 8),
    Column("maintenance", "sig", 8),
    Column("initial USD", "fixed", 2),
    Column("maint. USD", "fixed", 2),
    Column("worst group"),
)


def account_rows(rows: AccountMargins, order: Any = None) -> list[list[Any]]:
    columns = rows.columns()
    index = range(len(rows)) if order is None else order
    return [
        [plain(columns["account"][i]), str(columns["currency"][i]), float(rows.initial[i]),
         float(rows.maintenance[i]), float(rows.initial_usd[i]), float(rows.maintenance_usd[i]),
         str(columns["worst_group"][i])]
        for i in index
    ]  # fmt: skip


def account_table(rows: AccountMargins) -> list[str]:
    """The accounts with the largest initial margin in USD first (at most `SHOWN` of them)."""
    usd = np.where(np.isfinite(rows.initial_usd), rows.initial_usd, -np.inf)
    order = np.argsort(-usd, kind="stable")[:SHOWN].tolist()
    total = (
        f"{rows.method}: {len(rows):,} accounts; initial {np.nansum(rows.initial_usd):,.2f} USD, "
        f"maintenance {np.nansum(rows.maintenance_usd):,.2f} USD in all"
    )
    lines = [total, *render(ACCOUNT_COLUMNS, account_rows(rows, order))]
    if len(rows) > SHOWN:
        lines.append(f"... {len(rows) - SHOWN:,} more accounts (all of them with --out FILE, --csv or --json)")
    return lines
