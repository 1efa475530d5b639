"""``riskoffset greeks BOOK``: aggregated Greeks of a book, and the demo's risk report of the sample books."""

from __future__ import annotations

import argparse
from typing import Any

from ..book import GROUPINGS, Book, GreeksReport
from ..market import Market
from ..tables import csv_text
from .common import add_book_arguments, add_output_arguments, load_book, load_market, print_json


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "greeks",
        help="aggregated Greeks of a book",
        description="Aggregated Greeks of a book of positions (CSV, JSON or Deribit get_positions JSON; quantities "
        "in Deribit size units: USD face for inverse futures and perpetuals, coin otherwise), or of a bundled "
        f"sample book ({', '.join(Book.samples())}).",
    )
    add_book_arguments(p)
    p.add_argument("--by", choices=GROUPINGS, default="underlying", help="grouping (default: underlying)")
    p.add_argument(
        "--max-age",
        type=float,
        metavar="SECONDS",
        help="reject quotes whose timestamp is further than this from the valuation time (market files only)",
    )
    add_output_arguments(p)
    p.add_argument(
        "--raw", action="store_true", help="with --json: per-unit values (vega per 1.00 vol, theta per year)"
    )
    return p


def run(args: argparse.Namespace) -> int:
    market = load_market(args.market, args.max_age)
    book = load_book(args.book, market)
    report = book.greeks(market, by=args.by)
    if args.json:
        data = {
            "book": {
                "name": book.name,
                "positions": len(book),
                "accounts": len(book.accounts),
                "instruments": len(book.instruments),
            },
            **report.to_dict(display=not args.raw),
        }
        print_json(data)
        return 0
    if args.csv:
        print(csv_text(*report.table_rows()), end="")
        return 0
    print("\n".join(report_header(book, market, report)))
    print()
    print(report.table())
    return 0


def report_header(book: Book, market: Market, report: GreeksReport) -> list[str]:
    label = book.name or "book"
    lines = [
        (
            f"riskoffset greeks: {label}: {len(book)} netted positions, {len(book.accounts)} account(s), "
            f"{len(book.instruments)} instruments"
        ),
        f"market: {market.description or 'snapshot'} at {report.valuation_time}; "
        + ", ".join(f"{k} index {v:,.2f}" for k, v in sorted(market.index.items())),
        "forwards: " + ", ".join(f"{n} from {src}" for src, n in report.forward_sources.items()),
    ]
    if report.expired:
        lines.append(f"expired (valued at intrinsic): {', '.join(report.expired)}")
    lines.append(
        f"Black-76 on each expiry's forward, r = {market.rate:g}; delta in coin (plain and premium-adjusted) and in USD at the "
        "index; gamma per USD; vega per vol point; theta per day"
    )
    return lines


def risk_report() -> dict[str, GreeksReport]:
    """Greeks of every bundled sample book on the bundled sample market, by underlying."""
    market = Market.sample()
    return {name: Book.sample(name).greeks(market, by="underlying") for name in Book.samples()}


def print_risk_report(reports: dict[str, GreeksReport]) -> None:
    print()
    print(
        "Risk report: the bundled SYNTHETIC sample books on the SYNTHETIC sample market "
        "(see the README's sample data; not market data), by underlying."
    )
    print("Delta in coin (plain, premium-adjusted) and USD at the index; vega per vol point; theta per day.")
    for name, report in reports.items():
        print()
        print(f"[{name}]  riskoffset greeks {name} --by account|expiry|strike for more")
        print(report.table())
