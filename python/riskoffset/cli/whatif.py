"""``riskoffset whatif BOOK --order NAME:QTY ... [--method span]``: Deribit PM (or SPAN) margin of an account
before and after orders."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..tables import Column, csv_text, render
from ..whatif import MAX_ORDER
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
        "whatif",
        help="margin of an account before and after orders",
        description="Deribit PM (or, with --method span, SPAN) initial and maintenance margin of one account "
        "(--account, else the only one, else every account netted) before and after each order and the basket, "
        "from the cached book.",
    )
    add_book_arguments(p)
    p.add_argument(
        "--order",
        action="append",
        required=True,
        metavar="NAME:QTY",
        help="signed amount in Deribit size units (USD face for inverse futures), repeatable",
    )
    p.add_argument("--account", help="the account")
    p.add_argument("--method", choices=["deribit-pm", "span"], default="deribit-pm", help="default: deribit-pm")
    p.add_argument(
        "--params",
        metavar="SOURCE",
        help="parameter set: a preset name or a JSON file (deribit-pm); for span a JSON file with 'file' and "
        "'mapping' (default on the bundled sample market: its synthetic SPAN file)",
    )
    add_output_arguments(p)
    return p


#: Orders beyond this amount (1e15 USD face, or coins) are typing mistakes, not orders: refused before they
#: turn a margin table into 300-digit numbers.
MAX_ORDER_AMOUNT = MAX_ORDER


def parse_orders(entries: Sequence[str]) -> list[tuple[str, float]]:
    orders = []
    for entry in entries:
        name, sep, quantity = entry.rpartition(":")
        if not sep or not name:
            raise ValueError(
                f"--order {entry!r}: expected NAME:QTY, e.g. BTC-PERPETUAL:-10000 (signed amount)"
            )
        try:
            q = float(quantity)
        except ValueError:
            raise ValueError(f"--order {entry!r}: quantity {quantity!r} is not a number") from None
        if not np.isfinite(q):
            raise ValueError(f"--order {entry!r}: quantity is not finite")
        if abs(q) > MAX_ORDER_AMOUNT:
            raise ValueError(
                f"--order {entry!r}: |quantity| above {MAX_ORDER_AMOUNT:.0e} is larger than any real order "
                "(amounts are USD face for inverse futures, coin otherwise)"
            )
        orders.append((name, q))
    return orders


def run(args: argparse.Namespace) -> int:
    from ..instruments import Instrument
    from ..whatif import WhatIf
    from ..whatif_span import SpanWhatIf
    from .margin import margin_params

    orders = parse_orders(args.order)
    for name, _ in orders:
        Instrument.parse(name)  # a malformed name fails here with the expected patterns
    market = load_market(args.market)
    book = load_book(args.book, market)
    account, named = account_label(book, args.account), [n for n, _ in orders]
    params = margin_params([args.params] if args.params else None, [args.method], sample_market=args.market is None)
    w: WhatIf | SpanWhatIf
    if args.method == "span":
        if "span" not in params:
            raise ValueError("--method span needs --params: a JSON file with 'file' (a .spn path) and 'mapping'")
        w = SpanWhatIf(book, market, params["span"], account=account, instruments=named)
    else:
        w = WhatIf(book, market, params.get("deribit-pm"), account=account, instruments=named)
    each = [w.order(name, q) for name, q in orders]
    basket = w.basket(orders)
    if args.json:
        print_json(
            {
                "book": book.name,
                "account": w.account,
                "orders": [
                    {"instrument": n, "quantity": q, **r.to_dict()} for (n, q), r in zip(orders, each)
                ],
                "basket": basket.to_dict(),
            }
        )
        return 0
    rows = [
        [label, r.initial_usd_before, r.initial_usd_after, r.initial_usd_after - r.initial_usd_before,
         r.maintenance_usd_before, r.maintenance_usd_after, r.maintenance_usd_after - r.maintenance_usd_before]
        for label, r in [(f"{n} {q:+,g}", r) for (n, q), r in zip(orders, each)] + [("basket", basket)]
    ]  # fmt: skip
    if args.csv:
        print(csv_text(WHATIF_COLUMNS, rows), end="")
        return 0
    print(
        f"riskoffset whatif: {book.name or 'book'}, account {w.account}; "
        f"{'SPAN' if args.method == 'span' else 'Deribit PM'} margin (USD) of the account before and after each "
        "order alone, then the basket"
    )
    print("\n".join(render(WHATIF_COLUMNS, rows)))
    return 0


WHATIF_COLUMNS = (
    Column("order", label=True),
    Column("IM before USD", "fixed", 2),
    Column("IM after USD", "fixed", 2),
    Column("IM change USD", "fixed", 2, signed=True),
    Column("MM before USD", "fixed", 2),
    Column("MM after USD", "fixed", 2),
    Column("MM change USD", "fixed", 2, signed=True),
)
