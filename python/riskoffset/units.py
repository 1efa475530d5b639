"""Explicit conversions from the engine's per-unit Greeks to exchange display units.

The engine always returns vega per 1.00 of vol, theta per year and rho per 1.00 of rate.  Exchanges
(Deribit) and vollib display vega per vol point (x 0.01), theta per calendar day (/ 365) and rho per
rate point (x 0.01).  These helpers make that scaling visible in the names instead of mixing silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

import numpy as np

DAYS_PER_YEAR = 365.0  # ACT/365, calendar days: crypto trades every day
VOL_POINT = 0.01
RATE_POINT = 0.01

T = TypeVar("T", float, np.ndarray)


def vega_per_point(vega: T) -> T:
    """Vega per 1 vol point (0.01), from vega per 1.00 of vol."""
    return vega * VOL_POINT


def theta_per_day(theta: T) -> T:
    """Theta per calendar day, from theta per year (ACT/365)."""
    return theta / DAYS_PER_YEAR


def rho_per_point(rho: T) -> T:
    """Rho per 1 rate point (0.01), from rho per 1.00 of rate."""
    return rho * RATE_POINT


def usd_gamma_of_inverse(coin_gamma: T, coin_delta: T, forward: T) -> T:
    """Gamma of the USD value of an inverse (coin-settled) option, d2V/dF2 per USD, from the Greeks of its
    coin price c (``greeks(..., settlement="inverse")``) and the forward F.

    The USD value is V = F c, so dV/dF = c + F dc/dF and d2V/dF2 = F d2c/dF2 + 2 dc/dF: the plain Black-76
    gamma of the same option valued in USD."""
    gamma: T = forward * coin_gamma + 2.0 * coin_delta
    return gamma


def display_units(greeks: Mapping[str, T]) -> dict[str, T]:
    """Copy of a greeks mapping with vega, theta and rho (and vanna, volga, charm) renamed and rescaled to
    display units: vega_per_point, theta_per_day, rho_per_point, vanna_per_point, volga_per_point2,
    charm_per_day.  Other entries are passed through unchanged."""
    scaled: dict[str, T] = {}
    for name, value in greeks.items():
        if name == "vega":
            scaled["vega_per_point"] = vega_per_point(value)
        elif name == "theta":
            scaled["theta_per_day"] = theta_per_day(value)
        elif name == "rho":
            scaled["rho_per_point"] = rho_per_point(value)
        elif name == "vanna":
            scaled["vanna_per_point"] = value * VOL_POINT
        elif name == "volga":
            scaled["volga_per_point2"] = value * VOL_POINT * VOL_POINT
        elif name == "charm":
            scaled["charm_per_day"] = value / DAYS_PER_YEAR
        else:
            scaled[name] = value
    return scaled
