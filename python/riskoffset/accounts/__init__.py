"""Accounts beyond their positions: the collateral they hold (`Balances`), its parameters per currency
(`CollateralTable`), equity per account and currency (`equity`), the account view under Deribit's margin
models (`account`) and their comparison (`compare_collateral`).  See docs/collateral.md."""

from __future__ import annotations

from .balances import Balances, currency_code
from .collateral import CollateralTable, CurrencyCollateral
from .compare import CollateralComparison, compare_collateral
from .equity import equity, futures_unrealised_pnl
from .models import MODELS, MarginModel
from .view import AccountView, account

__all__ = [
    "MODELS",
    "AccountView",
    "Balances",
    "CollateralComparison",
    "CollateralTable",
    "CurrencyCollateral",
    "MarginModel",
    "account",
    "compare_collateral",
    "currency_code",
    "equity",
    "futures_unrealised_pnl",
]
