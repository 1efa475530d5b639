"""``riskoffset report BOOK [--market M] [--balance CUR:AMOUNT ...] [-o report.html]``: write the HTML risk
report of a book.  `cli_main` parses its own arguments and returns the exit code (0, or 2 with a message on
standard error for bad input), so the ``riskoffset`` command can hand it everything after ``report``."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="riskoffset report",
        description="Write a self-contained HTML risk report of a book (P&L profile, PM risk matrix, margin by "
        "method, Greeks, worst-scenario drivers, delta hedge); see docs/report.md.",
    )
    p.add_argument("book", help="positions file (.csv/.json) or a bundled sample book name (sample:NAME)")
    p.add_argument("--market", help="market snapshot (.csv or .json); default: the bundled SYNTHETIC sample")
    p.add_argument(
        "--balance",
        action="append",
        default=[],
        metavar="CUR:AMOUNT",
        help="collateral of a one-account book, repeatable (BTC:1.5); marks the liquidation prices",
    )
    p.add_argument("-o", "--output", default="report.html", help="HTML file to write (default: report.html)")
    return p


def load_book(spec: str, market: Any) -> Any:
    from .. import Book

    name = spec.removeprefix("sample:")
    if Path(spec).exists():
        return Book.load(spec, instruments=market.instruments)
    if name in Book.samples():
        return Book.sample(name)
    raise ValueError(
        f"book {spec!r} is neither a file (.csv or .json) nor a bundled sample; samples: {', '.join(Book.samples())}"
    )


def parse_balance(specs: Sequence[str]) -> dict[str, float] | None:
    """["BTC:1.5", "USDC:20000"] -> {"BTC": 1.5, "USDC": 20000.0}; no specs -> None."""
    if not specs:
        return None
    balance: dict[str, float] = {}
    for spec in specs:
        currency, sep, amount = spec.partition(":")
        try:
            value = float(amount)
        except ValueError:
            value = math.nan
        if not sep or not currency or not math.isfinite(value):
            raise ValueError(f"--balance {spec!r}: expected CURRENCY:AMOUNT, e.g. BTC:1.5 or USDC:20000")
        balance[currency.upper()] = balance.get(currency.upper(), 0.0) + value
    return balance


def cli_main(argv: Sequence[str] | None = None) -> int:
    """Run ``riskoffset report`` with ``argv`` (the arguments after ``report``); returns the exit code."""
    from .. import Market, report

    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, argparse has printed why)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        market = Market.sample() if args.market is None else Market.load(args.market)
        book = load_book(args.book, market)
        result = report(book, market, balances=parse_balance(args.balance), output=args.output)
    except (ValueError, TypeError, OSError) as exc:  # MarketDataError is a ValueError
        print(f"riskoffset: error: {exc}", file=sys.stderr)
        return 2
    note = " (SYNTHETIC sample data)" if result.synthetic else ""
    print(f"wrote {result.path}{note}")
    return 0


__all__ = ["cli_main", "load_book", "parse_balance", "parser"]
