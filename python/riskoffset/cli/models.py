"""``riskoffset margin BOOK --balances FILE|sample --models all|S:SM,X:PM,...``: the same accounts under
Deribit's segregated and cross collateral models, with what keeping collateral apart costs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..accounts import MODELS, Balances, compare_models
from ..accounts.balances import sample_haircuts
from ..book import Book
from ..market import Market
from ..tables import Column, csv_text, render
from .common import print_json

SAMPLE = "sample"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--balances",
        metavar="FILE|sample",
        help="collateral per account and currency (CSV account,currency,amount; JSON; a Deribit account-summary "
        "response), or 'sample' for the bundled synthetic balances of the sample books",
    )
    p.add_argument(
        "--models",
        metavar="all|MODEL,...",
        help="with --balances: the collateral models to show (S:SM, X:SM, S:PM, X:PM; default all)",
    )
    p.add_argument(
        "--haircut",
        action="append",
        default=[],
        metavar="CUR:FRACTION",
        help="an initial-margin haircut for a collateral currency (e.g. BTC:0.02), repeatable",
    )


def wanted(args: argparse.Namespace) -> bool:
    return bool(args.balances or args.models or args.haircut)


def load_balances(spec: str, book: Book) -> tuple[Balances, dict[str, float], str]:
    """(balances of the book's accounts, haircuts that come with them, a note for the header)."""
    if spec == SAMPLE:
        return Balances.sample(book.accounts), sample_haircuts(), "SYNTHETIC sample balances and haircuts"
    path = Path(spec)
    if not path.exists():
        raise FileNotFoundError(f"balances file {spec!r} does not exist")
    if path.suffix.lower() == ".csv":
        return Balances.from_csv(path), {}, str(path)
    if path.suffix.lower() == ".json":
        return Balances.from_json(path), {}, str(path)
    raise ValueError(f"balances file {spec!r}: expected a .csv or .json file, or 'sample'")


def parse_haircuts(specs: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for spec in specs:
        cur, sep, value = spec.partition(":")
        try:
            out[cur.strip().upper()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not cur.strip():
            raise ValueError(f"--haircut {spec!r}: expected CUR:FRACTION, e.g. BTC:0.02")
    return out


COLUMNS = (
    Column("account", label=True),
    Column("model"),
    Column("equity USD", "fixed", 2),
    Column("IM USD", "fixed", 2),
    Column("MM USD", "fixed", 2),
    Column("available USD", "fixed", 2),
    Column("MM ratio", "percent", 1),
    Column("short of IM"),
    Column("saved vs S:SM USD", "fixed", 2, signed=True),
)


def run(args: argparse.Namespace, book: Book, market: Market, params: dict[str, Any]) -> int:
    if not args.balances:
        raise ValueError("--models and --haircut need --balances FILE (or --balances sample)")
    models = list(MODELS) if args.models in (None, "all") else [m.strip().upper() for m in args.models.split(",")]
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"--models {args.models!r}: unknown {unknown}; choose from {', '.join(MODELS)} or all")
    balances, haircuts, note = load_balances(args.balances, book)
    haircuts = {**haircuts, **parse_haircuts(args.haircut)}
    views = compare_models(book, market, balances, haircuts=haircuts, params=None)
    base = views["S:SM"]
    rows = []
    for model in models:
        v = views[model]
        for i, account in enumerate(v.accounts.tolist()):
            rows.append([account, model, v.equity_usd[i], v.initial_usd[i], v.maintenance_usd[i], v.available_usd[i],
                         v.mm_ratio[i], "yes" if v.short_of_initial[i] else "no",
                         v.available_usd[i] - base.available_usd[i]])  # fmt: skip
    if args.json:
        print_json({"balances": note, "models": {m: views[m].to_dict() for m in models},
                    "candidate": [m for m in models if views[m].calibration == "candidate"]})  # fmt: skip
        return 0
    if args.csv:
        print(csv_text(COLUMNS, rows), end="")
        return 0
    print(f"riskoffset margin: {book.name or 'book'} under Deribit's collateral models; balances: {note}")
    print("\n".join(render(COLUMNS, rows)))
    if "X:PM" in models:
        print("X:PM adds the per-currency portfolio margins in USD with no offset between currencies (candidate).")
    return 0


SUMMARY_COLUMNS = (
    Column("book", label=True),
    Column("model"),
    Column("IM USD", "fixed", 0),
    Column("available USD", "fixed", 0),
    Column("accounts short of IM", "int"),
)


def collateral_report() -> list[list[Any]]:
    """Every sample book with its SYNTHETIC sample balances under the four models (the demo's table)."""
    market = Market.sample()
    rows: list[list[Any]] = []
    for name in Book.samples():
        book = Book.sample(name)
        views = compare_models(book, market, Balances.sample(book.accounts), haircuts=sample_haircuts())
        for model, v in views.items():
            rows.append([name, model, float(v.initial_usd.sum()), float(v.available_usd.sum()),
                         int(v.short_of_initial.sum())])  # fmt: skip
    return rows


def print_collateral_report(rows: list[list[Any]]) -> None:
    print()
    print("Collateral models: the sample books with SYNTHETIC sample balances (riskoffset margin BOOK --balances sample):")
    print("segregated (S:) keeps each currency apart, cross (X:) pools them in USD after haircuts.")
    print("\n".join(render(SUMMARY_COLUMNS, rows)))
