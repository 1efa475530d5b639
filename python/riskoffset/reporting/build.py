"""The report's sections, computed from the library's public functions: headline numbers, the P&L profile,
the PM risk matrix, margin by method, Greeks by expiry and strike, the worst-scenario drivers and a delta
hedge.  Each section pairs every chart with the table of its data (docs/report.md says how to read them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..book import Book
from ..margining import compare as compare_margins
from ..margining import margin
from ..margining.result import MarginResult
from ..market import Market
from . import pm
from .balances import liquidations
from .book_sections import greeks_section, hedge_section, margin_section
from .model import Cell, Section, num, text
from .pm_sections import drivers_section, matrix_section, profile_section


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
        # What the delta hedge flattens: inverse options net of their coin premium.
        out.append((f"premium-adj. delta {row['underlying']} (coin)", num(row["delta_pa"], 4, signed=True)))
    return out


def build(book: Book, market: Market, balances: Any = None) -> Content:
    """All the report's numbers for ``book`` on ``market`` (see `riskoffset.reporting.report`)."""
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


__all__ = ["Content", "build", "headline", "is_synthetic"]
