"""Hedging one underlying's delta with an imperfectly correlated instrument: another underlying (ETH delta with
BTC-PERPETUAL), or the same underlying at another expiry (basis risk), with a correlation the user supplies.

The account's USD delta ``x`` of ``exposure`` (premium-adjusted coin delta x index) is hedged by ``y`` USD of
delta in ``hedge_with``: the minimum-variance ratio ``y = -rho x sigma_x / sigma_y`` (``ratio="min-variance"``)
or dollar for dollar ``y = -x`` (``ratio="full"``), rounded to the instrument's lots.  The residual is
`residual.correlation_residual` over the horizon (module doc there):
``var = (x s_x)^2 + (y s_y)^2 + 2 rho (x s_x)(y s_y)``, ``s = sigma sqrt(horizon_days / 365)``.

Vols are annual return vols; by default each underlying's at-the-money mark IV (the option whose strike is
nearest its forward, at the listed expiry nearest 30 days).  For basis risk (same underlying) ``rho`` is the
correlation of the two expiries' returns, e.g. 0.999, and both vols default to the same ATM IV.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..book import Book, instrument_greeks
from ..instruments import KIND_OPTION
from ..market import Market
from ..whatif import WhatIf
from .candidates import lot_sizes
from .costs import trade_cost, unit_costs
from .residual import CorrelationResidual, correlation_residual

RATIOS = ("min-variance", "full")


@dataclass(frozen=True)
class CrossHedge:
    """A hedge of ``exposure``'s USD delta with ``instrument`` and the residual risk left (USD)."""

    exposure: str
    instrument: str
    quantity: float  # amount (Deribit size units), rounded to lots
    exposure_usd: float
    hedge_usd: float  # USD delta of the rounded trade
    residual: CorrelationResidual
    horizon_days: float
    cost_usd: float

    def to_dict(self) -> dict[str, Any]:
        r = self.residual
        return {
            "exposure": self.exposure,
            "instrument": self.instrument,
            "quantity": self.quantity,
            "exposure_usd": self.exposure_usd,
            "hedge_usd": self.hedge_usd,
            "rho": r.rho,
            "horizon_days": self.horizon_days,
            "unhedged_std_usd": r.unhedged_std_usd,
            "residual_std_usd": r.residual_std_usd,
            "min_variance_std_usd": r.min_variance_std_usd,
            "residual_99_usd": r.quantile_loss(2.33),
            "cost_usd": self.cost_usd,
        }


def atm_vol(market: Market, base: str, days: float = 30.0) -> float:
    """Mark IV of the option of ``base`` nearest the money at the listed expiry nearest ``days``."""
    table = market.instruments
    if table is None or base not in table.underlyings:
        raise ValueError(
            f"no listed {base} options in the market to take an at-the-money vol from; pass vols="
        )
    options = np.flatnonzero(
        (table.kind == KIND_OPTION) & (table.underlying == table.underlyings.index(base))
    )
    if not len(options):
        raise ValueError(
            f"no listed {base} options in the market to take an at-the-money vol from; pass vols="
        )
    sub = table.take(options)
    resolved = market.resolve(sub)
    live = np.flatnonzero(resolved.t > 0)
    target = days / 365.0
    t = resolved.t[live]
    nearest = live[np.abs(t - t[np.argmin(np.abs(t - target))]) == 0]
    best = nearest[np.argmin(np.abs(sub.strike[nearest] - resolved.forward[nearest]))]
    return float(resolved.sigma[best])


def cross_hedge(
    book: Book,
    market: Market,
    exposure: str,
    hedge_with: str,
    *,
    rho: float,
    vols: tuple[float, float] | None = None,
    horizon_days: float = 1.0,
    ratio: str = "min-variance",
    account: Any = None,
) -> CrossHedge:
    """Hedge the USD delta of underlying ``exposure`` with instrument ``hedge_with`` (module doc)."""
    if ratio not in RATIOS:
        raise ValueError(f"ratio must be one of {RATIOS}, got {ratio!r}")
    if not horizon_days > 0:
        raise ValueError(f"horizon_days must be > 0, got {horizon_days!r}")
    w = WhatIf(book, market, account=account, instruments=[hedge_with])
    table = w.table
    g = instrument_greeks(table, market)
    held = table.rows(w.book.instruments.names[w.book.indices])
    code = table.underlyings.index(exposure) if exposure in table.underlyings else -1
    mine = table.underlying[held] == code
    if not mine.any():
        raise ValueError(f"the account holds no {exposure} position to hedge")
    x = float(w.book.quantity[mine] @ g["delta_pa_usd"][held[mine]])
    row = table.row(hedge_with)
    hedge_base = table.underlyings[int(table.underlying[row])]
    if vols is None:
        sigma_x = atm_vol(market, exposure)
        sigma_y = sigma_x if hedge_base == exposure else atm_vol(market, hedge_base)
    else:
        sigma_x, sigma_y = (float(v) for v in vols)
    per_unit_usd = float(g["delta_pa_usd"][row])
    if per_unit_usd == 0:
        raise ValueError(f"{hedge_with} has no delta to hedge with")
    target_usd = -rho * x * sigma_x / sigma_y if ratio == "min-variance" else -x
    lot = float(lot_sizes(table, np.array([row]))[0])
    quantity = float(np.round(np.rint(target_usd / per_unit_usd / lot) * lot, 8))
    y = quantity * per_unit_usd
    scale = np.sqrt(horizon_days / 365.0)
    residual = correlation_residual(x, y, rho, sigma_x * scale, sigma_y * scale)
    cost = trade_cost(unit_costs(g, np.array([row])), np.array([quantity]))
    return CrossHedge(exposure, hedge_with, quantity, x, y, residual, horizon_days, cost.total)


__all__ = ["RATIOS", "CrossHedge", "atm_vol", "cross_hedge"]
