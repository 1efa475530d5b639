"""Prices and Greeks against the 50-digit mpmath oracle (tests/reference.py) on every SIMD target, over the
supported domain: moneyness F/K from e^-5 to e^5, t from 1 hour to 10 years, vol 1% to 500%,
r in {-0.01, 0, 0.05}, q in {0, 0.03} (bsm), calls and puts, Black-76 and BSM, linear and inverse.

Criterion, per output and per row:

    |got - ref| <= max(1e-12 |ref|, 1e-14 * M)

where M is the natural size of that output at the row's (F, K, t, sigma, r, q): the sum of the largest
values the terms of its closed form can take over all moneyness (see natural_size below, unit by unit).
For the price M = F, i.e. "1e-14 x forward"; for a Greek, M carries the Greek's unit
so that "tiny" means tiny *for that Greek at that expiry and vol* (the at-the-money gamma is ~4e3 / F at
1 hour and 1% vol but ~0.03 / F at 10 years and 500%: one absolute floor in 1/F cannot serve both).  The floor is needed where the true value is far below
its natural size: deep out of the money (everything underflows together), and where terms of comparable
size cancel (vanna and volga cross zero at d2 = 0 and d1 d2 = 0, theta where carry and decay balance,
coin deltas where delta - c cancels).  There the best a double computation can do is an error of a few eps
times the size of the terms, which is what 1e-14 * M allows.  Measured (all 36 combinations, ~2,600 rows
each): on avx2 and avx512 no output exceeds 0.06 of this bound (relative error <= 5.2e-14 where the value
is not tiny).  A build whose `generic` target rounded ln(F/K) to ~1e-16 absolute failed near the money at
short expiries (see test_near_money_short_expiry).

The oracle is evaluated once per (model, r, q) and reused for both flags, both settlements and every
target (reference.reference_arrays computes all four at once).
"""

from __future__ import annotations

import itertools
import math
from functools import cache

import numpy as np
import pytest
import riskoffset as ro
from mpmath import mp
from reference import (
    DIGITS,
    INVERSE_NAMES,
    LINEAR_NAMES,
    black_reference,
    exact,
    outputs_mp,
    reference_arrays,
    value,
)

RELATIVE = 1e-12  # relative error where the value is not tiny
FLOOR = 1e-14  # absolute floor, in units of the natural size M of each output

HOUR = 1.0 / 8760.0
RATES = (-0.01, 0.0, 0.05)
COMBOS = [("black76", r, 0.0) for r in RATES] + [("bsm", r, q) for r in RATES for q in (0.0, 0.03)]
COMBO_IDS = [f"{m}-r{r:g}-q{q:g}" for m, r, q in COMBOS]

N_RANDOM = 1800  # log-uniform over the whole domain
N_NEAR_MONEY = 600  # ln(F/K) = z sigma sqrt(t), |z| <= 8: where the Greeks are large and d1, d2 are sensitive


