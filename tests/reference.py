"""A slow, obviously-correct oracle for riskoffset's prices and Greeks: closed forms evaluated in mpmath
at 50 significant digits.

Formulas: the generalised Black-Scholes model with cost of carry b (Haug, "The Complete Guide to Option
Pricing Formulas", 2nd ed., section 1.1.6 and chapter 2): value on the *underlying argument* U,

    V = theta [U e^{(b-r)T} N(theta d1) - K e^{-rT} N(theta d2)],
    d1 = (ln(U/K) + (b + sigma^2/2) T) / (sigma sqrt T),  d2 = d1 - sigma sqrt T,

with b = 0 for Black-76 (U = forward F) and b = r - q for Black-Scholes-Merton (U = spot S).  theta = +1 for
a call, -1 for a put (in this module `theta` is the flag; the Greek is called `theta_t` where both appear).

riskoffset's conventions (docs/units.md), which this module reproduces exactly:
  * vega per 1.00 of vol; volga = d2V/dsigma2; vanna = d2V/dU dsigma.
  * theta = dV/dt per year with calendar time t running forward, i.e. -dV/dT (T = time to expiry).
  * rho = dV/dr with the underlying argument held: Black-76 -T V (F held), BSM K T e^{-rT} theta N(theta d2)
    (S held, so the forward moves with r through b = r - q).
  * charm = d(delta)/dt calendar = -d2V/dU dT.
  * settlement="inverse": every output is the same derivative of the coin value c = V / U, plus
    delta_pa = U dc/dU = delta - c and delta_b76 = dV/dU = delta.

Inputs are taken as exact binary64 values (mp.mpf(float(x))), so the oracle answers for the inputs the
library actually received.  The functions `value` and `_linear` take mpf arguments and work at the ambient
mpmath precision so that tests can differentiate them numerically with mp.diff (see test_accuracy.py,
which cross-checks every closed form below against numerical derivatives of `value`).

The module ends with the tolerance helpers the float64 tests share: `natural_scale` (the size of each
output near the money) and `assert_close` (element-wise check that reports the worst row and its inputs).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pytest
from mpmath import mp, mpf

DIGITS = 50  #: working precision of the oracle, in significant decimal digits

LINEAR_NAMES = ("price", "delta", "gamma", "vega", "theta", "rho", "vanna", "volga", "charm")
INVERSE_NAMES = LINEAR_NAMES + ("delta_pa", "delta_b76")


def exact(x: float) -> mpf:
    """The binary64 value x as an mpf, with no decimal rounding on the way."""
    return mp.mpf(float(x))


def _carry(T: mpf, r: mpf, q: mpf, bsm: bool) -> mpf:
    return r - q if bsm else mp.zero


def value(theta: int, U: mpf, K: mpf, T: mpf, r: mpf, sigma: mpf, q: mpf, bsm: bool, inverse: bool) -> mpf:
    """Option value (quote currency, or coin = value / U when inverse) as a plain function of its inputs,
    at the ambient precision: the object the Greeks below are derivatives of."""
    b = _carry(T, r, q, bsm)
    s = sigma * mp.sqrt(T)
    d1 = (mp.log(U / K) + (b + sigma**2 / 2) * T) / s
    d2 = d1 - s
    V = theta * (U * mp.exp((b - r) * T) * mp.ncdf(theta * d1) - K * mp.exp(-r * T) * mp.ncdf(theta * d2))
    return V / U if inverse else V


def _linear(theta: int, U: mpf, K: mpf, T: mpf, r: mpf, sigma: mpf, q: mpf, bsm: bool) -> dict[str, mpf]:
    """Closed-form price and Greeks of the quote-currency value (Haug 2007, ch. 2, generalised BSM)."""
    b = _carry(T, r, q, bsm)
    sqrt_T = mp.sqrt(T)
    s = sigma * sqrt_T
    d1 = (mp.log(U / K) + (b + sigma**2 / 2) * T) / s
    d2 = d1 - s
    carry_disc = mp.exp((b - r) * T)  # e^{-qT} for BSM, e^{-rT} for Black-76
    disc = mp.exp(-r * T)
    N1 = mp.ncdf(theta * d1)
    N2 = mp.ncdf(theta * d2)
    n1 = mp.npdf(d1)

    price = theta * (U * carry_disc * N1 - K * disc * N2)
    delta = theta * carry_disc * N1
    gamma = carry_disc * n1 / (U * s)
    vega = U * carry_disc * n1 * sqrt_T
    # Haug (2.5.x): Theta = -dV/dT.
    theta_t = (
        -U * carry_disc * n1 * sigma / (2 * sqrt_T)
        - theta * (b - r) * U * carry_disc * N1
        - theta * r * K * disc * N2
    )
    if bsm:
        rho = theta * T * K * disc * N2  # dV/dr at fixed S: b = r - q moves with r
    else:
        rho = -T * price  # dV/dr at fixed F: only the discount factor moves
    vanna = -carry_disc * n1 * d2 / sigma
    volga = vega * d1 * d2 / sigma
    # charm = -d(delta)/dT.  delta = theta e^{(b-r)T} N(theta d1) and d(d1)/dT = (b + sigma^2/2)/(sigma sqrt T)
    # - d1/(2T) = b/(sigma sqrt T) - d2/(2T), so -d(delta)/dT = -(b-r) delta - e^{(b-r)T} n(d1) (b/s - d2/(2T))
    # for both flags (Haug's "DdeltaDtime" with the sign of calendar time).
    charm = -(b - r) * delta - carry_disc * n1 * (b / s - d2 / (2 * T))
    return {
        "price": price,
        "delta": delta,
        "gamma": gamma,
        "vega": vega,
        "theta": theta_t,
        "rho": rho,
        "vanna": vanna,
        "volga": volga,
        "charm": charm,
    }


def _inverse(lin: Mapping[str, mpf], U: mpf) -> dict[str, mpf]:
    """Derivatives of c = V / U by the product rule, written out term by term."""
    V = lin["price"]
    c = V / U
    dc = lin["delta"] / U - V / U**2
    return {
        "price": c,
        "delta": dc,
        "gamma": lin["gamma"] / U - 2 * lin["delta"] / U**2 + 2 * V / U**3,
        "vega": lin["vega"] / U,
        "theta": lin["theta"] / U,
        "rho": lin["rho"] / U,  # U is held for rho, so 1/U is a constant
        "vanna": lin["vanna"] / U - lin["vega"] / U**2,
        "volga": lin["volga"] / U,
        "charm": lin["charm"] / U - lin["theta"] / U**2,  # U does not move with calendar time
        "delta_pa": U * dc,
        "delta_b76": lin["delta"],
    }


def outputs_mp(
    theta: int, U: mpf, K: mpf, T: mpf, r: mpf, sigma: mpf, q: mpf, bsm: bool, inverse: bool
) -> dict[str, mpf]:
    """All outputs for mpf inputs at the ambient precision (used by the mp.diff cross-check)."""
    lin = _linear(theta, U, K, T, r, sigma, q, bsm)
    return _inverse(lin, U) if inverse else lin


def black_reference(
    flag: str,
    underlying: float,
    strike: float,
    t: float,
    r: float,
    sigma: float,
    q: float = 0.0,
    model: str = "black76",
    settlement: str = "linear",
) -> dict[str, mpf]:
    """Price and Greeks of one option at 50 digits, with riskoffset's argument order and conventions.
    Requires t > 0 and sigma > 0 (the closed forms; the s -> 0 limits are tested elsewhere)."""
    theta = _flag(flag)
    with mp.workdps(DIGITS):
        return outputs_mp(
            theta,
            exact(underlying),
            exact(strike),
            exact(t),
            exact(r),
            exact(sigma),
            exact(q),
            _bsm(model),
            _inverse_settlement(settlement),
        )


def reference_arrays(
    underlying: Iterable[float],
    strike: Iterable[float],
    t: Iterable[float],
    r: float,
    sigma: Iterable[float],
    q: float,
    model: str,
) -> dict[tuple, dict[str, np.ndarray]]:
    """The oracle over arrays of options, rounded to float64, for both flags and both settlements at once:
    {(flag, settlement): {name: array}} with flag in 'c', 'p' and settlement in 'linear', 'inverse'.
    One set of d1, d2 and N() serves the four combinations."""
    bsm = _bsm(model)
    columns = [np.asarray(a, dtype=np.float64) for a in (underlying, strike, t, sigma)]
    n = columns[0].size
    out = {
        (f, s): {name: np.empty(n) for name in (LINEAR_NAMES if s == "linear" else INVERSE_NAMES)}
        for f in "cp"
        for s in ("linear", "inverse")
    }
    with mp.workdps(DIGITS):
        rr, qq = exact(r), exact(q)
        for i in range(n):
            U, K, T, sig = (exact(c[i]) for c in columns)
            for f, theta in (("c", 1), ("p", -1)):
                lin = _linear(theta, U, K, T, rr, sig, qq, bsm)
                inv = _inverse(lin, U)
                for name, v in lin.items():
                    out[(f, "linear")][name][i] = float(v)
                for name, v in inv.items():
                    out[(f, "inverse")][name][i] = float(v)
    return out


def _flag(flag: str) -> int:
    if flag in ("c", "call"):
        return 1
    if flag in ("p", "put"):
        return -1
    raise ValueError(f"flag must be 'c' or 'p', got {flag!r}")


def _bsm(model: str) -> bool:
    if model not in ("black76", "bsm"):
        raise ValueError(f"model must be 'black76' or 'bsm', got {model!r}")
    return model == "bsm"


def _inverse_settlement(settlement: str) -> bool:
    if settlement not in ("linear", "inverse"):
        raise ValueError(f"settlement must be 'linear' or 'inverse', got {settlement!r}")
    return settlement == "inverse"


# ----------------------------------------------------------------------------------------------------
# Tolerance helpers shared by the float64 tests


def describe(inputs: Mapping[str, np.ndarray], i: int) -> str:
    """Row i of every input column, for a failure message."""
    return ", ".join(f"{k}={np.asarray(v).reshape(-1)[i]!r}" for k, v in inputs.items())


def assert_close(
    name: str, got: np.ndarray, expected: np.ndarray, tol: np.ndarray, inputs: Mapping[str, np.ndarray]
) -> None:
    """|got - expected| <= tol element-wise (NaN anywhere fails); on failure report how many rows fail and
    the worst one (largest error / tolerance) with all its inputs."""
    got, expected = np.broadcast_arrays(np.asarray(got, float), np.asarray(expected, float))
    tol = np.broadcast_to(np.asarray(tol, float), got.shape)
    err = np.abs(got - expected)
    bad = ~(err <= tol)
    if bad.any():
        ratio = np.where(np.isfinite(err), err / np.where(tol > 0, tol, np.inf), np.inf)
        i = int(np.argmax(np.where(bad, ratio, -1.0)))
        pytest.fail(
            f"{name}: {int(bad.sum())} of {bad.size} rows out of tolerance; worst row {i}: got {got.flat[i]!r}, "
            f"expected {expected.flat[i]!r}, |err| {err.flat[i]:.3e} > tol {tol.flat[i]:.3e}; inputs: "
            f"{describe(inputs, i)}"
        )


def natural_scale(
    x: Mapping[str, np.ndarray], model: str, settlement: str = "linear"
) -> dict[str, np.ndarray]:
    """The size each output has near the money (its typical magnitude, in its own unit), which bounds the
    absolute rounding of the terms an implementation combines: P = max(F, K); delta 1; gamma 1 / (U s);
    vega P sqrt(t); theta P (sigma / sqrt(t) + |r| + |b|); rho P t; vanna 1 / sigma; volga P sqrt(t)
    (1 + s) / sigma; charm |r| + |q| + |b| / s + (1 + s) / t  (s = sigma sqrt t, b = carry: r - q for bsm,
    0 for black76).  For inverse outputs, the same for each term of c = V / U and its derivatives.

    `x` holds arrays (or scalars) underlying, strike, t, r, sigma and, for bsm, q.  Expired (t <= 0) or
    zero-vol rows are closed forms (intrinsic, Heaviside) with no transcendental beyond exp(-r t): there
    the scale of every output except price and the deltas is 0."""
    u = np.asarray(x["underlying"], float)
    r = np.asarray(x["r"], float)
    t_in = np.asarray(x["t"], float)
    sigma_in = np.asarray(x["sigma"], float)
    live = (sigma_in > 0) & (t_in > 0)
    t = np.where(live, t_in, 1.0)
    sigma = np.where(live, sigma_in, 1.0)
    q = np.asarray(x["q"], float) if model == "bsm" else np.zeros_like(u)
    b = r - q if model == "bsm" else np.zeros_like(u)
    p = np.maximum(u * np.exp(b * np.maximum(t_in, 0.0)), np.asarray(x["strike"], float))
    s = sigma * np.sqrt(t)
    lin = {
        "price": p,
        "delta": np.ones_like(u),
        "gamma": 1 / (u * s),
        "vega": p * np.sqrt(t),
        "theta": p * (sigma / np.sqrt(t) + abs(r) + abs(b)),
        "rho": p * t,
        "vanna": 1 / sigma,
        "volga": p * np.sqrt(t) * (1 + s) / sigma,
        "charm": abs(r) + abs(q) + abs(b) / s + (1 + s) / t,
    }
    if settlement == "linear":
        out = lin
    else:
        coin_delta = (1 + p / u) / u
        out = {
            "price": p / u,
            "delta": coin_delta,
            "gamma": (lin["gamma"] + 2 * coin_delta) / u,
            "vega": lin["vega"] / u,
            "theta": lin["theta"] / u,
            "rho": lin["rho"] / u,
            "volga": lin["volga"] / u,
            "vanna": (lin["vanna"] + lin["vega"] / u) / u,
            "charm": (lin["charm"] + lin["theta"] / u) / u,
            "delta_pa": 1 + p / u,
            "delta_b76": np.ones_like(u),
        }
    for name in out:
        if name not in ("price", "delta", "delta_pa", "delta_b76"):
            out[name] = np.where(live, out[name], 0.0)
    return out
