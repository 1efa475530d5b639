"""Command line: `riskoffset demo | greeks | info`.  Human tables by default, --json for machines; bad input gives a
one-line message on stderr and exit code 2."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from .book import GROUPINGS, Book, GreeksReport
from .chain import OptionChain
from .implied_vol import implied_vol
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
    info = sub.add_parser("info", help="version and SIMD targets")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            summary, rows = _demo_rows(args.expiry)
            reports = _risk_report()
            if args.json:
                books = {name: report.to_dict() for name, report in reports.items()}
                print(json.dumps({"summary": summary, "options": rows, "books": books}, indent=2))
            else:
                _print_demo(summary, rows)
                _print_risk_report(reports)
        elif args.command == "greeks":
            _greeks_command(args.book, args.market, args.by, args.json, args.raw, args.max_age)
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
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
