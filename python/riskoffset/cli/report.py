"""``riskoffset report BOOK [--market M] [--balance CUR:AMOUNT ...] [-o report.html]``: write the HTML risk
report of a book (docs/report.md)."""

from __future__ import annotations

import argparse
from typing import Any

from .common import add_book_arguments, load_book, load_market, parse_balance


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "report",
        help="write a self-contained HTML risk report of a book",
        description="Write a self-contained HTML risk report of a book (P&L profile, PM risk matrix, margin by "
        "method, Greeks, worst-scenario drivers, delta hedge); see docs/report.md.",
    )
    add_book_arguments(p)
    p.add_argument(
        "--balance",
        action="append",
        default=[],
        metavar="CUR:AMOUNT",
        help="collateral of a one-account book, repeatable (BTC:1.5); marks the liquidation prices",
    )
    p.add_argument("-o", "--output", default="report.html", help="HTML file to write (default: report.html)")
    return p


def run(args: argparse.Namespace) -> int:
    from ..reporting import report

    market = load_market(args.market)
    book = load_book(args.book, market)
    result = report(book, market, balances=parse_balance(args.balance) or None, output=args.output)
    note = " (SYNTHETIC sample data)" if result.synthetic else ""
    print(f"wrote {result.path}{note}")
    return 0
