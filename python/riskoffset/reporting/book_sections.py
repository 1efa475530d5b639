"""The report's book-wide sections: margin by method, Greeks by expiry and by strike, and a suggested delta
hedge, from ``ro.compare_margins``, ``Book.greeks`` and ``ro.hedge``."""

from __future__ import annotations

from typing import Any

from ..book import Book
from ..hedging import hedge
from ..margining.result import MarginResult
from ..market import Market
from .model import BarChart, Chart, Section, Series, Table, num, text


def margin_section(compared: dict[str, Any]) -> Section:
    section = Section(
        "margins",
        "Margin by method",
        "Initial and maintenance margin of the whole book under each method (USD): standard margin charges "
        "each position alone, portfolio methods net offsetting risks.",
    )
    ok = {k: v for k, v in compared.items() if isinstance(v, MarginResult) and v.initial_usd is not None}
    chart = BarChart(
        "margins-chart",
        "Margin by method",
        "method",
        "margin (USD)",
        list(ok),
        [
            Series("initial", [float(r.initial_usd or 0.0) for r in ok.values()]),
            Series("maintenance", [float(r.maintenance_usd or 0.0) for r in ok.values()]),
        ],
    )
    rows = []
    for method, r in compared.items():
        if isinstance(r, MarginResult):
            weakest = "candidate" if "candidate" in r.calibration.values() else "calibrated/exact"
            rows.append(
                [
                    text(method),
                    num(r.initial_usd),
                    num(r.maintenance_usd),
                    text(weakest),
                    text(r.parameters_source),
                ]
            )
        else:
            rows.append([text(method), text("not run"), text("-"), text("-"), text(str(r))])
    section.add(
        [chart],
        [
            Table(
                "margins-data",
                "Margin by method (USD)",
                ["method", "initial USD", "maintenance USD", "calibration", "parameters / why not run"],
                rows,
            )
        ],
    )
    return section


def greeks_section(book: Book, market: Market) -> Section:
    units = book.greeks(market).units(True)
    section = Section(
        "greeks",
        "Greeks by expiry and strike",
        "Net Greeks of the book (all accounts) in exchange display units: delta in coin and in USD (delta x "
        "index), gamma in coin per USD, vega in USD per vol point, theta in USD per day.",
    )
    by_expiry = book.greeks(market, by="expiry").rows()
    expiries = sorted({r["expiry"] for r in by_expiry}, key=lambda e: (e == "perpetual", e))
    underlyings = sorted({r["underlying"] for r in by_expiry})
    expiry_charts: list[Chart] = []
    for measure, title, unit in (
        ("delta_usd", "Delta by expiry", "delta (USD)"),
        ("vega_per_point", "Vega by expiry", "vega (USD per vol point)"),
    ):
        values = {(r["underlying"], r["expiry"]): r[measure] for r in by_expiry}
        expiry_charts.append(
            BarChart(
                f"greeks-expiry-{measure}",
                title,
                "expiry",
                unit,
                expiries,
                [Series(u, [float(values.get((u, e), 0.0)) for e in expiries]) for u in underlyings],
            )
        )
    columns = [("delta", 4), ("delta_usd", 0), ("gamma", 6), ("vega_per_point", 2), ("theta_per_day", 2)]
    heads = [
        f"delta ({units['delta'].split(' ')[0]})",
        "delta (USD)",
        "gamma (coin/USD)",
        "vega (USD/vol pt)",
        "theta (USD/day)",
    ]
    section.add(
        expiry_charts,
        [
            Table(
                "greeks-expiry-data",
                "Greeks by expiry",
                ["underlying", "expiry"] + heads,
                [
                    [text(r["underlying"]), text(r["expiry"])] + [num(r[c], d) for c, d in columns]
                    for r in by_expiry
                ],
            )
        ],
    )
    by_strike = [r for r in book.greeks(market, by="strike").rows() if r["strike"] != "-"]
    for u in underlyings:
        summed: dict[float, dict[str, float]] = {}
        for r in by_strike:
            if r["underlying"] != u:
                continue
            acc = summed.setdefault(float(r["strike"]), dict.fromkeys((c for c, _ in columns), 0.0))
            for c, _ in columns:
                acc[c] += r[c]
        if not summed:
            continue
        strikes = sorted(summed)
        labels = [f"{k:g}" for k in strikes]
        strike_charts: list[Chart] = []
        for measure, unit in (("delta", "delta (coin)"), ("vega_per_point", "vega (USD per vol point)")):
            strike_charts.append(
                BarChart(
                    f"greeks-strike-{u}-{measure}",
                    f"{u} options: {unit.split(' (')[0]} by strike (all expiries)",
                    f"{u} strike (USD)",
                    unit,
                    labels,
                    [Series(u, [summed[k][measure] for k in strikes])],
                )
            )
        section.add(
            strike_charts,
            [
                Table(
                    f"greeks-strike-{u}-data",
                    f"{u} options: Greeks by strike, all expiries together",
                    ["strike"] + heads,
                    [[num(k, 0)] + [num(summed[k][c], d) for c, d in columns] for k in strikes],
                )
            ],
        )
    return section


