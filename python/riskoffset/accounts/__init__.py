"""Accounts beyond their positions: the collateral they hold (`Balances`).  See docs/collateral.md."""

from __future__ import annotations

from .balances import Balances, currency_code

__all__ = ["Balances", "currency_code"]
