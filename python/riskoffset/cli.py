"""Command line: `riskoffset demo | greeks | margin | hedge | whatif | liquidation | info`.  Human tables by default, --json for machines; bad input gives a
one-line message on stderr and exit code 2."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import margining as margin_api
from .book import GROUPINGS, Book, GreeksReport
from .chain import OptionChain
from .implied_vol import implied_vol
from .margining.result import MarginResult
from .market import Market
from .pricing import greeks
from .simd import simd_info
from .units import theta_per_day, vega_per_point


def _demo_rows(expiry: str | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
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
    usd_vega = np.asarray(g["vega"]) * chain.forward  # dc/dsigma in coin -> USD per 1.00 vol
    usd_theta = np.asarray(g["theta"]) * chain.forward
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
                "delta": float(np.asarray(g["delta_b76"])[i]),
                "delta_pa": float(np.asarray(g["delta_pa"])[i]),
                "gamma_usd": _usd_gamma(g, chain.forward, int(i)),
                "vega_usd_per_point": float(vega_per_point(usd_vega[i])),
                "theta_usd_per_day": float(theta_per_day(usd_theta[i])),
                "implied_vol": float(iv[i]),
            }
        )
    ok = status == 0
    # Where an option's coin price cannot carry the vol to 1e-10 (deep in the money, hours to expiry:
    # one ulp of the price moves the vol by more than that), the round-trip error is not meaningful.
    informative = ok & (np.abs(np.asarray(g["vega"])) * 1e-10 > 1e3 * np.finfo(float).eps * coin_mark)
    summary = {
        "chain": "synthetic BTC sample (tools/make_sample_market.py; not market data)",
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


def _usd_gamma(g: Any, forward: Any, i: int) -> float:
    # The plain Black-76 gamma of the USD value, d2C/dF2 = F * d2c/dF2 + 2 dc/dF (from C = F c).
    return float(forward[i] * np.asarray(g["gamma"])[i] + 2.0 * np.asarray(g["delta"])[i])


def _print_demo(summary: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    print(f"riskoffset demo: {summary['chain']}")
    print(
        f"valuation {summary['valuation_time']}, {summary['options_priced']} options over "
        f"{len(summary['expiries'])} expiries, SIMD target {summary['simd']}"
    )
    print(
        f"Expiry {summary['shown_expiry']} (Black-76 on the forward, r = 0, coin-settled; Deribit display units)"
    )
    header = (
        f"{'instrument':<24}{'iv':>7}{'mark BTC':>11}{'mark USD':>11}{'delta':>8}{'delta_pa':>9}"
        f"{'gamma':>11}{'vega/pt':>9}{'theta/d':>10}{'impl.vol':>10}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['instrument']:<24}{r['mark_iv'] * 100:>6.2f}%{r['mark_coin']:>11.5f}{r['mark_usd']:>11.2f}"
            f"{r['delta']:>8.4f}{r['delta_pa']:>9.4f}{r['gamma_usd']:>11.3e}{r['vega_usd_per_point']:>9.2f}"
            f"{r['theta_usd_per_day']:>10.2f}{r['implied_vol'] * 100:>9.4f}%"
        )
    print(
        f"Implied vol recovered from the coin marks: max |error| {summary['iv_round_trip_max_abs_error']:.1e} over "
        f"the {summary['iv_round_trip_checked']} options whose price carries the vol to 1e-10; "
        f"{summary['iv_failures']} failure(s)."
    )


# ---------------------------------------------------------------------------------------------- greeks
def _load_market(path: str | None, max_age: float | None = None) -> Market:
    if path is None:
        return Market.sample()
    return Market.load(path) if max_age is None else Market.load(path, max_age=max_age)


def _load_book(spec: str, market: Market) -> Book:
    """A file path, or the name of a bundled sample book (optionally written sample:NAME)."""
    from pathlib import Path

    name = spec.removeprefix("sample:")
    if Path(spec).exists():
        return Book.load(spec, instruments=market.instruments)
    if name in Book.samples():
        return Book.sample(name)
    raise ValueError(
        f"book {spec!r} is neither a file (.csv or .json) nor a bundled sample; samples: {', '.join(Book.samples())}"
    )


def _report_header(book: Book, market: Market, report: GreeksReport) -> list[str]:
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


def _greeks_command(
    book_spec: str, market_path: str | None, by: str, as_json: bool, raw: bool, max_age: float | None
) -> None:
    market = _load_market(market_path, max_age)
    book = _load_book(book_spec, market)
    report = book.greeks(market, by=by)
    if as_json:
        data = {
            "book": {
                "name": book.name,
                "positions": len(book),
                "accounts": len(book.accounts),
                "instruments": len(book.instruments),
            },
            **report.to_dict(display=not raw),
        }
        print(json.dumps(data, indent=2))
        return
    print("\n".join(_report_header(book, market, report)))
    print()
    print(report.table())


def _risk_report() -> dict[str, Any]:
    """Greeks of every bundled sample book on the bundled sample market, by underlying."""
    market = Market.sample()
    return {name: Book.sample(name).greeks(market, by="underlying") for name in Book.samples()}


def _print_risk_report(reports: dict[str, GreeksReport]) -> None:
    print()
    print(
        "Risk report: the bundled SYNTHETIC sample books on the SYNTHETIC sample market "
        "(tools/make_sample_market.py; not market data), by underlying."
    )
    print("Delta in coin (plain, premium-adjusted) and USD at the index; vega per vol point; theta per day.")
    for name, report in reports.items():
        print()
        print(f"[{name}]  riskoffset greeks {name} --by account|expiry|strike for more")
        print(report.table())


# ---------------------------------------------------------------------------------------------- margin
def _margin_params(specs: Sequence[str] | None, methods: Sequence[str]) -> dict[str, Any]:
    """--params [METHOD=]SOURCE, repeatable; a bare SOURCE belongs to the only method asked for."""
    out: dict[str, Any] = {}
    for spec in specs or ():
        method, sep, source = spec.partition("=")
        if not sep:
            if len(methods) != 1:
                raise ValueError(f"--params {spec!r}: with several methods write METHOD=SOURCE")
            method, source = methods[0], spec
        if method not in margin_api.METHODS:
            raise ValueError(
                f"--params {spec!r}: unknown method {method!r}; choose one of {', '.join(margin_api.METHODS)}"
            )
        out[method] = source
    return out


def _usd(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _margin_table(result: MarginResult) -> list[str]:
    """One row per (account, risk group), then the components with their calibration."""
    groups = result.groups or (result,)
    rows = []
    for g in groups:
        ws = g.worst_scenario
        rows.append(
            (
                "" if g.account is None else str(g.account),
                g.group or "-",
                g.currency,
                f"{g.initial:,.8g}",
                f"{g.maintenance:,.8g}",
                _usd(g.initial_usd),
                _usd(g.maintenance_usd),
                "-" if ws is None else f"#{ws.index} {ws.description}",
            )
        )
    head = (
        "account",
        "group",
        "ccy",
        "initial",
        "maintenance",
        "initial USD",
        "maint. USD",
        "worst scenario",
    )
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    right = {3, 4, 5, 6}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
        )

    lines = [line(head), "-" * len(line(head))]
    lines += [line(r) for r in rows]
    if len(groups) > 1:
        lines.append(
            line(
                (
                    "total",
                    "",
                    result.currency,
                    f"{result.initial:,.8g}",
                    f"{result.maintenance:,.8g}",
                    _usd(result.initial_usd),
                    _usd(result.maintenance_usd),
                    "",
                )
            )
        )
    lines.append("")
    lines.append(
        f"components ({result.currency}; calibrated = reproduces published exchange output, exact = closed-form"
    )
    lines.append("rule, candidate = documented formula not yet checked against the exchange):")
    for name, value in result.components.items():
        lines.append(f"  {name:<26}{value:>20,.10g}  {result.calibration.get(name, '')}")
    lines.append(f"parameters: {result.parameters_source}")
    return lines


def _comparison_rows(results: dict[str, MarginResult | Exception]) -> list[dict[str, Any]]:
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
            }
        )
    return rows


def _comparison_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        f"{'method':<18}{'initial USD':>16}{'maint. USD':>16}{'vs isolated':>13}{'saved USD':>16}  notes"
    ]
    lines.append("-" * len(lines[0]))
    for r in rows:
        if not r["available"]:
            reason = r["reason"] if len(r["reason"]) <= 70 else r["reason"][:67] + "..."
            lines.append(f"{r['method']:<18}{'n/a':>16}{'':>16}{'':>13}{'':>16}  {reason}")
            continue
        ratio = "-" if r["of_standard"] is None else f"{r['of_standard']:.1%}"
        saved = "-" if r["capital_saved_usd"] is None else f"{r['capital_saved_usd']:,.0f}"
        note = "candidate: " + ", ".join(r["candidate_components"]) if r["candidate_components"] else ""
        lines.append(
            f"{r['method']:<18}{_usd(r['initial_usd']):>16}{_usd(r['maintenance_usd']):>16}{ratio:>13}{saved:>16}  {note}"
        )
    return lines


def _margin_command(
    book_spec: str,
    market_path: str | None,
    method: str,
    param_specs: Sequence[str] | None,
    as_json: bool,
    correlation: float | None = 0.8,
) -> None:
    market = _load_market(market_path)
    book = _load_book(book_spec, market)
    methods = margin_api.available_methods() if method == "all" else [method]
    params = _margin_params(param_specs, methods)
    header = [
        (
            f"riskoffset margin: {book.name or 'book'}: {len(book)} netted positions, {len(book.accounts)} "
            f"account(s); market {market.description or 'snapshot'} at {market.valuation_time.isoformat()}"
        ),
    ]
    if method != "all":
        result = margin_api.margin(book, market, method, params.get(method))
        if as_json:
            print(json.dumps(result.to_dict(), indent=2))
            return
        print("\n".join(header + [f"method: {method}", ""] + _margin_table(result)))
        return
    results = _with_correlated(margin_api.compare(book, market, methods, params), book, market, correlation)
    rows = _comparison_rows(results)
    if as_json:
        data = {
            "book": book.name,
            "comparison": rows,
            "results": {m: r.to_dict() for m, r in results.items() if isinstance(r, MarginResult)},
        }
        print(json.dumps(data, indent=2))
        return
    print("\n".join(header))
    print("Capital efficiency: isolated per-position margin (deribit-standard) against portfolio methods.")
    print("\n".join(_comparison_table(rows)))


def _with_correlated(
    results: dict[str, MarginResult | Exception], book: Book, market: Market, correlation: float | None
) -> dict[str, MarginResult | Exception]:
    """The comparison plus Deribit PM with the cross-underlying aggregation at ``correlation`` (a user
    parameter, not an exchange's; margin/cross_underlying.py), when deribit-pm itself ran."""
    if correlation is None or not isinstance(results.get("deribit-pm"), MarginResult):
        return results
    from .margining.cross_underlying import correlated_margin

    if not -1.0 <= correlation <= 1.0:
        raise ValueError(f"--correlation must be in [-1, 1], got {correlation!r}")
    out = dict(results)
    label = f"pm-corr rho={correlation:g}"  # fits the method column of the table
    try:
        out[label] = correlated_margin(book, market, correlation)
    except (ValueError, TypeError) as exc:
        out[label] = exc
    return out


def _margin_report() -> dict[str, list[dict[str, Any]]]:
    """Every available method on every bundled sample book (the demo's capital-efficiency table)."""
    market = Market.sample()
    return {
        name: _comparison_rows(
            _with_correlated(margin_api.compare(Book.sample(name), market), Book.sample(name), market, 0.8)
        )
        for name in Book.samples()
    }


def _print_margin_report(report: dict[str, list[dict[str, Any]]]) -> None:
    print()
    print(
        "Margin side by side on the SYNTHETIC sample books: isolated per-position margin (deribit-standard) against "
        "portfolio margin; `riskoffset margin BOOK --method all` for one book, --method NAME for the breakdown."
    )
    for name, rows in report.items():
        print()
        print(f"[{name}]")
        print("\n".join(_comparison_table(rows)))


# ---------------------------------------------------------------------------------------------- hedge, whatif
def _hedge_command(
    book_spec: str,
    market_path: str | None,
    target: str,
    with_instruments: str | None,
    account: str | None,
    by_expiry: bool,
    as_json: bool,
) -> None:
    from .hedging import hedge

    market = _load_market(market_path)
    book = _load_book(book_spec, market)
    instruments = [n.strip() for n in with_instruments.split(",") if n.strip()] if with_instruments else None
    result = hedge(
        book, market, target, instruments, account=_account_label(book, account), by_expiry=by_expiry
    )
    if as_json:
        print(json.dumps({"book": book.name, **result.to_dict()}, indent=2))
        return
    print(f"riskoffset hedge: {book.name or 'book'}; market {market.description or 'snapshot'}")
    print(result.table())


def _account_label(book: Book, account: str | None) -> Any:
    """An account given on the command line as text, matched against the book's labels (str or int)."""
    if account is None:
        return None
    for label in book.accounts.tolist():
        if str(label) == account:
            return label
    raise ValueError(
        f"account {account!r} is not in the book (accounts: {', '.join(map(str, book.accounts.tolist()))})"
    )


def _parse_orders(specs: Sequence[str]) -> list[tuple[str, float]]:
    orders = []
    for spec in specs:
        name, sep, quantity = spec.rpartition(":")
        if not sep or not name:
            raise ValueError(
                f"--order {spec!r}: expected NAME:QTY, e.g. BTC-PERPETUAL:-10000 (signed amount)"
            )
        try:
            q = float(quantity)
        except ValueError:
            raise ValueError(f"--order {spec!r}: quantity {quantity!r} is not a number") from None
        if not np.isfinite(q):
            raise ValueError(f"--order {spec!r}: quantity is not finite")
        orders.append((name, q))
    return orders


def _whatif_command(
    book_spec: str, market_path: str | None, order_specs: Sequence[str], account: str | None, as_json: bool
) -> None:
    from .instruments import Instrument
    from .whatif import WhatIf

    orders = _parse_orders(order_specs)
    for name, _ in orders:
        Instrument.parse(name)  # a malformed name fails here with the expected patterns
    market = _load_market(market_path)
    book = _load_book(book_spec, market)
    w = WhatIf(book, market, account=_account_label(book, account), instruments=[n for n, _ in orders])
    each = [w.order(name, q) for name, q in orders]
    basket = w.basket(orders)
    if as_json:
        print(
            json.dumps(
                {
                    "book": book.name,
                    "orders": [
                        {"instrument": n, "quantity": q, **r.to_dict()} for (n, q), r in zip(orders, each)
                    ],
                    "basket": basket.to_dict(),
                },
                indent=2,
            )
        )
        return
    print(
        f"riskoffset whatif: {book.name or 'book'}; Deribit PM margin (USD) of the account before and after each "
        "order alone, then the basket"
    )
    head = f"{'order':<34}{'IM before':>14}{'IM after':>14}{'IM change':>13}{'MM before':>14}{'MM after':>14}"
    print(head)
    print("-" * len(head))
    rows = [(f"{n} {q:+,g}", r) for (n, q), r in zip(orders, each)] + [("basket", basket)]
    for label, r in rows:
        print(
            f"{label:<34}{r.initial_usd_before:>14,.2f}{r.initial_usd_after:>14,.2f}"
            f"{r.initial_usd_after - r.initial_usd_before:>+13,.2f}{r.maintenance_usd_before:>14,.2f}"
            f"{r.maintenance_usd_after:>14,.2f}"
        )


def _parse_balance(specs: Sequence[str]) -> dict[str, float]:
    """--balance CUR:AMOUNT (repeatable) -> {"BTC": 1.5, "USDC": 20000.0}."""
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


def _liquidation_command(
    book_spec: str,
    market_path: str | None,
    balance_specs: Sequence[str],
    underlying: str | None,
    account: str | None,
    as_json: bool,
) -> None:
    from .liquidation import liquidation

    market = _load_market(market_path)
    book = _load_book(book_spec, market)
    result = liquidation(
        book,
        market,
        _parse_balance(balance_specs),
        underlying=underlying,
        account=_account_label(book, account),
    )
    if as_json:
        print(json.dumps({"book": book.name, **result.to_dict()}, indent=2))
    else:
        print(f"riskoffset liquidation: {book.name or 'book'}; Deribit PM maintenance margin against equity")
        print(result)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="riskoffset", description="Portfolio risk and margin engine.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="price, Greeks and implied vols of the bundled sample chain")
    demo.add_argument("--expiry", help="expiry date to show (YYYY-MM-DD); default: the fourth")
    demo.add_argument("--json", action="store_true", help="machine-readable output")
    greeks_cmd = sub.add_parser(
        "greeks",
        help="aggregated Greeks of a book",
        description="Aggregated Greeks of a book of positions (CSV, JSON or Deribit get_positions JSON; quantities "
        "in Deribit size units: USD face for inverse futures and perpetuals, coin otherwise), or of a bundled "
        f"sample book ({', '.join(Book.samples())}).",
    )
    greeks_cmd.add_argument("book", help="positions file (.csv/.json) or a sample book name")
    greeks_cmd.add_argument(
        "--market",
        help="market snapshot (.csv or .json, or a Deribit ticker response); default: the bundled sample",
    )
    greeks_cmd.add_argument(
        "--by", choices=GROUPINGS, default="underlying", help="grouping (default: underlying)"
    )
    greeks_cmd.add_argument(
        "--max-age",
        type=float,
        metavar="SECONDS",
        help="reject quotes whose timestamp is further than this from the valuation time (market files only)",
    )
    greeks_cmd.add_argument("--json", action="store_true", help="machine-readable output")
    greeks_cmd.add_argument(
        "--raw", action="store_true", help="with --json: per-unit values (vega per 1.00 vol, theta per year)"
    )
    margin_cmd = sub.add_parser(
        "margin",
        help="margin of a book under one method or all side by side",
        description="Initial and maintenance margin of a book (same inputs as `greeks`) under Deribit standard "
        "margin, Deribit-style portfolio margin, SPAN or a scenario grid; --method all shows every available "
        "method side by side against isolated per-position margin (capital efficiency).",
    )
    margin_cmd.add_argument("book", help="positions file (.csv/.json) or a sample book name")
    margin_cmd.add_argument("--market", help="market snapshot (.csv or .json); default: the bundled sample")
    margin_cmd.add_argument(
        "--method", choices=[*margin_api.METHODS, "all"], default="deribit-pm", help="default: deribit-pm"
    )
    margin_cmd.add_argument(
        "--params",
        action="append",
        metavar="[METHOD=]SOURCE",
        help="parameter set: a preset name or a JSON/.spn file (repeatable; METHOD= with --method all)",
    )
    margin_cmd.add_argument(
        "--correlation",
        type=float,
        default=0.8,
        metavar="RHO",
        help="with --method all: also show Deribit PM with scan risk aggregated across underlyings at this "
        "correlation (a user parameter; default 0.8)",
    )
    margin_cmd.add_argument("--json", action="store_true", help="machine-readable output")
    hedge_cmd = sub.add_parser(
        "hedge",
        help="what to trade to offset a book's risk, its cost, residual risk and margin",
        description="Hedge one account of a book (same inputs as `greeks`; --account, else the only one, else every "
        "account netted): delta with futures and perpetuals, delta-gamma(-vega) with options (least squares with "
        "a cost penalty), or the Deribit PM margin-minimising hedge (a linear program; needs scipy). Trades are "
        "rounded to lots.",
    )
    hedge_cmd.add_argument("book", help="positions file (.csv/.json) or a sample book name")
    hedge_cmd.add_argument("--market", help="market snapshot (.csv or .json); default: the bundled sample")
    hedge_cmd.add_argument(
        "--target", choices=["delta", "delta-gamma", "delta-gamma-vega", "margin"], default="delta"
    )
    hedge_cmd.add_argument(
        "--with",
        dest="with_instruments",
        metavar="INSTR,...",
        help="candidate instruments (default: see docs)",
    )
    hedge_cmd.add_argument("--account", help="the account to hedge")
    hedge_cmd.add_argument("--by-expiry", action="store_true", help="vega per expiry bucket")
    hedge_cmd.add_argument("--json", action="store_true", help="machine-readable output")
    whatif_cmd = sub.add_parser(
        "whatif",
        help="margin of an account before and after orders",
        description="Deribit PM initial and maintenance margin of one account (--account, else the only one, else "
        "every account netted) before and after each order and the basket, from the cached book.",
    )
    whatif_cmd.add_argument("book", help="positions file (.csv/.json) or a sample book name")
    whatif_cmd.add_argument("--market", help="market snapshot (.csv or .json); default: the bundled sample")
    whatif_cmd.add_argument(
        "--order",
        action="append",
        required=True,
        metavar="NAME:QTY",
        help="signed amount in Deribit size units (USD face for inverse futures), repeatable",
    )
    whatif_cmd.add_argument("--account", help="the account")
    whatif_cmd.add_argument("--json", action="store_true", help="machine-readable output")
    liquidation_cmd = sub.add_parser(
        "liquidation",
        help="underlying prices at which equity falls to maintenance margin",
        description="Moves one underlying (index, futures and forwards; vols held) down and up and finds where the "
        "account's equity (--balance collateral plus positions) meets its Deribit PM maintenance margin.",
    )
    liquidation_cmd.add_argument("book", help="positions file (.csv/.json) or a sample book name")
    liquidation_cmd.add_argument(
        "--market", help="market snapshot (.csv or .json); default: the bundled sample"
    )
    liquidation_cmd.add_argument(
        "--balance",
        action="append",
        required=True,
        metavar="CUR:AMOUNT",
        help="collateral, repeatable (e.g. --balance BTC:1.5 --balance USDC:20000)",
    )
    liquidation_cmd.add_argument("--underlying", help="the price that moves (default: the book's only one)")
    liquidation_cmd.add_argument("--account", help="the account")
    liquidation_cmd.add_argument("--json", action="store_true", help="machine-readable output")
    info = sub.add_parser("info", help="version and SIMD targets")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            summary, rows = _demo_rows(args.expiry)
            reports = _risk_report()
            margins = _margin_report()
            if args.json:
                books = {name: report.to_dict() for name, report in reports.items()}
                print(
                    json.dumps(
                        {"summary": summary, "options": rows, "books": books, "margin": margins}, indent=2
                    )
                )
            else:
                _print_demo(summary, rows)
                _print_risk_report(reports)
                _print_margin_report(margins)
        elif args.command == "greeks":
            _greeks_command(args.book, args.market, args.by, args.json, args.raw, args.max_age)
        elif args.command == "margin":
            _margin_command(args.book, args.market, args.method, args.params, args.json, args.correlation)
        elif args.command == "hedge":
            _hedge_command(
                args.book,
                args.market,
                args.target,
                args.with_instruments,
                args.account,
                args.by_expiry,
                args.json,
            )
        elif args.command == "whatif":
            _whatif_command(args.book, args.market, args.order, args.account, args.json)
        elif args.command == "liquidation":
            _liquidation_command(
                args.book, args.market, args.balance, args.underlying, args.account, args.json
            )
        elif args.command == "info":
            from . import __version__

            data = {"version": __version__, **simd_info()}
            print(
                json.dumps(data, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in data.items())
            )
    except BrokenPipeError:  # output piped into head & co. (before OSError, its base class)
        sys.stderr.close()
        return 0
    except (ValueError, TypeError, OSError) as exc:  # MarketDataError, json.JSONDecodeError are ValueErrors
        print(f"riskoffset: error: {exc}", file=sys.stderr)
        return 2
    except KeyError as exc:  # an instrument outside the what-if universe: the message is the argument
        print(f"riskoffset: error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    except ImportError as exc:  # the margin-minimising hedge without scipy
        print(f"riskoffset: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
