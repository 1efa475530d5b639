"""Accounts beyond their positions: the collateral they hold (`Balances`).  See docs/collateral.md."""

from __future__ import annotations

from .balances import Balances, currency_code
from .collateral import CollateralParameters, CollateralValue, collateral_value
from .view import MODELS, AccountView, account_view, compare_models

__all__ = [
    "MODELS",
    "AccountView",
    "Balances",
    "CollateralParameters",
    "CollateralValue",
    "account_view",
    "collateral_value",
    "compare_models",
    "currency_code",
]
