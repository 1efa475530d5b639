"""``riskoffset replay STREAM --book BOOK``: a recorded stream of Deribit notifications (or Tardis CSV rows)
through the live engine, with the events as JSON lines and a summary (docs/live.md)."""

from __future__ import annotations

import argparse
from typing import Any

from ..tables import Column, render
from .common import MARKET_HELP, load_balances, load_book, load_market, print_json


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "replay",
        help="replay a recorded stream through the live risk engine",
        description="Applies a recorded stream (Deribit subscription notifications as JSON lines, or Tardis "
        "options_chain / derivative_ticker CSV; .gz read too) to every account of a book in the live engine, "
        "writes the margin-call, liquidation and recovery events as JSON lines, and ends with a summary. "
        "--sample replays the bundled SYNTHETIC day (with a crash) on all the sample books and their balances.",
    )
    p.add_argument("stream", nargs="?", help="recorded stream file (.jsonl, .csv, optionally .gz)")
    p.add_argument(
        "--sample", action="store_true", help="the bundled SYNTHETIC sample day on the sample books"
    )
    p.add_argument("--book", help="positions file or sample:NAME (with --sample: all sample books)")
    p.add_argument("--balances", metavar="FILE", help="balances file, or 'sample' for a sample book's own")
    p.add_argument("--market", help=MARKET_HELP)
    p.add_argument(
        "--method", default="deribit-pm",
        help="deribit-pm (default), deribit-standard, grid or span (SPAN's margin is in the file's currency, USD "
        "for most: give --collateral a table that lists it, or --segregated with USD balances)",
    )  # fmt: skip
    p.add_argument(
        "--params", metavar="SOURCE",
        help="the method's parameter set: a preset name or a JSON file (under --method grid, a scenario grid as "
        "docs/span.md describes it; default the Paradex-style preset; under --method span, the risk-parameter file "
        "and the mapping of the book's instruments, 'sample' for the bundled synthetic one)",
    )  # fmt: skip
    p.add_argument(
        "--segregated", action="store_true", help="each currency on its own (S:) instead of cross (X:)"
    )
    p.add_argument(
        "--collateral", metavar="SOURCE", default="deribit-collateral",
        help="the cross-collateral table: a bundled name or a JSON file (docs/collateral.md); default "
        "deribit-collateral",
    )  # fmt: skip
    p.add_argument("--events", metavar="FILE", help="append the events to FILE as JSON lines")
    p.add_argument("--snapshot", metavar="FILE", help="write the engine's state to FILE at the end (and every "
                   "--snapshot-every messages)")  # fmt: skip
    p.add_argument("--snapshot-every", type=int, metavar="N", help="messages between snapshots")
    p.add_argument("--resume", metavar="FILE", help="continue from a snapshot (lines it applied are skipped)")
    p.add_argument("--strict", action="store_true", help="stop at the first bad line instead of skipping it")
    p.add_argument(
        "--dask", metavar="SCHEDULER",
        help="spread the accounts over a Dask cluster: a scheduler address, or local[:N] for a local cluster of N "
        "worker processes (the dask extra)",
    )  # fmt: skip
    p.add_argument("--shards", type=int, metavar="N", help="with --dask: engines to spread the accounts over "
                   "(default one per worker)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="the summary as JSON")
    return p


def run(args: argparse.Namespace) -> int:
    if args.shards is not None and not args.dask:
        raise ValueError("--shards applies to a Dask run: add --dask")
    if not args.dask:
        return _run(args, None)
    from .by_account import cluster

    with cluster(args.dask) as client:
        return _run(args, client)


def _run(args: argparse.Namespace, client: Any) -> int:
    from ..live import ClusterEngine, RiskEngine, sample_stream_path
    from ..live.replay import replay
    from ..live.samples import sample_venue

    engine: RiskEngine | ClusterEngine
    stream = args.stream
    if args.sample:
        if stream is not None:
            raise ValueError("give a STREAM or --sample, not both")
        stream = str(sample_stream_path())
    if stream is None:
        raise ValueError("give a STREAM file, or --sample for the bundled sample day")
    if args.resume is not None:
        if args.book or args.balances or args.params:
            raise ValueError(
                "--resume takes the book, balances and parameters from the snapshot: drop --book/--balances/--params"
            )
        engine = RiskEngine.restore(args.resume) if client is None else ClusterEngine.restore(args.resume, client=client)
        engine.strict = bool(args.strict)
        book_name = engine.book.name or "book"
    else:
        market = load_market(args.market)
        balances: Any = None
        if args.book is None and args.sample:
            book, balances = sample_venue()
        elif args.book is None:
            raise ValueError("give the positions with --book BOOK")
        else:
            book = load_book(args.book, market)
            if args.balances is not None:
                balances = load_balances(args.balances, args.book)
        book_name = book.name or "book"
        options = {"balances": balances, "cross": not args.segregated, "strict": args.strict,
                   "collateral": args.collateral}  # fmt: skip
        if client is None:
            engine = RiskEngine(book, market, args.method, args.params, **options)
        else:
            engine = ClusterEngine(book, market, args.method, args.params, client=client, shards=args.shards, **options)
    summary = replay(engine, stream, events=args.events, snapshot=args.snapshot or None,
                     snapshot_every=args.snapshot_every)  # fmt: skip
    if args.json:
        print_json({"book": book_name, "stream": stream, **summary.to_dict()})
        return 0
    model = ("S:" if not engine.cross else "X:") + engine.method
    accounts = len(engine.positions) if isinstance(engine, RiskEngine) else len(engine)
    where = "" if isinstance(engine, RiskEngine) else f", {engine.shards} shards on Dask"
    print(f"riskoffset replay: {stream}: {book_name} ({accounts} accounts, {model}{where})")
    print(f"{summary.messages:,} messages ({summary.updates:,} updates) in {summary.seconds:.2f} s: "
          f"{summary.messages_per_second:,.0f} messages/s"
          + (f"; {summary.skipped_lines:,} lines already applied before the snapshot" if summary.skipped_lines else ""))  # fmt: skip
    c = summary.counters
    print(f"out of order {c.get('out_of_order', 0)}, duplicate trades {c.get('duplicate_trades', 0)}, "
          f"ignored {c.get('ignored', 0)}, bad lines {len(summary.bad_lines)}")  # fmt: skip
    for line, error in summary.bad_lines[:5]:
        print(f"  line {line}: {error}")
    events = ", ".join(f"{k} {v}" for k, v in sorted(summary.events.items())) or "none"
    print(f"events: {events}" + (f" (written to {args.events})" if args.events else ""))
    print(f"margin called: {', '.join(map(str, sorted(summary.called, key=str))) or 'none'}; "
          f"liquidated: {', '.join(map(str, sorted(summary.liquidated, key=str))) or 'none'}")  # fmt: skip
    if summary.worst:
        columns = (
            Column("account", label=True),
            Column("level"),
            Column("MM ratio", "percent", 1),
            Column("margin balance USD", "fixed", 0),
            Column("initial USD", "fixed", 0),
            Column("maint. USD", "fixed", 0),
        )
        rows = [[w["account"], w["level"], w["mm_ratio"], w["margin_balance_usd"], w["initial_usd"],
                 w["maintenance_usd"]] for w in summary.worst]  # fmt: skip
        print("Accounts by MM ratio (maintenance margin / margin balance) at the end:")
        print("\n".join(render(columns, rows)))
    return 0
