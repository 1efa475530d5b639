"""The same accounts under S:SM, X:SM, S:PM and X:PM: the cost of collateral fragmentation.

``ro.compare_collateral(book, market, balances)`` builds the account view under each model and, per
account, the USD figures side by side with ``saved_usd``: the funding S:SM needs to meet initial margin
minus the funding the model needs (``AccountView.funding_needed_usd``).  Example: an account holding only
60,000 USDC with a BTC IM of 0.1 BTC at 50,000 needs 5,000 USD of BTC under S:SM (its USDC cannot fund BTC
margin) and nothing under X:SM: 5,000 USD saved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..book import Book
from ..market import Market
from ..optional import require_pandas
from ..scalars import plain
from .balances import Balances
from .models import MODELS
from .view import AccountView, account


@dataclass(frozen=True)
class CollateralComparison:
    """Account views per model (``views["X:PM"]``) and a per (account, model) summary."""

    views: dict[str, AccountView]

    def rows(self) -> list[dict[str, Any]]:
        """One dict per (account, model): IM, MM, available funds, funding needed and USD saved vs S:SM."""
        base = self.views.get("S:SM")
        out = []
        for name, view in self.views.items():
            need = view.funding_needed_usd
            base_need = base.funding_needed_usd if base is not None else need
            for i, label in enumerate(view.accounts):
                out.append(
                    {
                        "account": plain(label),
                        "model": name,
                        "calibration": view.calibration,
                        "initial_usd": float(view.initial_usd[i]),
                        "maintenance_usd": float(view.maintenance_usd[i]),
                        "available_usd": float(view.available_usd[i]),
                        "funding_needed_usd": float(need[i]),
                        "saved_usd": float(base_need[i] - need[i]),
                    }
                )
        return out

    def totals(self) -> list[dict[str, Any]]:
        """One dict per model, summed over the accounts (``account`` is ``"all"``); same keys as `rows`."""
        rows = self.rows()
        out = []
        for name in self.views:
            mine = [r for r in rows if r["model"] == name]
            total: dict[str, Any] = {"account": "all", "model": name, "calibration": mine[0]["calibration"] if mine else "exact"}
            for key in ("initial_usd", "maintenance_usd", "available_usd", "funding_needed_usd", "saved_usd"):
                total[key] = float(sum(r[key] for r in mine))
            out.append(total)
        return out

    def to_pandas(self) -> Any:
        pd = require_pandas("CollateralComparison.to_pandas")
        return pd.DataFrame(self.rows()).set_index(["account", "model"])


def compare_collateral(
    book: Book, market: Market, balances: Balances, models: Sequence[str] = tuple(MODELS), **options: Any
) -> CollateralComparison:
    """The account views of ``book`` under each of ``models`` (module doc); ``options`` pass to
    `riskoffset.accounts.view.account` (collateral, unrealised).  Each margin method runs once."""
    margins: dict[str, Any] = {}
    views: dict[str, AccountView] = {}
    from ..margining import margin_rows  # late: margining imports the book
    from .models import model

    for name in models:
        m = model(name)
        if m.method not in margins:
            margins[m.method] = margin_rows(book, market, m.method)
        views[m.name] = account(book, market, balances, m.name, margins=margins[m.method], **options)
    return CollateralComparison(views)
