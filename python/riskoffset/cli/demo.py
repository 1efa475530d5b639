"""``riskoffset demo``: prices, Greeks and implied vols of the bundled SYNTHETIC sample chain, then the risk
report and the capital-efficiency table of every sample book."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..book import Book
from ..chain import OptionChain
from ..implied_vol import implied_vol
from ..market import Market
from ..pricing import greeks
from ..simd import simd_info
from ..tables import Column, render
from ..units import theta_per_day, usd_gamma_of_inverse, vega_per_point
from .common import add_json_argument, print_json
from .greeks import print_risk_report, risk_report
from .margin import collateral_table, margin_report, print_margin_report


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "demo", help="price, Greeks and implied vols of the bundled sample chain"
    )
    p.add_argument("--expiry", help="expiry date to show (YYYY-MM-DD); default: the fourth")
    p.add_argument(
        "--report",
        default=REPORT,
        metavar="FILE",
        help=f"HTML risk report of the sample books to write at the end (default: {REPORT}; '' for none)",
    )
    add_json_argument(p)
    return p


REPORT = "riskoffset-report.html"


def sample_books() -> Book:
    """Every bundled sample book as one book, its accounts named BOOK/ACCOUNT (for the demo's report)."""
    records = []
    for name in Book.samples():
        book = Book.sample(name)
        for p in book.positions():
            records.append({**p, "account": f"{name}/{p['account']}"})
    return Book.from_positions(records, name="sample books")


def run(args: argparse.Namespace) -> int:
    summary, rows = demo_rows(args.expiry)
    reports = risk_report()
    margins = margin_report()
    collateral = collateral_report()
    if args.json:
        books = {name: report.to_dict() for name, report in reports.items()}
        print_json({"summary": summary, "options": rows, "books": books, "margin": margins, "collateral": collateral})
    else:
        print_demo(summary, rows)
        print_risk_report(reports)
        print_margin_report(margins)
        print_collateral_report(collateral)
    if args.report:
        from ..reporting import report

        written = report(sample_books(), Market.sample(), output=args.report)
        message = f"risk report of the sample books (SYNTHETIC sample data): {Path(written.path or args.report).resolve()}"
        print(message, file=sys.stderr if args.json else sys.stdout)
    return 0


COLLATERAL_BOOK = "market_maker"


def collateral_report() -> list[dict[str, Any]]:
    """The sample market-maker book on its sample balances under S:SM, X:SM, S:PM, X:PM: per model, summed
    over the accounts (riskoffset.accounts.compare_collateral)."""
    from ..accounts import Balances, compare_collateral

    return compare_collateral(Book.sample(COLLATERAL_BOOK), Market.sample(), Balances.sample(COLLATERAL_BOOK)).totals()


def print_collateral_report(rows: list[dict[str, Any]]) -> None:
    columns, table = collateral_table(rows, decimals=0)
    print()
    print(f"Collateral setups: sample book '{COLLATERAL_BOOK}' on its sample balances (SYNTHETIC), all accounts.")
    print("S: each settlement currency funded by its own balance; X: collateral pooled in USD after haircuts;")
    print("'to fund' = USD to add to meet initial margin; saved = against S:SM (riskoffset margin BOOK --balances).")
    print("\n".join(render(columns, table)))


def demo_rows(expiry: str | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    chain = OptionChain.from_market(Market.sample(), "BTC", "inverse")
    # Deribit convention: Black-76 on the expiry's forward, r = 0, coin-settled (inverse) options.
    g = {
        name: np.asarray(value)
        for name, value in greeks(
            chain.is_call, chain.forward, chain.strike, chain.t, 0.0, chain.mark_iv, settlement="inverse"
        ).items()
    }
    coin_mark = np.asarray(g["price"])
    iv, status = implied_vol(  # type: ignore[misc]  # return_status=True gives a pair
        coin_mark,
        chain.is_call,
        chain.forward,
        chain.strike,
        chain.t,
        0.0,
        settlement="inverse",
        return_status=True,
    )
    iv, status = np.asarray(iv), np.asarray(status)
    usd_vega = g["vega"] * chain.forward  # dc/dsigma in coin -> USD per 1.00 vol
    usd_theta = g["theta"] * chain.forward
    usd_gamma = usd_gamma_of_inverse(g["gamma"], g["delta"], np.asarray(chain.forward))
    expiries = sorted(set(chain.expiry.tolist()))
    chosen = expiry or expiries[min(3, len(expiries) - 1)]
    if chosen not in expiries:
        raise ValueError(f"expiry {chosen!r} is not in the sample chain; choose one of {', '.join(expiries)}")
    rows = []
    for i in np.flatnonzero(chain.expiry == chosen):
        rows.append(
            {
                "instrument": str(chain.instrument_name[i]),
                "forward": float(chain.forward[i]),
                "mark_iv": float(chain.mark_iv[i]),
                "mark_coin": float(coin_mark[i]),
                "mark_usd": float(coin_mark[i] * chain.forward[i]),
                "delta": float(g["delta_b76"][i]),
                "delta_pa": float(g["delta_pa"][i]),
                "gamma_usd": float(usd_gamma[i]),
                "vega_usd_per_point": float(vega_per_point(usd_vega[i])),
                "theta_usd_per_day": float(theta_per_day(usd_theta[i])),
                "implied_vol": float(iv[i]),
            }
        )
    ok = status == 0
    # Where an option's coin price cannot carry the vol to 1e-10 (deep in the money, hours to expiry:
    # one ulp of the price moves the vol by more than that), the round-trip error is not meaningful.
    informative = ok & (np.abs(g["vega"]) * 1e-10 > 1e3 * np.finfo(float).eps * coin_mark)
    summary = {
        "chain": "synthetic BTC sample (see the README's sample data; not market data)",
        "valuation_time": chain.valuation_time.isoformat(),
        "options_priced": len(chain),
        "expiries": expiries,
        "shown_expiry": chosen,
        "iv_round_trip_max_abs_error": float(np.max(np.abs(iv[informative] - chain.mark_iv[informative]))),
        "iv_round_trip_checked": int(informative.sum()),
        "iv_failures": int((~ok).sum()),
        "simd": simd_info()["active"],
    }
    return summary, rows


def print_demo(summary: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    print(f"riskoffset demo: {summary['chain']}")
    print(
        f"valuation {summary['valuation_time']}, {summary['options_priced']} options over "
        f"{len(summary['expiries'])} expiries, SIMD target {summary['simd']}"
    )
    print(
        f"Expiry {summary['shown_expiry']} (Black-76 on the forward, r = 0, coin-settled; Deribit display units)"
    )
    columns = (
        Column("instrument", label=True),
        Column("mark iv", "percent", 2),
        Column("mark BTC", "fixed", 5),
        Column("mark USD", "fixed", 2),
        Column("delta", "fixed", 4),
        Column("delta_pa", "fixed", 4),
        Column("gamma /USD", "sci", 4),
        Column("vega USD/pt", "fixed", 2),
        Column("theta USD/d", "fixed", 2),
        Column("implied vol", "percent", 4),
    )
    table = [
        [r["instrument"], r["mark_iv"], r["mark_coin"], r["mark_usd"], r["delta"], r["delta_pa"], r["gamma_usd"],
         r["vega_usd_per_point"], r["theta_usd_per_day"], r["implied_vol"]]
        for r in rows
    ]  # fmt: skip
    print("\n".join(render(columns, table)))
    print(
        f"Implied vol recovered from the coin marks: max |error| {summary['iv_round_trip_max_abs_error']:.1e} over "
        f"the {summary['iv_round_trip_checked']} options whose price carries the vol to 1e-10; "
        f"{summary['iv_failures']} failure(s)."
    )
