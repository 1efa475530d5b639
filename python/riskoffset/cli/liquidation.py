"""``riskoffset liquidation BOOK --balance CUR:AMOUNT ...``: the underlying prices at which an account's equity
falls to its Deribit PM maintenance margin."""

from __future__ import annotations

import argparse
from typing import Any

from .common import (
    account_label,
    add_book_arguments,
    add_json_argument,
    load_balances,
    load_book,
    load_market,
    parse_balance,
    print_json,
)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "liquidation",
        help="underlying prices at which equity falls to maintenance margin",
        description="Moves one underlying (index, futures and forwards; vols held) down and up and finds where the "
        "account's equity (--balance collateral plus positions) meets its Deribit PM maintenance margin.",
    )
    add_book_arguments(p)
    p.add_argument(
        "--balance",
        action="append",
        metavar="CUR:AMOUNT",
        help="collateral, repeatable (e.g. --balance BTC:1.5 --balance USDC:20000)",
    )
    p.add_argument(
        "--balances",
        metavar="FILE",
        help="collateral per account and currency instead of --balance: a balances CSV/JSON file (Deribit account "
        "summaries included) or 'sample' for a sample book's bundled balances; the exit code is 3 when the "
        "account is already below maintenance margin",
    )
    p.add_argument("--underlying", help="the price that moves (default: the book's only one)")
    p.add_argument("--account", help="the account")
    add_json_argument(p)
    return p


def run(args: argparse.Namespace) -> int:
    from ..liquidation import liquidation

    market = load_market(args.market)
    book = load_book(args.book, market)
    if (args.balance is None) == (args.balances is None):
        raise ValueError("give the collateral with --balance CUR:AMOUNT (repeatable) or --balances FILE, one of them")
    collateral: Any
    if args.balances is None:
        collateral = parse_balance(args.balance)
    else:
        collateral = load_balances(args.balances, args.book)
    result = liquidation(
        book,
        market,
        collateral,
        underlying=args.underlying,
        account=account_label(book, args.account),
    )
    if args.json:
        print_json({"book": book.name, **result.to_dict()})
    else:
        print(f"riskoffset liquidation: {book.name or 'book'}; Deribit PM maintenance margin against equity")
        print(result)
    return 3 if result.below_maintenance else 0
