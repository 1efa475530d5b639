"""Deribit's four margin models for accounts with collateral: S:SM, X:SM, S:PM, X:PM.

- ``S:`` (segregated): each settlement currency stands alone; its margin is covered only by the equity
  held in that currency, with no haircut.
- ``X:`` (cross collateral): every collateral currency is valued in USD at its index, cut by its IM
  haircut (see riskoffset.accounts.collateral), and pooled against the margin of all currencies in USD.
- ``SM`` uses the standard (per-position) margin method, ``PM`` the portfolio margin method, each per
  settlement-currency group as riskoffset.margin computes them.

X:PM: Deribit has not published how it aggregates the PM margins of different currencies; this model adds
the per-group PM margins in USD (no diversification across currencies), which is conservative, and is
labelled ``candidate``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MarginModel:
    """One of Deribit's account margin models (module doc)."""

    name: str
    method: str  # the riskoffset.margin method computing the per-currency margins
    cross: bool  # pooled in USD (X) or segregated per currency (S)
    calibration: str  # "exact" when the model only rearranges published figures, else "candidate"


MODELS: dict[str, MarginModel] = {
    "S:SM": MarginModel("S:SM", "deribit-standard", False, "exact"),
    "X:SM": MarginModel("X:SM", "deribit-standard", True, "exact"),
    "S:PM": MarginModel("S:PM", "deribit-pm", False, "exact"),
    "X:PM": MarginModel("X:PM", "deribit-pm", True, "candidate"),
}


def model(name: str) -> MarginModel:
    """The model called ``name`` (case-insensitive: "x:pm"), or a ValueError listing the models."""
    key = str(name).strip().upper()
    if key not in MODELS:
        raise ValueError(f"margin_model {name!r}: choose one of {', '.join(MODELS)}")
    return MODELS[key]
