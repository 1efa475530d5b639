"""Command line: `riskoffset demo | info`.  Human tables by default, --json for machines."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from .implied_vol import implied_vol
from .pricing import greeks
from .sample import load_sample_chain
from .simd import simd_info
from .units import theta_per_day, vega_per_point


def _demo_rows(expiry: str | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    chain = load_sample_chain()
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
        "chain": "synthetic BTC sample (tools/make_sample_chain.py; not market data)",
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="riskoffset", description="Portfolio risk and margin engine.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="price, Greeks and implied vols of the bundled sample chain")
    demo.add_argument("--expiry", help="expiry date to show (YYYY-MM-DD); default: the fourth")
    demo.add_argument("--json", action="store_true", help="machine-readable output")
    info = sub.add_parser("info", help="version and SIMD targets")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            summary, rows = _demo_rows(args.expiry)
            if args.json:
                print(json.dumps({"summary": summary, "options": rows}, indent=2))
            else:
                _print_demo(summary, rows)
        elif args.command == "info":
            from . import __version__

            data = {"version": __version__, **simd_info()}
            print(
                json.dumps(data, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in data.items())
            )
    except ValueError as exc:
        print(f"riskoffset: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into head & co.
        sys.stderr.close()
        return 0
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
