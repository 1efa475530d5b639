"""``riskoffset margin BOOK``: initial and maintenance margin under one method, or every method side by side
against isolated per-position margin (capital efficiency); the demo's capital-efficiency table."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import margining as margin_api
from ..accounts import MODELS, compare_collateral
from ..book import Book
from ..margining.result import MarginResult
from ..margining.span.algorithm import SAMPLE as SPAN_SAMPLE
from ..market import Market
from ..tables import Column, csv_text, render
from . import by_account
from .common import (
    add_book_arguments,
    add_output_arguments,
    load_balances,
    load_book,
    load_market,
    print_json,
)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "margin",
        help="margin of a book under one method or all side by side",
        description="Initial and maintenance margin of a book (same inputs as `greeks`) under Deribit standard "
        "margin, Deribit-style portfolio margin, SPAN or a scenario grid; --method all shows every available "
        "method side by side against isolated per-position margin (capital efficiency).",
    )
    add_book_arguments(p)
    p.add_argument(
        "--method", choices=[*margin_api.METHODS, "all"], default="deribit-pm", help="default: deribit-pm"
    )
    p.add_argument(
        "--params",
        action="append",
        metavar="[METHOD=]SOURCE",
        help="parameter set: a preset name or a JSON/.spn file (repeatable; METHOD= with --method all); SPAN takes "
        "a .spn file or a JSON file {\"file\": SPN, \"mapping\": {instrument: [contract, factor]}}; on the bundled "
        "sample market it defaults to the bundled synthetic SPAN file",
    )
    p.add_argument(
        "--correlation",
        type=float,
        default=0.8,
        metavar="RHO",
        help="with --method all: also show Deribit PM with scan risk aggregated across underlyings at this "
        "correlation (a user parameter; default 0.8)",
    )
    p.add_argument(
        "--balances",
        metavar="FILE",
        help="collateral per account and currency (CSV account,currency,amount or JSON, Deribit account "
        "summaries included; 'sample' for a sample book's bundled balances): shows the account view under "
        "--models",
    )
    p.add_argument(
        "--models",
        metavar="LIST",
        help="with --balances: Deribit account margin models, comma-separated (S:SM, X:SM, S:PM, X:PM) or 'all' "
        "(the default), with the USD saved against S:SM",
    )
    by_account.add_arguments(p)
    add_output_arguments(p)
    return p


def run(args: argparse.Namespace) -> int:
    market = load_market(args.market)
    method = args.method
    methods = margin_api.available_methods() if method == "all" else [method]
    params = margin_params(args.params, methods, sample_market=args.market is None)
    if args.balances is not None or args.models is not None:
        return run_collateral(args, market)
    if by_account.wanted(args):
        if method == "all":
            raise ValueError("--by account, --dask and --out take one --method, not all")
        return by_account.run(args, market, method, params.get(method))
    book = load_book(args.book, market)
    header = [
        (
            f"riskoffset margin: {book.name or 'book'}: {len(book)} netted positions, {len(book.accounts)} "
            f"account(s); market {market.description or 'snapshot'} at {market.valuation_time.isoformat()}"
        ),
    ]
    if method != "all":
        result = margin_api.margin(book, market, method, params.get(method))
        if args.json:
            print_json(result.to_dict())
            return 0
        if args.csv:
            print(csv_text(GROUP_COLUMNS, group_rows(result)), end="")
            return 0
        print("\n".join(header + [f"method: {method}", ""] + margin_table(result)))
        return 0
    results = with_correlated(
        margin_api.compare(book, market, methods, params), book, market, args.correlation
    )
    rows = comparison_rows(results)
    if args.csv:
        print(csv_text(COMPARISON_COLUMNS, comparison_table_rows(rows)), end="")
        return 0
    if args.json:
        print_json(
            {
                "book": book.name,
                "comparison": rows,
                "results": {m: r.to_dict() for m, r in results.items() if isinstance(r, MarginResult)},
            }
        )
        return 0
    print("\n".join(header))
    print("Capital efficiency: isolated per-position margin (deribit-standard) against portfolio methods.")
    print("\n".join(comparison_table(rows)))
    return 0


def collateral_table(rows: Sequence[dict[str, Any]], decimals: int = 2) -> tuple[tuple[Column, ...], list[list[Any]]]:
    """Columns and cells of a collateral comparison (`CollateralComparison.rows` or `.totals`)."""
    columns = (
        Column("account", label=True),
        Column("model", label=True),
        Column("initial USD", "fixed", decimals),
        Column("maint. USD", "fixed", decimals),
        Column("available USD", "fixed", decimals),
        Column("to fund USD", "fixed", decimals),
        Column("saved USD", "fixed", 0),
        Column("notes"),
    )
    table = [
        [r["account"], r["model"], r["initial_usd"], r["maintenance_usd"], r["available_usd"],
         r["funding_needed_usd"], r["saved_usd"], "candidate" if r["calibration"] == "candidate" else ""]
        for r in rows
    ]  # fmt: skip
    return columns, table



def run_collateral(args: argparse.Namespace, market: Market) -> int:
    """--balances / --models: the accounts under each Deribit account margin model (riskoffset.accounts)."""
    book = load_book(args.book, market)
    balances = load_balances(args.balances, args.book)
    text = (args.models or "all").strip()
    models = list(MODELS) if text.lower() == "all" else [m.strip() for m in text.split(",") if m.strip()]
    comparison = compare_collateral(book, market, balances, models)
    rows = comparison.rows()
    if args.json:
        print_json({"book": book.name, "balances": balances.source, "accounts": rows})
        return 0
    columns, table = collateral_table(rows)
    if args.csv:
        print(csv_text(columns, table), end="")
        return 0
    print(
        f"riskoffset margin: {book.name or 'book'}: {len(book.accounts)} account(s) funded by "
        f"{Path(balances.source).name or 'balances'}; market {market.description or 'snapshot'}"
    )
    print("Collateral setups: S: each settlement currency margined by its own balance; X: all collateral pooled")
    print("in USD at the index after haircuts. 'to fund' = USD to add to meet initial margin; saved = vs S:SM.")
    print("\n".join(render(columns, table)))
    return 0


def margin_params(
    entries: Sequence[str] | None, methods: Sequence[str], *, sample_market: bool = False
) -> dict[str, Any]:
    """--params [METHOD=]SOURCE, repeatable; a bare SOURCE belongs to the only method asked for.  On the bundled
    sample market SPAN defaults to the bundled synthetic SPAN file made for it (docs/span.md)."""
    out: dict[str, Any] = {}
    if sample_market and "span" in methods:
        out["span"] = SPAN_SAMPLE
    for entry in entries or ():
        method, sep, source = entry.partition("=")
        if not sep:
            if len(methods) != 1:
                raise ValueError(f"--params {entry!r}: with several methods write METHOD=SOURCE")
            method, source = methods[0], entry
        if method not in margin_api.METHODS:
            raise ValueError(
                f"--params {entry!r}: unknown method {method!r}; choose one of {', '.join(margin_api.METHODS)}"
            )
        out[method] = source
    return out


GROUP_COLUMNS = (
    Column("account", label=True),
    Column("group", label=True),
    Column("ccy"),
    Column("initial", "sig", 8),
    Column("maintenance", "sig", 8),
    Column("initial USD", "fixed", 2),
    Column("maint. USD", "fixed", 2),
    Column("worst scenario"),
)


def group_rows(result: MarginResult) -> list[list[Any]]:
    """One row per (account, risk group) in `GROUP_COLUMNS`, then the total when there are several."""
    groups = result.groups or (result,)
    rows: list[list[Any]] = []
    for g in groups:
        ws = g.worst_scenario
        rows.append([
            "" if g.account is None else str(g.account), g.group or "-", g.currency, g.initial, g.maintenance,
            g.initial_usd, g.maintenance_usd, None if ws is None else f"#{ws.index} {ws.description}",
        ])  # fmt: skip
    if len(groups) > 1:
        rows.append(["total", "", result.currency, result.initial, result.maintenance, result.initial_usd,
                     result.maintenance_usd, None])  # fmt: skip
    return rows


def margin_table(result: MarginResult) -> list[str]:
    """One row per (account, risk group), then the components with their calibration."""
    lines = render(GROUP_COLUMNS, group_rows(result))
    lines.append("")
    lines.append(
        f"components ({result.currency}; calibrated = reproduces published exchange output, exact = closed-form"
    )
    lines.append("rule, candidate = documented formula not yet checked against the exchange):")
    components = [[name, value, result.calibration.get(name, "")] for name, value in result.components.items()]
    lines += ["  " + line for line in render(COMPONENT_COLUMNS, components, width=98)]
    lines.append(f"parameters: {result.parameters_source}")
    return lines


COMPONENT_COLUMNS = (Column("component", label=True), Column("amount", "sig", 10), Column("calibration"))


def comparison_rows(results: dict[str, MarginResult | Exception]) -> list[dict[str, Any]]:
    """Capital efficiency: each method's requirement in USD against isolated (standard) margin."""
    base = results.get("deribit-standard")
    base_usd = base.initial_usd if isinstance(base, MarginResult) else None
    rows = []
    for method, r in results.items():
        if isinstance(r, Exception):
            rows.append({"method": method, "available": False, "reason": str(r)})
            continue
        ratio = r.initial_usd / base_usd if (base_usd and r.initial_usd is not None) else None
        candidates = sorted(k for k, v in r.calibration.items() if v == "candidate" and r.components.get(k))
        rows.append(
            {
                "method": method,
                "available": True,
                "initial_usd": r.initial_usd,
                "maintenance_usd": r.maintenance_usd,
                "of_standard": ratio,
                "capital_saved_usd": None
                if base_usd is None or r.initial_usd is None
                else base_usd - r.initial_usd,
                "candidate_components": candidates,
                "parameters": r.parameters_source,
            }
        )
    return rows


