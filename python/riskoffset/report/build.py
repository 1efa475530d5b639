"""The report's sections, computed from the library's public functions: headline numbers, the P&L profile,
the PM risk matrix, margin by method, Greeks by expiry and strike, the worst-scenario drivers and a delta
hedge.  Each section pairs every chart with the table of its data (docs/report.md says how to read them)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import Book, MarginResult, Market, compare_margins, hedge, margin
from ..liquidation import Liquidation, liquidation  # the module of ro.liquidation (same name as the function)
from . import pm
from .model import BarChart, Cell, Chart, Heatmap, LineChart, Section, Series, Table, num, text

TOP_DRIVERS = 10


@dataclass
class Content:
    """Everything a report shows: its title, whether the data are the bundled synthetic samples, the
    headline numbers and the sections."""

    title: str
    subtitle: str
    synthetic: bool
    headline: list[tuple[str, Cell]]
    sections: list[Section]


def is_synthetic(book: Book, market: Market) -> bool:
    """True for the bundled SYNTHETIC sample market or books (Market.sample, Book.sample)."""
    if "SYNTHETIC" in market.description.upper():
        return True
    return bool(book.name) and book.name in Book.samples() and book.equals(Book.sample(book.name))


def _label(v: Any) -> str:
    return str(v.item() if hasattr(v, "item") else v)


def _balance_per_account(book: Book, balances: Any) -> dict[str, Any]:
    """{account label: balance} from the forms `report` accepts (one balance for a one-account book, or a
    mapping account -> balance)."""
    accounts = [_label(a) for a in book.accounts.tolist()]
    if isinstance(balances, bool) or not isinstance(balances, (int, float, Mapping)):
        raise TypeError(f"balances: expected a number (USD) or a mapping, got {type(balances).__name__}")
    if isinstance(balances, Mapping) and balances and all(isinstance(v, Mapping) for v in balances.values()):
        out = {str(k): v for k, v in balances.items()}
        unknown = sorted(set(out) - set(accounts))
        if unknown:
            raise ValueError(
                f"balances: no account {unknown[0]!r} in the book (accounts: {', '.join(accounts)})"
            )
        return out
    if len(accounts) != 1:
        raise ValueError(
            f"balances: the book has {len(accounts)} accounts ({', '.join(accounts)}): give a mapping "
            "account -> {currency: amount}"
        )
    return {accounts[0]: balances}


def liquidations(book: Book, market: Market, balances: Any) -> list[tuple[str, Liquidation]]:
    """ro.liquidation for every (account with a balance, underlying it holds)."""
    if balances is None:
        return []
    out = []
    for i, account in enumerate(book.accounts.tolist()):
        label = _label(account)
        per_account = _balance_per_account(book, balances)
        if label not in per_account:
            continue
        rows = book.indices[book.indptr[i] : book.indptr[i + 1]]
        held = sorted({book.instruments.underlyings[u] for u in book.instruments.underlying[rows].tolist()})
        for underlying in held:
            out.append(
                (label, liquidation(book, market, per_account[label], underlying=underlying, account=account))
            )
    return out


def _moves_label(m: float) -> str:
    return f"{m:+.1%}"


def headline(
    book: Book, market: Market, pm_result: MarginResult, compared: dict[str, Any]
) -> list[tuple[str, Cell]]:
    greeks = book.greeks(market, by="underlying")
    out: list[tuple[str, Cell]] = [
        ("positions", num(len(book), 0)),
        ("accounts", num(len(book.accounts), 0)),
        ("PM initial margin (USD)", num(pm_result.initial_usd)),
        ("PM maintenance margin (USD)", num(pm_result.maintenance_usd)),
    ]
    std = compared.get("deribit-standard")
    if isinstance(std, MarginResult):
        out.append(("standard initial margin (USD)", num(std.initial_usd)))
    if pm_result.worst_scenario is not None:
        ws = pm_result.worst_scenario
        out.append(
            (
                f"PM worst scenario ({pm_result.currency if not pm_result.groups else 'largest group'})",
                text(ws.description),
            )
        )
    for row in greeks.rows():
        out.append((f"net delta {row['underlying']} (coin)", num(row["delta"], 4, signed=True)))
    return out


def profile_section(
    book: Book, market: Market, doc: dict[str, Any], liquidated: list[tuple[str, Liquidation]]
) -> Section:
    ranges = [float(p["price_range"]) for p in doc["model_params"]["currency_pair"].values()]
    wanted = [0.5, 3.0 * max(ranges)]
    for _, liq in liquidated:
        for d in (liq.distance_down, liq.distance_up):
            if d is not None and abs(d) < 0.9:
                wanted.append(1.15 * abs(d))
    # Round to 5 % so the grid steps are round: 1.25 % between profile points.
    price_range = min(math.ceil(max(wanted) / 0.05 - 1e-9) * 0.05, 0.9)
    buckets = round(price_range / 0.0125)
    section = Section(
        "profile",
        "P&L profile",
        "Profit and loss of each risk group (all accounts together) if the underlying moves to the price on "
        "the horizontal axis right now, at the three Deribit PM vol states (vols shocked up, unchanged, "
        "shocked down, scaled by time to expiry as PM does).  The shaded band is the PM price range; the "
        "solid line the current index; dashed lines are liquidation prices (when balances are given).",
    )
    for prof in pm.profiles(book, market, doc, price_range, buckets):
        prices = [prof.index * (1.0 + m) for m in prof.moves]
        markers = [(prof.index, f"index {prof.index:,.0f}")]
        for account, liq in liquidated:
            if liq.underlying != prof.underlying:
                continue
            if liq.margin_ratio >= 1.0:  # equity already at or below maintenance: liquidation now
                markers.append((liq.index, f"liq. {account}: now (margin ratio {liq.margin_ratio:.0%})"))
                continue
            for price, side in ((liq.price_down, "down"), (liq.price_up, "up")):
                if price is not None and prices[0] <= price <= prices[-1]:
                    markers.append((price, f"liq. {account} {side} {price:,.0f}"))
        lo, hi = prof.index * (1.0 - prof.pm_range), prof.index * (1.0 + prof.pm_range)
        chart = LineChart(
            f"profile-{prof.group}",
            f"{prof.group}: P&L against {prof.underlying} price",
            f"{prof.underlying} index (USD)",
            f"P&L ({prof.currency})",
            prices,
            [Series(f"vol {state}", prof.pnl[state]) for state in pm.VOL_STATES],
            markers,
            (lo, hi, f"PM range ±{prof.pm_range:.0%}"),
        )
        rows = [
            [num(m, percent=True, signed=True), num(p, 0)] + [num(prof.pnl[s][i], 4) for s in pm.VOL_STATES]
            for i, (m, p) in enumerate(zip(prof.moves, prices))
        ]
        table = Table(
            f"profile-{prof.group}-data",
            f"{prof.group}: P&L ({prof.currency}) per price move",
            ["move", f"{prof.underlying} (USD)"] + [f"vol {s}" for s in pm.VOL_STATES],
            rows,
        )
        section.add([chart], [table])
    if liquidated:
        rows = []
        for account, liq in liquidated:
            rows.append(
                [
                    text(account),
                    text(liq.underlying),
                    num(liq.index),
                    num(liq.equity_usd),
                    num(liq.maintenance_usd),
                    num(liq.margin_ratio, percent=True),
                    num(liq.price_down) if liq.price_down is not None else text("none in range"),
                    num(liq.distance_down, percent=True, signed=True),
                    num(liq.price_up) if liq.price_up is not None else text("none in range"),
                    num(liq.distance_up, percent=True, signed=True),
                ]
            )
        section.add(
            [],
            [
                Table(
                    "liquidation",
                    "Liquidation prices (equity = PM maintenance margin; vols held at their marks)",
                    [
                        "account",
                        "underlying",
                        "index",
                        "equity USD",
                        "maintenance USD",
                        "margin ratio",
                        "price down",
                        "move down",
                        "price up",
                        "move up",
                    ],
                    rows,
                )
            ],
        )
    else:
        section.notes.append("No balances given: liquidation prices are not marked (pass balances=).")
    return section


def matrix_section(matrices: list[pm.RiskMatrix]) -> Section:
    section = Section(
        "risk-matrix",
        "Deribit PM risk matrix",
        "P&L of each account and risk group in every PM scenario, in the group's currency, after the "
        "extended-move dampener and the gain offset (the numbers PM takes the worst of).  Rows are price "
        "moves, columns vol states; the outlined cell is the worst scenario.  The extended table holds "
        "the large moves, vol up: plain P&L and after the dampener.",
    )
    for rm in matrices:
        name = f"{rm.account} {rm.group}"
        cell = rm.worst_cell
        heat = Heatmap(
            f"matrix-{rm.account}-{rm.group}",
            f"{name}: scenario P&L ({rm.currency})",
            "vol state",
            "price move",
            [_moves_label(m) for m in rm.moves],
            list(pm.VOL_STATES),
            rm.standard,
            cell,
        )
        rows = [
            [num(m, percent=True, signed=True)] + [num(v, 4) for v in values]
            for m, values in zip(rm.moves, rm.standard)
        ]
        standard = Table(
            f"matrix-{rm.account}-{rm.group}-data",
            f"{name}: standard table ({rm.currency}); worst: {rm.worst_description}, "
            f"P&L {rm.worst_pnl:,.4f}; IM {rm.initial:,.4f}, MM {rm.maintenance:,.4f}",
            ["move"] + [f"vol {s}" for s in pm.VOL_STATES],
            rows,
        )
        extended = Table(
            f"matrix-{rm.account}-{rm.group}-extended",
            f"{name}: extended table ({rm.currency}, vol up)",
            ["move", "P&L", "after dampener"],
            [
                [num(m, percent=True, signed=True), num(raw, 4), num(v, 4)]
                for m, raw, v in zip(rm.extended_moves, rm.extended_raw, rm.extended)
            ],
        )
        section.add([heat], [standard, extended])
    return section


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


def drivers_section(drivers: list[pm.WorstDrivers]) -> Section:
    section = Section(
        "drivers",
        "What drives the worst scenario",
        f"For each account and risk group, the {TOP_DRIVERS} positions that lose most in its worst PM "
        "scenario (plain P&L in the group's currency, before the dampener and gain offset; the rows add up "
        "to the total).",
    )
    for wd in drivers:
        top = wd.drivers[:TOP_DRIVERS]
        rest = wd.drivers[TOP_DRIVERS:]
        chart = BarChart(
            f"drivers-{wd.account}-{wd.group}",
            f"{wd.account} {wd.group}: {wd.scenario}",
            "position",
            f"P&L ({wd.currency})",
            [d.instrument for d in top],
            [Series("P&L", [d.pnl for d in top])],
        )
        rows = [[text(d.instrument), num(d.quantity, 4, signed=True), num(d.pnl, 6)] for d in top]
        if rest:
            rows.append([text(f"{len(rest)} other positions"), text(""), num(sum(d.pnl for d in rest), 6)])
        rows.append([text("total"), text(""), num(wd.total, 6)])
        section.add(
            [chart],
            [
                Table(
                    f"drivers-{wd.account}-{wd.group}-data",
                    f"{wd.account} {wd.group}: {wd.scenario} ({wd.currency})",
                    ["instrument", "quantity", "P&L"],
                    rows,
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


def build(book: Book, market: Market, balances: Any = None) -> Content:
    """All the report's numbers for ``book`` on ``market`` (see `riskoffset.report.report`)."""
    if not isinstance(book, Book):
        raise TypeError(f"book: expected a riskoffset.Book, got {type(book).__name__}")
    if not isinstance(market, Market):
        raise TypeError(f"market: expected a riskoffset.Market, got {type(market).__name__}")
    doc = pm.pm_document()
    pm_result = margin(book, market, "deribit-pm")
    compared = compare_margins(book, market)
    liquidated = liquidations(book, market, balances)
    title = f"Risk report: {book.name or 'book'}"
    subtitle = f"valuation {market.valuation_time.isoformat()}; market: {market.description or 'unnamed'}"
    sections = [
        profile_section(book, market, doc, liquidated),
        matrix_section(pm.risk_matrices(pm_result, doc)),
        margin_section(compared),
        greeks_section(book, market),
        drivers_section(pm.worst_drivers(book, market, pm_result)),
        hedge_section(book, market),
    ]
    return Content(
        title, subtitle, is_synthetic(book, market), headline(book, market, pm_result, compared), sections
    )


__all__ = ["Content", "build", "is_synthetic", "liquidations"]
