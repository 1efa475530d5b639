"""Accounts beyond their positions: the collateral they hold (`Balances`), its parameters per currency
(`CollateralTable`) and equity per account and currency (`equity`).  See docs/collateral.md."""

from __future__ import annotations

from .balances import Balances, currency_code
from .collateral import CollateralTable, CurrencyCollateral
from .equity import equity, futures_unrealised_pnl

__all__ = [
    "Balances",
    "CollateralTable",
    "CurrencyCollateral",
    "currency_code",
    "equity",
    "futures_unrealised_pnl",
]
