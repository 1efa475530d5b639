"""The sample venue: every bundled SYNTHETIC sample book in one book, with their sample balances (the
accounts of the samples are distinct), for ``riskoffset replay --sample`` and the docs."""

from __future__ import annotations

from ..accounts import Balances
from ..book import Book
from ..market import Market


def sample_venue() -> tuple[Book, Balances]:
    """(all sample books as one book, all sample balances)."""
    records = [p for name in Book.samples() for p in Book.sample(name).positions()]
    book = Book.from_positions(
        records, instruments=Market.sample().instruments, name="sample venue (SYNTHETIC)"
    )
    amounts: dict[str, dict[str, float]] = {}
    for name in Balances.samples():
        b = Balances.sample(name)
        for i, account in enumerate(b.accounts.tolist()):
            row = amounts.setdefault(str(account), {})
            for j, currency in enumerate(b.currencies):
                if b.amounts[i, j]:
                    row[currency] = row.get(currency, 0.0) + float(b.amounts[i, j])
    return book, Balances.from_mapping(amounts, source="sample balances (SYNTHETIC)")


__all__ = ["sample_venue"]
