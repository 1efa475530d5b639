"""numpy/scipy baselines for the benchmarks: what a competent user writes without riskoffset.

Black-76 on the forward F, discount exp(-r t), in riskoffset's units (docs/units.md):

    d1 = (ln(F/K) + sigma^2 t / 2) / (sigma sqrt t),  d2 = d1 - sigma sqrt t,  w = +1 call / -1 put
    price = exp(-r t) w [F N(w d1) - K N(w d2)]
    delta = dV/dF            = exp(-r t) w N(w d1)
    gamma = d2V/dF2          = exp(-r t) phi(d1) / (F sigma sqrt t)
    vega  = dV/dsigma        = exp(-r t) F phi(d1) sqrt t          (per 1.00 of vol)
    theta = -dV/dt (per year) = r V - exp(-r t) F phi(d1) sigma / (2 sqrt t)
    rho   = dV/dr (F held)   = -t V                                 (per 1.00 of rate)

`black76_greeks` is the vectorised baseline the benchmarks time; `black76_scalar` is an independent
pure-Python (math.erfc) reference used to check the baseline itself and the scalar fast path;
`implied_vol_brentq` is the scipy root-finder loop a user would write for implied volatility.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq
from scipy.special import ndtr

GREEKS6 = ("price", "delta", "gamma", "vega", "theta", "rho")
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def black76_greeks(
    is_call: np.ndarray, F: np.ndarray, K: np.ndarray, t: np.ndarray, r: np.ndarray, sigma: np.ndarray
) -> dict[str, np.ndarray]:
    """Black-76 price + delta, gamma, vega, theta, rho for arrays (is_call: bool array, True = call)."""
    w = np.where(is_call, 1.0, -1.0)
    sqrt_t = np.sqrt(t)
    sig_sqrt_t = sigma * sqrt_t
    d1 = (np.log(F / K) + 0.5 * sigma * sigma * t) / sig_sqrt_t
    d2 = d1 - sig_sqrt_t
    df = np.exp(-r * t)
    nd1 = ndtr(w * d1)
    nd2 = ndtr(w * d2)
    pdf_d1 = np.exp(-0.5 * d1 * d1) * _INV_SQRT_2PI
    price = df * w * (F * nd1 - K * nd2)
    delta = df * w * nd1
    gamma = df * pdf_d1 / (F * sig_sqrt_t)
    vega = df * F * pdf_d1 * sqrt_t
    theta = r * price - df * F * pdf_d1 * sigma / (2.0 * sqrt_t)
    rho = -t * price
    return {"price": price, "delta": delta, "gamma": gamma, "vega": vega, "theta": theta, "rho": rho}


def black76_price(
    is_call: np.ndarray, F: np.ndarray, K: np.ndarray, t: np.ndarray, r: np.ndarray, sigma: np.ndarray
) -> np.ndarray:
    """Black-76 price only (same formula as black76_greeks)."""
    w = np.where(is_call, 1.0, -1.0)
    sig_sqrt_t = sigma * np.sqrt(t)
    d1 = (np.log(F / K) + 0.5 * sigma * sigma * t) / sig_sqrt_t
    return np.exp(-r * t) * w * (F * ndtr(w * d1) - K * ndtr(w * (d1 - sig_sqrt_t)))


def _norm_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def black76_scalar_price(is_call: bool, F: float, K: float, t: float, r: float, sigma: float) -> float:
    """Black-76 price of one option in pure Python (the objective of the brentq loop)."""
    w = 1.0 if is_call else -1.0
    sig_sqrt_t = sigma * math.sqrt(t)
    d1 = (math.log(F / K) + 0.5 * sigma * sigma * t) / sig_sqrt_t
    return math.exp(-r * t) * w * (F * _norm_cdf(w * d1) - K * _norm_cdf(w * (d1 - sig_sqrt_t)))


def black76_scalar(is_call: bool, F: float, K: float, t: float, r: float, sigma: float) -> dict[str, float]:
    """Pure-Python reference for one option (math.erfc), independent of numpy/scipy and of riskoffset."""
    w = 1.0 if is_call else -1.0
    sqrt_t = math.sqrt(t)
    sig_sqrt_t = sigma * sqrt_t
    d1 = (math.log(F / K) + 0.5 * sigma * sigma * t) / sig_sqrt_t
    d2 = d1 - sig_sqrt_t
    df = math.exp(-r * t)
    nd1 = _norm_cdf(w * d1)
    price = df * w * (F * nd1 - K * _norm_cdf(w * d2))
    pdf_d1 = math.exp(-0.5 * d1 * d1) * _INV_SQRT_2PI
    return {
        "price": price,
        "delta": df * w * nd1,
        "gamma": df * pdf_d1 / (F * sig_sqrt_t),
        "vega": df * F * pdf_d1 * sqrt_t,
        "theta": r * price - df * F * pdf_d1 * sigma / (2.0 * sqrt_t),
        "rho": -t * price,
    }


def _brentq_objective(sigma: float, row: tuple, target: float) -> float:
    return black76_scalar_price(*row, sigma) - target


def implied_vol_brentq(
    price: np.ndarray,
    is_call: np.ndarray,
    F: np.ndarray,
    K: np.ndarray,
    t: np.ndarray,
    r: np.ndarray,
    lo: float = 1e-4,
    hi: float = 10.0,
) -> np.ndarray:
    """Implied vol by scipy brentq on the vectorised pricer's scalar form, one option at a time
    (the usual user loop; NaN where the price is not bracketed)."""
    out = np.full(len(price), np.nan)
    for i in range(len(price)):
        row = (bool(is_call[i]), float(F[i]), float(K[i]), float(t[i]), float(r[i]))
        try:
            out[i] = brentq(
                _brentq_objective, lo, hi, args=(row, float(price[i])), xtol=1e-15, rtol=1e-15, maxiter=200
            )
        except ValueError:
            pass
    return out
