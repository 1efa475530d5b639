"""``riskoffset hedge BOOK``: what to trade to offset a book's risk, its cost, residual risk and margin."""

from __future__ import annotations

import argparse
from typing import Any

from ..tables import csv_text
from .common import (
    account_label,
    add_book_arguments,
    add_output_arguments,
    load_book,
    load_market,
    print_json,
)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "hedge",
        help="what to trade to offset a book's risk, its cost, residual risk and margin",
        description="Hedge one account of a book (same inputs as `greeks`; --account, else the only one, else every "
        "account netted): delta with futures and perpetuals, delta-gamma(-vega) with options (least squares with "
        "a cost penalty), or the Deribit PM margin-minimising hedge (a linear program; needs scipy). Trades are "
        "rounded to lots.",
    )
    add_book_arguments(p)
    p.add_argument(
        "--target", choices=["delta", "delta-gamma", "delta-gamma-vega", "margin"], default="delta"
    )
    p.add_argument(
        "--with",
        dest="with_instruments",
        metavar="INSTR,...",
        help="candidate instruments (default: see docs)",
    )
    p.add_argument("--account", help="the account to hedge")
    p.add_argument("--by-expiry", action="store_true", help="vega per expiry bucket")
    add_output_arguments(p)
    return p


def run(args: argparse.Namespace) -> int:
    from ..hedging import hedge

    market = load_market(args.market)
    book = load_book(args.book, market)
    listed = args.with_instruments
    instruments = [n.strip() for n in listed.split(",") if n.strip()] if listed else None
    result = hedge(
        book,
        market,
        args.target,
        instruments,
        account=account_label(book, args.account),
        by_expiry=args.by_expiry,
    )
    if args.json:
        print_json({"book": book.name, **result.to_dict()})
        return 0
    if args.csv:
        print(csv_text(*result.trade_rows()), end="")
        return 0
    print(f"riskoffset hedge: {book.name or 'book'}; market {market.description or 'snapshot'}")
    print(result.table())
    return 0
