"""Liquidation prices for the report: the balances a user gives, per account, and ``ro.liquidation`` for
every (account with a balance, underlying it holds)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..book import Book
from ..liquidation import Liquidation, liquidation  # the module of ro.liquidation (same name as the function)
from ..market import Market


def label(v: Any) -> str:
    return str(v.item() if hasattr(v, "item") else v)


def balance_per_account(book: Book, balances: Any) -> dict[str, Any]:
    """{account label: balance} from the forms `report` accepts (one balance for a one-account book, or a
    mapping account -> balance)."""
    accounts = [label(a) for a in book.accounts.tolist()]
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
    per_account = balance_per_account(book, balances)
    out = []
    for i, account in enumerate(book.accounts.tolist()):
        name = label(account)
        if name not in per_account:
            continue
        rows = book.indices[book.indptr[i] : book.indptr[i + 1]]
        held = sorted({book.instruments.underlyings[u] for u in book.instruments.underlying[rows].tolist()})
        for underlying in held:
            out.append(
                (name, liquidation(book, market, per_account[name], underlying=underlying, account=account))
            )
    return out


__all__ = ["balance_per_account", "label", "liquidations"]
