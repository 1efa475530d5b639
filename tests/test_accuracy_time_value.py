"""Prices and rho to full *relative* precision where the time value is a tiny part of the forward.

tests/test_accuracy.py checks every output against max(1e-12 |ref|, 1e-14 x natural size): that floor lets
an out-of-the-money price of 1e-10 F carry an error of 1e-14 F, i.e. 1e-4 of itself.  Here the price (and
rho, which carries the price's digits: -t V for Black-76, t D theta K N(theta d2) for BSM) must be within
1e-12 of the 50-digit mpmath value *relative to itself* on every row whose value is a normal double:
short-dated and low-vol options near the money and deep out of the money, where the time value is 1e-4 to
1e-20 of the forward and the textbook F N(d1) - K N(d2) subtracts two numbers that agree to many digits.

How the kernel gets there (docs/formulas.md, "Time value without cancellation"): price = intrinsic + time
value, the time value from the difference of two scaled complementary error functions evaluated as one
divided difference, so nothing of the size of the forward is ever subtracted.

Grids, per (model, r, q): total vol s = sigma sqrt(t) log-uniform from 1e-6 to 1 (sigma 0.2 % .. 150 %,
t 30 seconds .. 1 year), log-moneyness ln(F/K) = z s with z uniform in [-9, 9] (d1 out to about 9, time
value down to ~1e-19 F), a band |ln(F/K)| < s^2 where d1 and d2 straddle 0, exact at-the-money rows, and the
example that failed before: F = 103,950, K = 103,900, t = 1.6e-4 y, sigma = 1.1 % (6.5e-12 relative).
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pytest
import riskoffset as ro
from mpmath import mp
from reference import exact

RELATIVE = 1e-12
DIGITS = 50
COMBOS = [("black76", 0.0, 0.0), ("black76", 0.05, 0.0), ("bsm", 0.05, 0.03), ("bsm", -0.01, 0.0)]
COMBO_IDS = [f"{m}-r{r:g}-q{q:g}" for m, r, q in COMBOS]
N_WIDE = 160  # z uniform in [-9, 9]
N_STRADDLE = 60  # |ln(F/K)| < s^2: d1 > 0 > d2 (out of the money side)
N_ATM = 20  # F == K within rounding of the strike


def _inputs(model: str, r: float, q: float, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    n = N_WIDE + N_STRADDLE + N_ATM
    t = np.exp(rng.uniform(math.log(1e-6), 0.0, n))
    sigma = np.exp(rng.uniform(math.log(0.002), math.log(1.5), n))
    s = sigma * np.sqrt(t)
    z = np.concatenate(
        [
            rng.uniform(-9.0, 9.0, N_WIDE),
            rng.uniform(-1.0, 1.0, N_STRADDLE) * s[N_WIDE : N_WIDE + N_STRADDLE],
            np.zeros(N_ATM),
        ]
    )
    x = z * s
    underlying = np.exp(rng.uniform(math.log(0.01), math.log(1e5), n))
    carry = (r - q) if model == "bsm" else 0.0
    strike = underlying * np.exp(carry * t - x)
    # The example from the bug report, as a Black-76 forward / strike pair (BSM: the same as spot / strike).
    underlying = np.append(underlying, 103_950.0)
    strike = np.append(strike, 103_900.0)
    t = np.append(t, 1.6e-4)
    sigma = np.append(sigma, 0.011)
    return underlying, strike, t, sigma


def _price_rho_mp(theta: int, U, K, T, r, sigma, q, bsm: bool) -> tuple:
    """Quote-currency value and rho (U held) at the ambient precision: the same closed forms as
    tests/reference.py, written out for the two outputs only (4x faster than every Greek)."""
    b = (r - q) if bsm else mp.zero
    s = sigma * mp.sqrt(T)
    d1 = (mp.log(U / K) + (b + sigma**2 / 2) * T) / s
    d2 = d1 - s
    disc = mp.exp(-r * T)
    kn2 = K * disc * mp.ncdf(theta * d2)
    V = theta * (U * mp.exp((b - r) * T) * mp.ncdf(theta * d1) - kn2)
    rho = theta * T * kn2 if bsm else -T * V
    return V, rho


@cache
def _case(model: str, r: float, q: float) -> tuple[tuple[np.ndarray, ...], dict]:
    inputs = _inputs(model, r, q, 20261203 + COMBOS.index((model, r, q)))
    U, K, t, sigma = inputs
    ref: dict = {(f, name): np.empty(U.size) for f in "cp" for name in ("price", "rho", "coin")}
    with mp.workdps(DIGITS):
        rr, qq = exact(r), exact(q)
        for i in range(U.size):
            args = (exact(U[i]), exact(K[i]), exact(t[i]), rr, exact(sigma[i]), qq)
            for f, theta in (("c", 1), ("p", -1)):
                V, rho = _price_rho_mp(theta, *args, model == "bsm")
                ref[(f, "price")][i] = float(V)
                ref[(f, "rho")][i] = float(rho)
                ref[(f, "coin")][i] = float(V / args[0])
    return inputs, ref


def _report(got: np.ndarray, want: np.ndarray, what: str, inputs: tuple[np.ndarray, ...]) -> str:
    U, K, t, sigma = inputs
    normal = np.abs(want) >= 1e-290  # a relative bound means nothing for subnormal results
    err = np.abs(got - want)
    rel = np.where(normal, err / np.where(normal, np.abs(want), 1.0), 0.0)
    bad = np.flatnonzero(~(rel <= RELATIVE))
    if bad.size == 0:
        return ""
    lines = [f"{what}: {bad.size} of {U.size} rows above {RELATIVE:g} relative; worst:"]
    for i in bad[np.argsort(-rel[bad])][:5]:
        s = sigma[i] * math.sqrt(t[i])
        lines.append(
            f"  U={U[i]!r} K={K[i]!r} t={t[i]!r} sigma={sigma[i]!r} (s={s:.3g}, ln(U/K)/s={math.log(U[i] / K[i]) / s:.3g}): "
            f"got {got[i]!r}, ref {want[i]!r}, rel err {rel[i]:.2e}"
        )
    return "\n".join(lines)


@pytest.mark.parametrize("model, r, q", COMBOS, ids=COMBO_IDS)
def test_price_and_rho_relative(simd_target: str, model: str, r: float, q: float) -> None:
    inputs, ref = _case(model, r, q)
    U, K, t, sigma = inputs
    problems = []
    for flag in "cp":
        got = ro.greeks(flag, U, K, t, r, sigma, q=q, model=model, greeks=["price", "rho"])
        alone = ro.price(flag, U, K, t, r, sigma, q=q, model=model)
        coin = ro.price(flag, U, K, t, r, sigma, q=q, model=model, settlement="inverse")
        for name, values in (("price", got["price"]), ("rho", got["rho"]), ("price", alone), ("coin", coin)):
            problems.append(
                _report(np.asarray(values), ref[(flag, name)], f"{flag} {name} on {simd_target}", inputs)
            )
    report = "\n".join(p for p in problems if p)
    assert not report, "\n" + report


def test_grid_reaches_the_corners() -> None:
    # The grid must contain what it claims: time values far below the forward, and rows with d1 > 0 > d2.
    for model, r, q in COMBOS:
        (U, K, t, sigma), ref = _case(model, r, q)
        F = U * np.exp(((r - q) if model == "bsm" else 0.0) * t)
        intrinsic = np.maximum(F - K, 0.0) * np.exp(-r * t)
        time_value = (ref[("c", "price")] - intrinsic) / F
        assert np.sum((time_value > 1e-13) & (time_value < 1e-11)) >= 5
        assert np.sum((time_value > 1e-5) & (time_value < 1e-3)) >= 5
        x = np.log(F / K)
        s = sigma * np.sqrt(t)
        assert np.sum((np.abs(x) < s * s / 2) & (np.abs(x) > 0)) >= 20