def hedge_section(book: Book, market: Market) -> Section:
    section = Section(
        "hedge",
        "Suggested delta hedge",
        "Futures and perpetual trades (all accounts netted as one) that bring each underlying's "
        "premium-adjusted delta to zero, rounded to whole lots: their cost, what is left, and the PM margin "
        "before and after.",
    )
    try:
        h = hedge(book, market, "delta")
    except (ValueError, TypeError) as exc:
        section.notes.append(f"No hedge suggested: {exc}")
        return section
    section.add(
        [],
        [
            Table(
                "hedge-trades",
                f"Trades (cost {h.cost.total:,.2f} USD: fees {h.cost.fees:,.2f}, half-spread "
                f"{h.cost.half_spread:,.2f})",
                ["instrument", "side", "quantity", "lots", "fee USD", "half-spread USD"],
                [
                    [
                        text(t.instrument),
                        text(t.side),
                        num(t.quantity, 4, signed=True),
                        num(t.lots, 0),
                        num(t.fee_usd),
                        num(t.half_spread_usd),
                    ]
                    for t in h.trades
                ],
            )
        ],
    )
    deltas = [k for k in h.greeks_before if k.startswith("delta ")]
    delta_chart = BarChart(
        "hedge-delta",
        "Delta before and after the hedge",
        "underlying",
        "premium-adjusted delta (coin)",
        [k.split(" ", 1)[1] for k in deltas],
        [
            Series("before", [h.greeks_before[k] for k in deltas]),
            Series("after", [h.greeks_after[k] for k in deltas]),
        ],
    )
    section.add(
        [delta_chart],
        [
            Table(
                "hedge-greeks",
                "Greeks before and after (delta in coin, gamma per USD, vega in USD per 1.00 vol); the residual "
                "is what rounding to lots leaves",
                ["greek", "before", "after (residual)"],
                [[text(k), num(h.greeks_before[k], 6), num(h.greeks_after[k], 6)] for k in h.greeks_before],
            )
        ],
    )
    rows = []
    if h.margin_before is not None and h.margin_after is not None:
        rows.append(
            [
                text("PM initial margin (USD)"),
                num(h.margin_before.initial_usd),
                num(h.margin_after.initial_usd),
            ]
        )
        rows.append(
            [
                text("PM maintenance margin (USD)"),
                num(h.margin_before.maintenance_usd),
                num(h.margin_after.maintenance_usd),
            ]
        )
    worst = []
    for group, prof in h.profiles.items():
        _, before_label, before = prof.worst_before
        _, after_label, after = prof.worst_after
        worst.append([text(group), num(before, 6), text(before_label), num(after, 6), text(after_label)])
    effect = [Table("hedge-effect", "PM margin before and after the hedge", ["", "before", "after"], rows)]
    section.add(
        [],
        effect[: 1 if rows else 0]
        + [
            Table(
                "hedge-worst",
                "Worst PM scenario of each risk group before and after (P&L in the group's currency)",
                ["risk group", "P&L before", "scenario before", "P&L after", "scenario after"],
                worst,
            ),
        ],
    )
    section.notes.extend(h.flags)
    return section


__all__ = ["greeks_section", "hedge_section", "margin_section"]
