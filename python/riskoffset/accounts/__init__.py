"""Accounts beyond their positions: the collateral they hold (`Balances`).  See docs/collateral.md."""

from __future__ import annotations

from .balances import Balances, currency_code
from .collateral import CollateralParameters, CollateralValue, collateral_value

__all__ = ["Balances", "CollateralParameters", "CollateralValue", "collateral_value", "currency_code"]