def sample(
    model: str, r: float, q: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Deterministic inputs (underlying, strike, t, sigma) for one (model, r, q): a corner grid, a log-uniform
    sample of the domain and a near-the-money sample.  The strike is set from the target log-moneyness
    ln(F/K) with F = U e^{(r-q)t} for bsm; it is an exact double like every input, and the oracle prices
    that double, so the rounding in forming it does not matter."""
    rng = np.random.default_rng(seed)
    grid = np.array(
        list(
            itertools.product(
                [-5.0, -2.0, -0.5, 0.0, 0.5, 2.0, 5.0],
                [HOUR, 1 / 365, 0.1, 1.0, 10.0],
                [0.01, 0.1, 0.5, 2.0, 5.0],
            )
        )
    ).T
    t_random = np.exp(rng.uniform(math.log(HOUR), math.log(10.0), N_RANDOM + N_NEAR_MONEY))
    sigma_random = np.exp(rng.uniform(math.log(0.01), math.log(5.0), N_RANDOM + N_NEAR_MONEY))
    s_near = sigma_random[N_RANDOM:] * np.sqrt(t_random[N_RANDOM:])
    log_moneyness = np.concatenate(
        [
            grid[0],
            rng.uniform(-5.0, 5.0, N_RANDOM),
            np.clip(rng.uniform(-8.0, 8.0, N_NEAR_MONEY) * s_near, -5.0, 5.0),
        ]
    )
    t = np.concatenate([grid[1], t_random])
    sigma = np.concatenate([grid[2], sigma_random])
    # Underlying from 0.01 (small altcoins) to 1e5 (BTC): errors must scale with it.
    underlying = np.exp(rng.uniform(math.log(0.01), math.log(1e5), t.size))
    carry = (r - q) if model == "bsm" else 0.0
    strike = underlying * np.exp(carry * t - log_moneyness)
    return underlying, strike, t, sigma


@cache
def case(model: str, r: float, q: float) -> tuple[tuple[np.ndarray, ...], dict]:
    """Inputs and oracle values for one (model, r, q), computed once per test session."""
    seed = 20261125 + COMBOS.index((model, r, q))
    inputs = sample(model, r, q, seed)
    underlying, strike, t, sigma = inputs
    return inputs, reference_arrays(underlying, strike, t, r, sigma, q, model)


def natural_size(
    name: str,
    flag: str,
    settlement: str,
    model: str,
    U: np.ndarray,
    K: np.ndarray,
    t: np.ndarray,
    r: float,
    sigma: np.ndarray,
    q: float,
) -> np.ndarray:
    """M for the absolute floor 1e-14 * M: the sum of the largest sizes of the terms of each closed form
    (reference.py), with phi(d) <= 0.4, phi(d)|d| <= 0.25, phi(d) d^2 <= 0.22 rounded up to 1.

    Linear, in the quote currency (U = underlying argument, F = forward, s = sigma sqrt t, b = carry):
      price  F                               [quote]           1e-14 x forward
      delta  1                               [1]               |delta| <= e^{-qt} N <= 1
      gamma  1 / (U s)                       [1/quote]         e^{-qt} phi(d1) / (U s), its at-the-money size
      vega   F sqrt t                        [quote per vol]   F e^{-rt} phi(d1) sqrt t
      theta  F sigma/(2 sqrt t) + |b-r| F + |r| K   [quote per year]  the three terms of -dV/dT
      rho    t F                             [quote per rate]  -t V (black76) or t K e^{-rt} N(d2) (bsm)
      vanna  (1 + s) / sigma                 [1 per vol]       phi(d1)|d2| <= phi|d1| + s phi
      volga  F sqrt t (1 + s) / sigma        [quote per vol^2] phi(d1)|d1 d2| <= phi d1^2 + s phi |d1|
      charm  |b-r| + |b|/s + (1 + s)/(2t)    [1 per year]      the terms of -d(delta)/dT
    Inverse: the derivatives of c = V / U, so each size is divided by U and the product-rule terms are
    added with their own sizes (V_max = F for a call, K for a put, the largest undiscounted value):
      price F/U; delta (1 + V_max/U)/U; gamma (1/s + 2 + 2 V_max/U)/U^2; vega, theta, rho, volga: /U;
      vanna (M_vanna + M_vega/U)/U; charm (M_charm + M_theta/U)/U; delta_pa 1 + V_max/U; delta_b76 1.
    """
    b = (r - q) if model == "bsm" else 0.0
    F = U * np.exp(b * t)
    sqrt_t = np.sqrt(t)
    s = sigma * sqrt_t
    v_max = F if flag == "c" else K
    one = np.ones_like(U)
    linear = {
        "price": F,
        "delta": one,
        "gamma": 1.0 / (U * s),
        "vega": F * sqrt_t,
        "theta": F * sigma / (2.0 * sqrt_t) + abs(b - r) * F + abs(r) * K,
        "rho": t * F,
        "vanna": (1.0 + s) / sigma,
        "volga": F * sqrt_t * (1.0 + s) / sigma,
        "charm": abs(b - r) + abs(b) / s + (1.0 + s) / (2.0 * t),
    }
    if settlement == "linear":
        return linear[name]
    inverse = {
        "price": F / U,
        "delta": (1.0 + v_max / U) / U,
        "gamma": (1.0 / (U * s) + 2.0 / U + 2.0 * v_max / U**2) / U,
        "vega": linear["vega"] / U,
        "theta": linear["theta"] / U,
        "rho": linear["rho"] / U,
        "vanna": (linear["vanna"] + linear["vega"] / U) / U,
        "volga": linear["volga"] / U,
        "charm": (linear["charm"] + linear["theta"] / U) / U,
        "delta_pa": 1.0 + v_max / U,
        "delta_b76": one,
    }
    return inverse[name]


def _failures(
    got: dict[str, np.ndarray],
    ref: dict[str, np.ndarray],
    flag: str,
    settlement: str,
    model: str,
    U: np.ndarray,
    K: np.ndarray,
    t: np.ndarray,
    r: float,
    sigma: np.ndarray,
    q: float,
    target: str,
) -> str:
    """Empty when every output of every row is within the criterion; otherwise a report naming every input
    of the worst failing rows."""
    lines = []
    for name, ref_values in ref.items():
        values = np.asarray(got[name])
        err = np.abs(values - ref_values)
        bound = np.maximum(
            RELATIVE * np.abs(ref_values),
            FLOOR * natural_size(name, flag, settlement, model, U, K, t, r, sigma, q),
        )
        bad = np.flatnonzero(~(err <= bound))  # NaN in got counts as a failure
        if bad.size == 0:
            continue
        lines.append(f"{name}: {bad.size} of {values.size} rows outside max(1e-12 |ref|, 1e-14 M); worst:")
        for i in bad[np.argsort(-(err[bad] / bound[bad]))][:6]:
            lines.append(
                f"  ro.greeks({flag!r}, {float(U[i])!r}, {float(K[i])!r}, {float(t[i])!r}, {r!r}, {float(sigma[i])!r}, q={q!r}, "
                f"model={model!r}, settlement={settlement!r}) on {target}: "
                f"{name} got {float(values[i])!r}, ref {float(ref_values[i])!r}, |err| {err[i]:.3e} = "
                f"{err[i] / bound[i]:.1f} x bound (rel err {err[i] / abs(ref_values[i]) if ref_values[i] else math.inf:.2e})"
            )
    return "\n".join(lines)


@pytest.mark.parametrize("flag", ["c", "p"])
@pytest.mark.parametrize("settlement", ["linear", "inverse"])
@pytest.mark.parametrize("model, r, q", COMBOS, ids=COMBO_IDS)
def test_greeks_match_oracle(
    simd_target: str, model: str, r: float, q: float, settlement: str, flag: str
) -> None:
    (U, K, t, sigma), refs = case(model, r, q)
    ref = refs[(flag, settlement)]
    got = ro.greeks(flag, U, K, t, r, sigma, q=q, model=model, settlement=settlement)
    assert set(got) == set(LINEAR_NAMES if settlement == "linear" else INVERSE_NAMES)
    report = _failures(got, ref, flag, settlement, model, U, K, t, r, sigma, q, simd_target)
    assert not report, "\n" + report


@pytest.mark.parametrize("settlement", ["linear", "inverse"])
@pytest.mark.parametrize("model, r, q", COMBOS, ids=COMBO_IDS)
def test_price_function_matches_oracle(
    simd_target: str, model: str, r: float, q: float, settlement: str
) -> None:
    # ro.price asks the kernel for the price alone (a different output mask from ro.greeks).
    (U, K, t, sigma), refs = case(model, r, q)
    for flag in "cp":
        got = {"price": ro.price(flag, U, K, t, r, sigma, q=q, model=model, settlement=settlement)}
        ref = {"price": refs[(flag, settlement)]["price"]}
        report = _failures(got, ref, flag, settlement, model, U, K, t, r, sigma, q, simd_target)
        assert not report, "\n" + report


# Near the money at the shortest expiries, d1 = ln(F/K) / s + s/2 with s = sigma sqrt t down to 1.07e-4,
# so an absolute error of one ulp-of-1 (1.1e-16) in ln(F/K) moves d1 by 1e-12 and vanna (proportional to
# d2), charm and volga by up to 1e-8 relative.  ln(F/K) has to be right to a few ulp *of itself*.
# Found as a library bug (fixed in cpp/src/simd/vmath.hpp residual_of_product): on the `generic` target
# (no FMA) vlog_ratio's correction a - q*b was rounded, so ln(F/K) carried an absolute error up to ~1e-16
# and vanna came out with a relative error of ~2e-11 (black76) to ~9e-9 (bsm) on these rows.
NEAR_MONEY_SHORT_EXPIRY = [
    ("black76", 3.3640820286916466, 3.3640744321909812, HOUR, 0.0, 0.01, 0.0),
    ("bsm", 1028.8083718292935, 1028.8142440399554, HOUR, 0.05, 0.01, 0.0),
    ("bsm", 0.027036441239964803, 0.027036410376465023, HOUR, -0.01, 0.01, 0.0),
]


@pytest.mark.parametrize("model, U, K, t, r, sigma, q", NEAR_MONEY_SHORT_EXPIRY)
def test_near_money_short_expiry(
    simd_target: str, model: str, U: float, K: float, t: float, r: float, sigma: float, q: float
) -> None:
    for flag, settlement in itertools.product("cp", ("linear", "inverse")):
        exact_values = black_reference(flag, U, K, t, r, sigma, q, model, settlement)
        ref = {name: np.array([float(v)]) for name, v in exact_values.items()}
        got = ro.greeks(flag, np.array([U]), K, t, r, sigma, q=q, model=model, settlement=settlement)
        report = _failures(
            got,
            ref,
            flag,
            settlement,
            model,
            np.array([U]),
            np.array([K]),
            np.array([t]),
            r,
            np.array([sigma]),
            q,
            simd_target,
        )
        assert not report, "\n" + report


# ---------------------------------------------------------------------------------- scalar = arrays


@pytest.mark.parametrize("settlement", ["linear", "inverse"])
@pytest.mark.parametrize("model, r, q", COMBOS, ids=COMBO_IDS)
def test_scalar_path_equals_array_path(
    simd_target: str, model: str, r: float, q: float, settlement: str
) -> None:
    # Plain Python floats go through the C++ scalar entry points (greeks_scalar / value_scalar), arrays
    # through the vector loop: same kernel, so the results must be identical to the bit, not just close.
    (U, K, t, sigma), _ = case(model, r, q)
    rows = np.r_[0:175:7, 175 : U.size : 97]  # a slice of the corner grid and of both samples
    for flag in "cp":
        arrays = ro.greeks(
            flag, U[rows], K[rows], t[rows], r, sigma[rows], q=q, model=model, settlement=settlement
        )
        for j, i in enumerate(rows):
            args = (flag, float(U[i]), float(K[i]), float(t[i]), float(r), float(sigma[i]))
            one = ro.greeks(*args, q=float(q), model=model, settlement=settlement)
            assert isinstance(one, dict) and all(isinstance(v, float) for v in one.values())
            assert set(one) == set(arrays)
            for name, v in one.items():
                assert v == arrays[name][j] or (math.isnan(v) and math.isnan(arrays[name][j])), (
                    f"{name} scalar {v!r} != array {arrays[name][j]!r} for ro.greeks{args} q={q}, model={model}, "
                    f"settlement={settlement} on {simd_target}"
                )
            price = ro.price(*args, q=float(q), model=model, settlement=settlement)
            assert isinstance(price, float) and price == arrays["price"][j], (price, arrays["price"][j], args)


# ------------------------------------------------------------------------------ the oracle, checked

# A handful of points away from the extremes, where numerical differentiation is well conditioned.
ORACLE_POINTS = [
    # (U, K, t, r, sigma, q)
    (100.0, 95.0, 0.5, 0.05, 0.3, 0.03),
    (60000.0, 75000.0, 0.08, -0.01, 0.75, 0.0),
    (2.5, 1.0, 3.0, 0.05, 1.2, 0.03),
    (3000.0, 3300.0, 1.0 / 52.0, 0.0, 0.05, 0.03),
]
ORACLE_REL = mp.mpf("1e-20")  # mp.diff at 50 digits gets ~25-30 digits; the closed forms must agree to 20


def _numerical_derivatives(theta: int, args: tuple, bsm: bool, inverse: bool) -> dict[str, object]:
    """Every output as a numerical derivative (mp.diff) of the value function, with the conventions of
    riskoffset: theta = -dV/dT, charm = -d2V/dU dT, rho at fixed U."""
    U, K, T, r, sigma, q = args

    def f(u, tt, rr, sg):
        return value(theta, u, K, tt, rr, sg, q, bsm, inverse)

    out = {
        "price": f(U, T, r, sigma),
        "delta": mp.diff(lambda u: f(u, T, r, sigma), U),
        "gamma": mp.diff(lambda u: f(u, T, r, sigma), U, 2),
        "vega": mp.diff(lambda sg: f(U, T, r, sg), sigma),
        "theta": -mp.diff(lambda tt: f(U, tt, r, sigma), T),
        "rho": mp.diff(lambda rr: f(U, T, rr, sigma), r),
        "vanna": mp.diff(lambda u, sg: f(u, T, r, sg), (U, sigma), (1, 1)),
        "volga": mp.diff(lambda sg: f(U, T, r, sg), sigma, 2),
        "charm": -mp.diff(lambda u, tt: f(u, tt, r, sigma), (U, T), (1, 1)),
    }
    if inverse:
        out["delta_pa"] = U * out["delta"]
        out["delta_b76"] = mp.diff(lambda u: value(theta, u, K, T, r, sigma, q, bsm, False), U)
    return out


@pytest.mark.parametrize("settlement", ["linear", "inverse"])
@pytest.mark.parametrize("model", ["black76", "bsm"])
@pytest.mark.parametrize("point", ORACLE_POINTS)
def test_oracle_closed_forms_match_numerical_derivatives(point: tuple, model: str, settlement: str) -> None:
    # Guards the oracle against sharing a sign or convention error with the library: every closed form in
    # reference.py must equal the numerical derivative of the plain value function.
    bsm, inverse = model == "bsm", settlement == "inverse"
    for theta in (1, -1):
        with mp.workdps(DIGITS):
            args = tuple(exact(x) for x in point)
            closed = outputs_mp(theta, *args, bsm, inverse)
            numeric = _numerical_derivatives(theta, args, bsm, inverse)
            assert set(closed) == set(numeric)
            for name in closed:
                c, n = closed[name], numeric[name]
                assert abs(c - n) <= ORACLE_REL * max(abs(n), mp.mpf("1e-30")), (
                    name,
                    theta,
                    model,
                    settlement,
                    point,
                    c,
                    n,
                )


@pytest.mark.parametrize("model", ["black76", "bsm"])
@pytest.mark.parametrize("point", ORACLE_POINTS)
def test_oracle_price_matches_risk_neutral_integral(point: tuple, model: str) -> None:
    # The price itself, independently of N(d1), N(d2): the discounted expectation of the payoff under the
    # lognormal forward, integrated numerically.  The integrand lives beyond the kink of the payoff, where the
    # density may already be tiny (out of the money): split there and at a few widths past it.
    U, K, T, r, sigma, q = point
    with mp.workdps(80):  # tanh-sinh on a peaked integrand: extra digits so quadrature error stays < 1e-30
        Ue, Ke, Te, re, se, qe = (exact(x) for x in point)
        F = Ue * mp.exp(((re - qe) if model == "bsm" else 0) * Te)
        s = se * mp.sqrt(Te)
        kink = (mp.log(Ke / F) + s * s / 2) / s
        for flag, theta in (("c", 1), ("p", -1)):

            def payoff(z, theta=theta):
                return max(theta * (F * mp.exp(s * z - s * s / 2) - Ke), 0) * mp.npdf(z)

            nodes = sorted(kink + theta * w for w in (0, 0.01, 0.05, 0.2, 1, 4, 16))
            nodes = [-mp.inf] + nodes if theta < 0 else nodes + [mp.inf]
            integral = mp.exp(-re * Te) * mp.quad(payoff, nodes)
            closed = black_reference(flag, U, K, T, r, sigma, q, model)["price"]
            assert abs(closed - integral) <= mp.mpf("1e-30") * integral, (
                flag,
                model,
                point,
                closed,
                integral,
            )


@pytest.mark.parametrize(
    "flag, U, K, t, sigma",
    [
        ("c", 100.0, 100.0 * math.exp(5.0), HOUR, 0.01),  # price ~ 1e-475551383: deep OTM, extreme d1
        ("p", 100.0, 100.0 * math.exp(-5.0), HOUR, 0.01),
        ("c", 100.0, 100.0 * math.exp(-5.0), 10.0, 5.0),  # s = 15.8: N(d2) tiny inside an ITM call
        ("p", 100.0, 100.0 * math.exp(5.0), 10.0, 5.0),
        ("c", 100.0, 100.0 * math.exp(0.3), 1.0 / 365.0, 0.02),  # about 15 standard deviations OTM
    ],
)
def test_oracle_has_digits_to_spare(flag: str, U: float, K: float, t: float, sigma: float) -> None:
    # Where the closed forms cancel (F N(d1) - K N(d2) deep out of the money loses log10(d1/s) digits), 50
    # digits must still leave the oracle right to far below 1e-12: compare with 90 digits.
    for model in ("black76", "bsm"):
        lo = black_reference(flag, U, K, t, 0.05, sigma, 0.03, model, "inverse")
        with mp.workdps(90):
            hi = outputs_mp(
                1 if flag == "c" else -1,
                *(exact(x) for x in (U, K, t, 0.05, sigma, 0.03)),
                model == "bsm",
                True,
            )
            for name in lo:
                assert abs(lo[name] - hi[name]) <= mp.mpf("1e-25") * abs(hi[name]), (
                    name,
                    model,
                    lo[name],
                    hi[name],
                )
