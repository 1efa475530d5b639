"""What the subcommands share: the book and market arguments and their loaders, account labels,
``--balance`` parsing and JSON output.  Loaders raise ValueError/OSError with the file or flag named;
`main` turns those into one line on standard error."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..book import Book
from ..market import Market

MARKET_HELP = "market snapshot (.csv or .json, or a Deribit ticker response); default: the bundled sample"


def add_book_arguments(parser: argparse.ArgumentParser) -> None:
    """The positional BOOK and ``--market``, the inputs of every subcommand that reads a book."""
    parser.add_argument("book", help="positions file (.csv/.json) or a sample book name (sample:NAME)")
    parser.add_argument("--market", help=MARKET_HELP)


def add_json_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """--json, or --csv for the rows the command prints (full-precision numbers), one of them."""
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="machine-readable output")
    out.add_argument("--csv", action="store_true", help="the table's rows as CSV (full precision)")


def load_market(path: str | None, max_age: float | None = None) -> Market:
    """The market file at ``path``, or the bundled sample when None."""
    if path is None:
        return Market.sample()
    return Market.load(path) if max_age is None else Market.load(path, max_age=max_age)


def load_book(source: str, market: Market) -> Book:
    """A file path, or the name of a bundled sample book (optionally written sample:NAME)."""
    name = source.removeprefix("sample:")
    if Path(source).exists():
        return Book.load(source, instruments=market.instruments)
    if name in Book.samples():
        return Book.sample(name)
    raise ValueError(
        f"book {source!r} is neither a file (.csv or .json) nor a bundled sample; samples: {', '.join(Book.samples())}"
    )


def load_balances(source: str | None, book_source: str) -> Any:
    """A balances file, or with ``source`` "sample" (or None) the bundled balances of the sample book named by
    ``book_source``; a ValueError says which samples have balances."""
    from ..accounts import Balances

    if source is None or source == "sample":
        name = str(book_source).removeprefix("sample:")
        if name not in Balances.samples():
            raise ValueError(f"--balances: give a balances file (bundled sample balances exist only for the "
                             f"sample books: {', '.join(Balances.samples())})")  # fmt: skip
        return Balances.sample(name)
    return Balances.load(source)


def account_label(book: Book, account: str | None) -> Any:
    """An account given on the command line as text, matched against the book's labels (str or int)."""
    if account is None:
        return None
    for label in book.accounts.tolist():
        if str(label) == account:
            return label
    raise ValueError(
        f"account {account!r} is not in the book (accounts: {', '.join(map(str, book.accounts.tolist()))})"
    )


def parse_balance(entries: Sequence[str]) -> dict[str, float]:
    """--balance CUR:AMOUNT (repeatable) -> {"BTC": 1.5, "USDC": 20000.0}."""
    balance: dict[str, float] = {}
    for entry in entries:
        currency, sep, amount = entry.partition(":")
        try:
            value = float(amount)
        except ValueError:
            value = math.nan
        if not sep or not currency or not math.isfinite(value):
            raise ValueError(f"--balance {entry!r}: expected CURRENCY:AMOUNT, e.g. BTC:1.5 or USDC:20000")
        balance[currency.upper()] = balance.get(currency.upper(), 0.0) + value
    return balance


def print_json(data: Any) -> None:
    """``data`` as indented JSON on standard output."""
    print(json.dumps(data, indent=2))
