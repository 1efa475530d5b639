"""What is left after a hedge: residual Greeks, the scenario P&L profile before and after it (which shows the
upside given up), the worst scenario after it, and the residual risk of hedging with an imperfectly correlated
instrument (a different expiry, or another underlying).

Profiles are the account's Deribit PM risk vectors (see docs/margin.md): per risk group the 27 standard
scenarios (9 price moves x vol up/same/down) and the 8 weighted extended moves, before the dampener and
``pnl_offset``, in the group's settlement currency.  The upside given up is how much the best
standard-scenario P&L falls, ``max(0, max_j before_j - max_j after_j)``, converted to USD at the group's
rate: never negative (a hedge that raises the best scenario gives nothing up; ``best_before`` and
``best_after`` show by how much it rose).

**Cross-underlying and basis residual risk** (`correlation_residual`).  A book with USD delta exposure
``x`` (e.g. ETH) hedged by ``y`` of USD delta in an instrument whose returns correlate ``rho`` with the
book's (BTC; or a future of another expiry, whose basis moves apart), with return vols ``sigma_x``,
``sigma_y`` over the horizon, keeps the P&L variance

    var = (x sigma_x)^2 + (y sigma_y)^2 + 2 rho (x sigma_x)(y sigma_y)

(``y`` of opposite sign to ``x`` for a hedge).  The minimum-variance hedge is ``y* = -rho x sigma_x /
sigma_y`` and leaves ``x sigma_x sqrt(1 - rho^2)``: at rho = 0.9 a perfect-ratio hedge still leaves 44 %
of the unhedged standard deviation.  The residual reported is ``sqrt(var)`` in USD over the horizon, with
``z`` standard deviations for a loss quantile (``z = 2.33``: 99 % one-sided, normal).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._types import FloatArray


@dataclass(frozen=True)
class ScenarioProfile:
    """P&L of one risk group in each Deribit PM scenario before and after the hedge (group currency;
    ``usd_rate`` USD per unit of it)."""

    group: str
    currency: str
    labels: tuple[str, ...]
    before: FloatArray
    after: FloatArray
    n_standard: int
    usd_rate: float = 1.0

    @property
    def best_before(self) -> float:
        """Best standard-scenario P&L before the hedge (group currency)."""
        return float(self.before[: self.n_standard].max()) if self.n_standard else 0.0

    @property
    def best_after(self) -> float:
        """Best standard-scenario P&L after the hedge (group currency)."""
        return float(self.after[: self.n_standard].max()) if self.n_standard else 0.0

    @property
    def upside_given_up_usd(self) -> float:
        """How much the best standard-scenario P&L falls, in USD; 0 when the hedge does not lower it."""
        return max(0.0, self.best_before - self.best_after) * self.usd_rate

    @property
    def worst_after(self) -> tuple[int, str, float]:
        """(index, label, P&L) of the worst scenario after the hedge."""
        i = int(np.argmin(self.after))
        return i, self.labels[i], float(self.after[i])

    @property
    def worst_before(self) -> tuple[int, str, float]:
        i = int(np.argmin(self.before))
        return i, self.labels[i], float(self.before[i])

    def to_dict(self) -> dict[str, object]:
        return {
            "group": self.group,
            "currency": self.currency,
            "usd_rate": self.usd_rate,
            "labels": list(self.labels),
            "before": self.before.tolist(),
            "after": self.after.tolist(),
            "best_before": self.best_before,
            "best_after": self.best_after,
            "upside_given_up_usd": self.upside_given_up_usd,
            "worst_before": dict(zip(("index", "scenario", "pnl"), self.worst_before)),
            "worst_after": dict(zip(("index", "scenario", "pnl"), self.worst_after)),
        }


@dataclass(frozen=True)
class CorrelationResidual:
    """Residual risk of a hedge with correlation ``rho`` (module doc), USD over the horizon."""

    exposure_usd: float
    hedge_usd: float
    rho: float
    sigma_exposure: float
    sigma_hedge: float
    residual_std_usd: float
    unhedged_std_usd: float
    min_variance_hedge_usd: float
    min_variance_std_usd: float

    def quantile_loss(self, z: float = 2.33) -> float:
        return z * self.residual_std_usd


def correlation_residual(
    exposure_usd: float, hedge_usd: float, rho: float, sigma_exposure: float, sigma_hedge: float | None = None
) -> CorrelationResidual:
    """Residual standard deviation of ``exposure_usd`` of delta hedged by ``hedge_usd`` of delta in an
    instrument correlated ``rho`` (module doc); sigmas are return vols over the horizon (e.g. annual vol x
    sqrt(days / 365)); ``sigma_hedge`` defaults to ``sigma_exposure``."""
    if not -1.0 <= rho <= 1.0:
        raise ValueError(f"correlation rho must be in [-1, 1], got {rho!r}")
    sy = sigma_exposure if sigma_hedge is None else sigma_hedge
    if not (sigma_exposure >= 0 and sy > 0):
        raise ValueError("return vols must be >= 0 (the hedge's > 0)")
    a, b = float(exposure_usd * sigma_exposure), float(hedge_usd * sy)
    var = a * a + b * b + 2.0 * rho * a * b
    best = float(-rho * exposure_usd * sigma_exposure / sy)
    return CorrelationResidual(
        exposure_usd=exposure_usd,
        hedge_usd=hedge_usd,
        rho=rho,
        sigma_exposure=sigma_exposure,
        sigma_hedge=sy,
        residual_std_usd=math.sqrt(max(var, 0.0)),
        unhedged_std_usd=abs(a),
        min_variance_hedge_usd=best,
        min_variance_std_usd=abs(a) * math.sqrt(max(1.0 - rho * rho, 0.0)),
    )


__all__ = ["CorrelationResidual", "ScenarioProfile", "correlation_residual"]
