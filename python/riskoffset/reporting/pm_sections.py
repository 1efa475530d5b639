"""The report's Deribit PM sections: the P&L profile (with the liquidation prices), the risk matrix and the
positions that drive the worst scenario.  The numbers come from `pm`; here they become charts and tables."""

from __future__ import annotations

import math
from typing import Any

from ..book import Book
from ..liquidation import Liquidation  # the module of ro.liquidation (same name as the function)
from ..market import Market
from . import pm
from .model import BarChart, Heatmap, LineChart, Section, Series, Table, num, text

TOP_DRIVERS = 10


def _moves_label(m: float) -> str:
    return f"{m:+.1%}"


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


__all__ = ["TOP_DRIVERS", "drivers_section", "matrix_section", "profile_section"]