COMPARISON_COLUMNS = (
    Column("method", label=True),
    Column("initial USD", "fixed", 2),
    Column("maint. USD", "fixed", 2),
    Column("vs isolated", "percent", 1),
    Column("saved USD", "fixed", 0),
    Column("notes"),
)


def comparison_table_rows(rows: list[dict[str, Any]]) -> list[list[Any]]:
    out: list[list[Any]] = []
    for r in rows:
        if not r["available"]:
            out.append([r["method"], None, None, None, None, "n/a: " + r["reason"]])
            continue
        note = "candidate: " + ", ".join(r["candidate_components"]) if r["candidate_components"] else ""
        if "synthetic" in str(r.get("parameters", "")).lower():
            note = "synthetic parameters" + ("; " + note if note else "")
        out.append([r["method"], r["initial_usd"], r["maintenance_usd"], r["of_standard"], r["capital_saved_usd"],
                    note])  # fmt: skip
    return out


def comparison_table(rows: list[dict[str, Any]]) -> list[str]:
    return render(COMPARISON_COLUMNS, comparison_table_rows(rows))


def with_correlated(
    results: dict[str, MarginResult | Exception], book: Book, market: Market, correlation: float | None
) -> dict[str, MarginResult | Exception]:
    """The comparison plus Deribit PM with the cross-underlying aggregation at ``correlation`` (a user
    parameter, not an exchange's; margin/cross_underlying.py), when deribit-pm itself ran."""
    if correlation is None or not isinstance(results.get("deribit-pm"), MarginResult):
        return results
    from ..margining.cross_underlying import correlated_margin

    if not -1.0 <= correlation <= 1.0:
        raise ValueError(f"--correlation must be in [-1, 1], got {correlation!r}")
    out = dict(results)
    label = f"pm-corr rho={correlation:g}"  # fits the method column of the table
    try:
        out[label] = correlated_margin(book, market, correlation)
    except (ValueError, TypeError) as exc:
        out[label] = exc
    return out


def margin_report() -> dict[str, list[dict[str, Any]]]:
    """Every available method on every bundled sample book (the demo's capital-efficiency table)."""
    market = Market.sample()
    return {
        name: comparison_rows(
            with_correlated(
                margin_api.compare(Book.sample(name), market, params={"span": SPAN_SAMPLE}),
                Book.sample(name),
                market,
                0.8,
            )
        )
        for name in Book.samples()
    }


def print_margin_report(report: dict[str, list[dict[str, Any]]]) -> None:
    print()
    print(
        "Margin side by side on the SYNTHETIC sample books: isolated per-position margin (deribit-standard) against "
        "portfolio margin; `riskoffset margin BOOK --method all` for one book, --method NAME for the breakdown."
    )
    for name, rows in report.items():
        print()
        print(f"[{name}]")
        print("\n".join(comparison_table(rows)))
