"""Implied vol as accurate as the price allows, on every SIMD target.

A price rounded to a double carries a relative error up to eps = 2.2e-16; the vol that reproduces it is then
uncertain by cond x eps relative, where cond = (P / sigma) / (dP / dsigma) = P / (sigma vega) is the relative
condition number of sigma with respect to the price.  The solver may add little to that:

    |sigma_solved - sigma| / sigma <= 10 (cond + 1) eps

(the + 1: sigma is itself a rounded double, and out of the money cond falls far below 1, where no double
is closer than half an ulp).  Measured: at most 8.0 of these units on every target; with max(cond, 1) in
place of cond + 1 a few at-the-money rows (cond ~ 1) reach 15, i.e. 3.4e-15 relative: beta = P / D,
sqrt(F K) and the time value each carry a few eps there.

wherever the price carries information (its time value is at least 1e-300 and cond below 1e12: deeper in or
out of the money the price barely moves with sigma and any sigma in a wide band reproduces it).  Prices come
from the 50-digit mpmath oracle for exact double inputs, so the only error in them is the final rounding.

Call and put of one strike must give the same vol: the solver works on the out-of-the-money time value
through parity, so both are the same computation up to the rounding of the two input prices.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pytest
import riskoffset as ro
from mpmath import mp
from reference import exact

EPS = 2.220446049250313e-16
COMBOS = [("black76", 0.0, 0.0), ("black76", 0.05, 0.0), ("bsm", 0.05, 0.03)]
COMBO_IDS = [f"{m}-r{r:g}-q{q:g}" for m, r, q in COMBOS]
N = 240


def _inputs(seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    t = np.exp(rng.uniform(math.log(1e-5), math.log(5.0), N))
    sigma = np.exp(rng.uniform(math.log(0.005), math.log(3.0), N))
    s = sigma * np.sqrt(t)
    z = np.concatenate(
        [rng.uniform(-6.0, 6.0, N - 40), rng.uniform(-0.5, 0.5, 20) * s[N - 40 : N - 20], np.zeros(20)]
    )
    underlying = np.exp(rng.uniform(math.log(0.01), math.log(1e5), N))
    strike = underlying * np.exp(-z * s)
    # The reported case: F = K = 4.57, t = 1.1e-4 y, sigma = 5 % came back as 0.05000000000007602.
    return (
        np.append(underlying, 4.57),
        np.append(strike, 4.57),
        np.append(t, 1.1e-4),
        np.append(sigma, 0.05),
    )


@cache
def _case(model: str, r: float, q: float) -> tuple[tuple[np.ndarray, ...], dict]:
    """Inputs, oracle prices of both flags, and cond = P / (sigma vega) of each."""
    inputs = _inputs(20261204 + COMBOS.index((model, r, q)))
    U = inputs[0]
    out: dict = {key: np.empty(U.size) for key in ("c", "p", "cond_c", "cond_p", "tv")}
    bsm = model == "bsm"
    with mp.workdps(50):
        rr, qq = exact(r), exact(q)
        for i in range(U.size):
            u, k, tt, sg = (exact(v[i]) for v in inputs)
            b = rr - qq if bsm else mp.zero
            s = sg * mp.sqrt(tt)
            d1 = (mp.log(u / k) + (b + sg**2 / 2) * tt) / s
            d2 = d1 - s
            df = mp.exp(-rr * tt)
            fwd = u * mp.exp(b * tt)
            call = df * (fwd * mp.ncdf(d1) - k * mp.ncdf(d2))
            put = df * (k * mp.ncdf(-d2) - fwd * mp.ncdf(-d1))
            vega = df * fwd * mp.npdf(d1) * mp.sqrt(tt)
            out["c"][i], out["p"][i] = float(call), float(put)
            out["cond_c"][i] = float(call / (sg * vega)) if vega > 0 else math.inf
            out["cond_p"][i] = float(put / (sg * vega)) if vega > 0 else math.inf
            out["tv"][i] = float(min(call, put) / df)
    return inputs, out


@pytest.mark.parametrize("model, r, q", COMBOS, ids=COMBO_IDS)
def test_implied_vol_within_ten_condition_numbers(simd_target: str, model: str, r: float, q: float) -> None:
    (U, K, t, sigma), ref = _case(model, r, q)
    lines = []
    solved = {}
    for flag in "cp":
        cond = ref["cond_" + flag]
        informative = (ref["tv"] >= 1e-300) & (cond < 1e12)
        got = np.asarray(ro.implied_vol(ref[flag], flag, U, K, t, r, q=q, model=model))
        solved[flag] = got
        rel = np.abs(got - sigma) / sigma
        bound = 10.0 * (cond + 1.0) * EPS
        bad = np.flatnonzero(informative & ~(rel <= bound))
        for i in bad[np.argsort(-(rel[bad] / bound[bad]))][:5]:
            lines.append(
                f"{flag} {model} r={r} q={q} on {simd_target}: U={U[i]!r} K={K[i]!r} t={t[i]!r} sigma={sigma[i]!r} "
                f"price={ref[flag][i]!r} -> {got[i]!r}: rel err {rel[i]:.2e} = {rel[i] / bound[i]:.1f} x bound "
                f"(cond {cond[i]:.3g})"
            )
        assert informative.sum() >= N // 2
    assert not lines, "\n" + "\n".join(lines)


@pytest.mark.parametrize("model, r, q", COMBOS, ids=COMBO_IDS)
def test_call_and_put_give_the_same_vol(simd_target: str, model: str, r: float, q: float) -> None:
    # Both prices are the oracle's, each rounded once: the two vols may differ by what those two roundings
    # allow (the bound above with the larger condition number), not by a different solve.
    (U, K, t, sigma), ref = _case(model, r, q)
    vc = np.asarray(ro.implied_vol(ref["c"], "c", U, K, t, r, q=q, model=model))
    vp = np.asarray(ro.implied_vol(ref["p"], "p", U, K, t, r, q=q, model=model))
    cond = np.maximum(ref["cond_c"], ref["cond_p"])
    informative = (ref["tv"] >= 1e-300) & (cond < 1e12)
    bad = np.flatnonzero(informative & ~(np.abs(vc - vp) <= 10.0 * (cond + 1.0) * EPS * sigma))
    assert bad.size == 0, [(U[i], K[i], t[i], sigma[i], vc[i], vp[i], cond[i]) for i in bad[:5]]
