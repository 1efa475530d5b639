"""Properties of ro.price / ro.greeks that hold whatever the implementation: every Greek is the derivative
of the price it is reported with, put-call parity, the coin-settled (inverse) outputs are the derivatives
of c = V / underlying, defined values at and after expiry and at zero vol, no NaN in the tails, and the
shape / flag / selection contract of ro.greeks (docs/units.md).

Every test runs on each SIMD target this CPU supports (fixture `simd_target` from conftest.py).

Conventions checked (docs/units.md, pricing.py docstring): Greeks per unit, derivatives with respect to
the *underlying argument* (F for black76, S for bsm); theta = dV/dt with calendar time forward = -dV/dT
where T is the `t` argument (time to expiry); rho = dV/dr with the underlying argument held; charm =
d(delta)/dt calendar = -d2V/dU dT.

No expected value in this file comes from riskoffset itself: finite differences, closed forms written
out here (intrinsic values, parity right-hand sides) or identities between two of its outputs.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Callable

import numpy as np
import pytest
import riskoffset as ro
from reference import assert_close, describe

EPS = float(np.finfo(np.float64).eps)
MODELS = ("black76", "bsm")
SETTLEMENTS = ("linear", "inverse")
LINEAR_KEYS = ("price", "delta", "gamma", "vega", "theta", "rho", "vanna", "volga", "charm")
INVERSE_KEYS = LINEAR_KEYS + ("delta_pa", "delta_b76")


# ----------------------------------------------------------------------------------------------------
# helpers


def _call_greeks(
    inputs: Mapping[str, np.ndarray], model: str, settlement: str, **kw
) -> dict[str, np.ndarray]:
    return ro.greeks(
        inputs["flag"],
        inputs["underlying"],
        inputs["strike"],
        inputs["t"],
        inputs["r"],
        inputs["sigma"],
        q=inputs["q"],
        model=model,
        settlement=settlement,
        **kw,
    )


def _forward(inputs: Mapping[str, np.ndarray], model: str) -> np.ndarray:
    u, t = inputs["underlying"], np.maximum(inputs["t"], 0.0)
    return u * np.exp((inputs["r"] - inputs["q"]) * t) if model == "bsm" else u


def _grid(rows: Sequence[tuple[float, ...]]) -> dict[str, np.ndarray]:
    a = np.array(rows, dtype=float)
    flag, underlying, moneyness, t, r, sigma, q = a.T
    return {
        "flag": np.where(flag > 0, "c", "p"),
        "underlying": underlying,
        "strike": underlying * moneyness,
        "t": t,
        "r": r,
        "sigma": sigma,
        "q": q,
    }


def _fd_grid(model: str) -> dict[str, np.ndarray]:
    """Moderate grid for finite differences: strikes 0.55x..1.8x, 11 days..4 years, vol 12%..140%,
    negative and positive rates, carry for bsm.  Includes deep ITM/OTM rows (|d1| up to ~25), where
    the rounding-noise floor of the differences (see `_fd`) takes over from the relative tolerance."""
    return _grid(
        list(
            itertools.product(
                (1.0, -1.0),
                (40_000.0,),
                (0.55, 0.8, 1.0, 1.25, 1.8),
                (0.03, 0.25, 1.0, 4.0),
                (-0.01, 0.06),
                (0.12, 0.5, 1.4),
                (0.0, 0.035) if model == "bsm" else (0.0,),
            )
        )
    )


def _natural_steps(inputs: Mapping[str, np.ndarray], model: str) -> dict[str, np.ndarray]:
    """Per-row step scales on which the price varies by O(1) of itself: the price depends on the
    underlying through ln(F/K)/s (s = sigma sqrt t), on sigma and t through s, on r through r t (and,
    for bsm, through (r - q) sqrt(t) / sigma in d1).  In the tails the log-price varies like d1^2/2, so
    the steps shrink by (1 + |d1|) per power of d1 that a bump moves."""
    u, sigma, t = inputs["underlying"], inputs["sigma"], inputs["t"]
    s = sigma * np.sqrt(t)
    d1 = np.log(_forward(inputs, model) / inputs["strike"]) / s + 0.5 * s
    tail = 1.0 + np.abs(d1)
    return {
        "underlying": u * s / tail,
        "sigma": sigma / tail**2,
        "t": t / tail**2,
        "r": np.minimum(1.0 / t, sigma / np.sqrt(t)) / tail,
    }


_STENCILS = {
    "first": (((1,), 0.5), ((-1,), -0.5)),
    "second": (((1,), 1.0), ((0,), -2.0), ((-1,), 1.0)),
    "mixed": (((1, 1), 0.25), ((1, -1), -0.25), ((-1, 1), -0.25), ((-1, -1), 0.25)),
}
NOISE_ULPS = 16.0  # neighbouring evaluations assumed consistent to 16 ulp of the largest value used


def _fd(
    func: Callable[[Mapping[str, np.ndarray]], np.ndarray],
    inputs: Mapping[str, np.ndarray],
    wrt: tuple[str, ...],
    steps: Mapping[str, np.ndarray],
    base: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Central difference of func with respect to `wrt` (one variable, the same one twice, or two
    different ones), steps base * steps[v], base / 2, base / 4, combined by two Richardson passes:
    truncation error O(base^6) in natural units.  Returns (estimate, rounding-noise bound), where the
    bound is NOISE_ULPS * eps * max|func| * sum|stencil weights| / |step product|, carried through the
    Richardson weights (64 D(h/4) - 20 D(h/2) + D(h)) / 45."""
    kind = "first" if len(wrt) == 1 else ("second" if wrt[0] == wrt[1] else "mixed")
    variables = wrt[:1] if kind == "second" else wrt
    estimates, noises = [], []
    for h in (base, base / 2, base / 4):
        total = 0.0
        magnitude = 0.0
        for offsets, weight in _STENCILS[kind]:
            bumped = dict(inputs)
            for v, o in zip(variables, offsets):
                bumped[v] = inputs[v] + o * h * steps[v]
            f = np.asarray(func(bumped))
            total = total + weight * f
            magnitude = np.maximum(magnitude, np.abs(f))
        denominator = np.prod([h * steps[v] for v in wrt], axis=0)
        estimates.append(total / denominator)
        weight_sum = sum(abs(w) for _, w in _STENCILS[kind])
        noises.append(NOISE_ULPS * EPS * magnitude * weight_sum / np.abs(denominator))
    d0, d1, d2 = estimates
    n0, n1, n2 = noises
    return (64.0 * d2 - 20.0 * d1 + d0) / 45.0, (64.0 * n2 + 20.0 * n1 + n0) / 45.0


def _price_fn(model: str, settlement: str) -> Callable[[Mapping[str, np.ndarray]], np.ndarray]:
    def f(x: Mapping[str, np.ndarray]) -> np.ndarray:
        return ro.price(
            x["flag"],
            x["underlying"],
            x["strike"],
            x["t"],
            x["r"],
            x["sigma"],
            q=x["q"],
            model=model,
            settlement=settlement,
        )

    return f


def _greek_fn(name: str, model: str, settlement: str) -> Callable[[Mapping[str, np.ndarray]], np.ndarray]:
    def f(x: Mapping[str, np.ndarray]) -> np.ndarray:
        return _call_greeks(x, model, settlement, greeks=[name])[name]

    return f


def _check_fd(
    name: str,
    analytic: np.ndarray,
    estimate: np.ndarray,
    noise: np.ndarray,
    inputs: Mapping[str, np.ndarray],
    rtol: float,
    min_resolved: float,
) -> None:
    assert_close(name, analytic, estimate, rtol * np.abs(analytic) + noise, inputs)
    # The noise floor must not make the test vacuous: most rows have to be checked at relative precision.
    resolved = np.mean(noise <= 1e-3 * np.abs(analytic))
    assert resolved >= min_resolved, f"{name}: only {resolved:.0%} of rows resolved by the differences"


# ----------------------------------------------------------------------------------------------------
# 1. Greeks are the derivatives of the price (central differences, Richardson-extrapolated)

# (greek, sign, variables): greek = sign * d^k price / d variables.  theta and charm carry a minus sign
# because t is time to expiry and theta/charm are per unit of calendar time running forward.
FIRST_ORDER = {
    "delta": (1.0, ("underlying",)),
    "vega": (1.0, ("sigma",)),
    "theta": (-1.0, ("t",)),
    "rho": (1.0, ("r",)),
}


@pytest.mark.parametrize("greek", sorted(FIRST_ORDER))
@pytest.mark.parametrize("settlement", SETTLEMENTS)
@pytest.mark.parametrize("model", MODELS)
def test_first_order_greeks_are_price_derivatives(simd_target, model, settlement, greek):
    """Tolerance: relative 1e-7 (truncation of the O(h^6) differences at h = 1e-2 natural units is
    ~1e-12; 1e-7 leaves room for the ulp-level roughness of the kernel) plus the rounding-noise bound
    of the differences themselves, which dominates for tiny Greeks of large prices (deep ITM)."""
    inputs = _fd_grid(model)
    sign, wrt = FIRST_ORDER[greek]
    analytic = _call_greeks(inputs, model, settlement)[greek]
    estimate, noise = _fd(_price_fn(model, settlement), inputs, wrt, _natural_steps(inputs, model), 1e-2)
    _check_fd(f"{model}/{settlement} {greek}", analytic, sign * estimate, noise, inputs, 1e-7, 0.9)


@pytest.mark.parametrize("model", MODELS)
def test_inverse_deltas_are_price_derivatives(simd_target, model):
    """delta_b76 = dV/dU of the linear (USD) price, delta_pa = U dc/dU of the coin price (docs/units.md).
    Tolerance as for the first-order Greeks."""
    inputs = _fd_grid(model)
    steps = _natural_steps(inputs, model)
    g = _call_greeks(inputs, model, "inverse")
    est, noise = _fd(_price_fn(model, "linear"), inputs, ("underlying",), steps, 1e-2)
    _check_fd(f"{model} delta_b76", g["delta_b76"], est, noise, inputs, 1e-7, 0.9)
    est, noise = _fd(_price_fn(model, "inverse"), inputs, ("underlying",), steps, 1e-2)
    u = inputs["underlying"]
    _check_fd(f"{model} delta_pa", g["delta_pa"], u * est, u * noise, inputs, 1e-7, 0.9)


# second-order Greek = sign * d(first-order Greek)/d variable
SECOND_FROM_FIRST = {
    "gamma = d delta / dU": ("gamma", "delta", 1.0, "underlying"),
    "vanna = d delta / dsigma": ("vanna", "delta", 1.0, "sigma"),
    "vanna = d vega / dU": ("vanna", "vega", 1.0, "underlying"),
    "volga = d vega / dsigma": ("volga", "vega", 1.0, "sigma"),
    "charm = -d delta / dT": ("charm", "delta", -1.0, "t"),
}


@pytest.mark.parametrize("relation", sorted(SECOND_FROM_FIRST))
@pytest.mark.parametrize("settlement", SETTLEMENTS)
@pytest.mark.parametrize("model", MODELS)
def test_second_order_greeks_are_derivatives_of_first_order(simd_target, model, settlement, relation):
    """Second-order Greeks against first differences of the first-order Greeks (which the test above
    ties to the price): one difference instead of two keeps the comparison at relative 1e-7 (same
    budget as above) instead of the ~1e-5 that second differences of the price allow."""
    greek, of, sign, wrt = SECOND_FROM_FIRST[relation]
    inputs = _fd_grid(model)
    analytic = _call_greeks(inputs, model, settlement)[greek]
    estimate, noise = _fd(
        _greek_fn(of, model, settlement), inputs, (wrt,), _natural_steps(inputs, model), 1e-2
    )
    _check_fd(f"{model}/{settlement} {relation}", analytic, sign * estimate, noise, inputs, 1e-7, 0.85)


SECOND_ORDER = {
    "gamma": (1.0, ("underlying", "underlying")),
    "volga": (1.0, ("sigma", "sigma")),
    "vanna": (1.0, ("underlying", "sigma")),
    "charm": (-1.0, ("underlying", "t")),
}


@pytest.mark.parametrize("greek", sorted(SECOND_ORDER))
@pytest.mark.parametrize("settlement", SETTLEMENTS)
@pytest.mark.parametrize("model", MODELS)
def test_second_order_greeks_are_second_differences_of_price(simd_target, model, settlement, greek):
    """Second-order Greeks straight from second (or mixed) differences of ro.price.  Tolerance: relative
    2e-5 plus the noise bound: a second difference at h = 3e-2 natural units divides the price's
    rounding by h^2 ~ 1e-3 .. 6e-5, so near-ATM volga/charm (which nearly cancel) only reach ~1e-5."""
    sign, wrt = SECOND_ORDER[greek]
    inputs = _fd_grid(model)
    analytic = _call_greeks(inputs, model, settlement)[greek]
    estimate, noise = _fd(_price_fn(model, settlement), inputs, wrt, _natural_steps(inputs, model), 3e-2)
    _check_fd(f"{model}/{settlement} {greek}", analytic, sign * estimate, noise, inputs, 2e-5, 0.85)


# ----------------------------------------------------------------------------------------------------
# 2. put-call parity


def _wide_grid(n: int, seed: int, model: str) -> dict[str, np.ndarray]:
    """Random options over the accuracy domain: moneyness e^-3..e^3, t 1 hour..10 years, vol 1%..500%."""
    rng = np.random.default_rng(seed)
    u = 10.0 ** rng.uniform(0, 5, n)
    return {
        "flag": np.array(["c"] * n),
        "underlying": u,
        "strike": u * np.exp(rng.uniform(-3, 3, n)),
        "t": np.exp(rng.uniform(np.log(1 / 8760), np.log(10), n)),
        "r": rng.uniform(-0.05, 0.2, n),
        "sigma": np.exp(rng.uniform(np.log(0.01), np.log(5), n)),
        "q": rng.uniform(-0.05, 0.1, n) if model == "bsm" else np.zeros(n),
    }


@pytest.mark.parametrize("settlement", SETTLEMENTS)
@pytest.mark.parametrize("model", MODELS)
def test_put_call_parity(simd_target, model, settlement):
    """black76: C - P = e^{-rt} (F - K); bsm: C - P = S e^{-qt} - K e^{-rt}; inverse: the same divided by
    the underlying.  Tolerance 1e-13 x max(F, K) (x 1/U for inverse): C and P are each rounded at the
    scale of the larger of F and K (the ITM leg), and the right-hand side is formed in binary64 here."""
    x = _wide_grid(20_000, 11, model)
    calls = _call_greeks(x, model, settlement)
    puts = _call_greeks(dict(x, flag=np.array(["p"] * x["t"].size)), model, settlement)
    u, k, t, r, q = x["underlying"], x["strike"], x["t"], x["r"], x["q"]
    if model == "bsm":
        rhs = u * np.exp(-q * t) - k * np.exp(-r * t)
    else:
        rhs = np.exp(-r * t) * (u - k)
    scale = np.maximum(_forward(x, model), k)
    if settlement == "inverse":
        rhs, scale = rhs / u, scale / u
    assert_close(f"{model}/{settlement} C - P", calls["price"] - puts["price"], rhs, 1e-13 * scale, x)


@pytest.mark.parametrize("model", MODELS)
def test_put_call_parity_of_greeks(simd_target, model):
    """Differentiating the parity relation: gamma, vega, vanna, volga equal for calls and puts; delta,
    theta, rho, charm differ by the derivatives of the right-hand side.  Tolerance: 1e-13 x (|call| +
    |put| + |rhs|), the rounding of the values being subtracted, plus 1e-13 x the natural scale of the
    Greek where both legs are tiny."""
    x = _wide_grid(20_000, 12, model)
    c = _call_greeks(x, model, "linear")
    p = _call_greeks(dict(x, flag=np.array(["p"] * x["t"].size)), model, "linear")
    u, k, t, r, q = x["underlying"], x["strike"], x["t"], x["r"], x["q"]
    dk = k * np.exp(-r * t)
    if model == "bsm":
        dq = np.exp(-q * t)
        rhs = {
            "delta": dq,
            "theta": q * u * dq - r * dk,  # d/dt (calendar) of S e^{-qT} - K e^{-rT}
            "rho": t * dk,  # S held
            "charm": q * dq,
        }
    else:
        d = np.exp(-r * t)
        rhs = {"delta": d, "theta": r * d * (u - k), "rho": -t * d * (u - k), "charm": r * d}
    for name in ("gamma", "vega", "vanna", "volga"):
        rhs[name] = np.zeros_like(u)
    scale_price = np.maximum(_forward(x, model), k)
    natural = {
        "delta": 1.0,
        "gamma": 1.0 / u,
        "vega": scale_price,
        "theta": scale_price,
        "rho": scale_price * t,
        "vanna": 1.0,
        "volga": scale_price,
        "charm": 1.0,
    }
    for name, expected in rhs.items():
        diff = c[name] - p[name]
        tol = 1e-13 * (np.abs(c[name]) + np.abs(p[name]) + np.abs(expected)) + 1e-13 * natural[name]
        assert_close(f"{model} {name}_call - {name}_put", diff, expected, tol, x)


# ----------------------------------------------------------------------------------------------------
# 3. inverse (coin-settled) outputs are the derivatives of c = V / U


def _relations_grid(model: str) -> dict[str, np.ndarray]:
    x = _wide_grid(5_000, 13, model)
    n = x["t"].size
    rng = np.random.default_rng(14)
    x["flag"] = np.where(rng.random(n) < 0.5, "c", "p")
    # also expired rows and zero-vol rows, where the relations must hold just the same
    x["t"][::7] = rng.choice([0.0, -0.25], x["t"][::7].size)
    x["sigma"][3::11] = 0.0
    return x


@pytest.mark.parametrize("model", MODELS)
def test_inverse_outputs_follow_from_linear(simd_target, model):
    """With c = V / U:  dc/dU = V'/U - V/U^2,  d2c/dU2 = (V'' - 2 dc/dU) / U,  d(vega, theta, rho,
    volga)/U,  vanna_c = (vanna - vega/U) / U,  charm_c = (charm - theta/U) / U,  delta_b76 = V',
    delta_pa = U dc/dU = V' - c.  Tolerance: 16 ulp of the sum of |terms| on the right-hand side (the
    combination can cancel, so the bound is on the terms, not on the result), plus 1e-300 absolute:
    deep-OTM coin values fall below the normal range (2.2e-308) where binary64 keeps absolute precision
    only."""
    x = _relations_grid(model)
    lin = _call_greeks(x, model, "linear")
    inv = _call_greeks(x, model, "inverse")
    assert set(lin) == set(LINEAR_KEYS) and set(inv) == set(INVERSE_KEYS)
    u = x["underlying"]
    tol = lambda *terms: 16 * EPS * sum(np.abs(term) for term in terms) + 1e-300
    c_expected = lin["price"] / u
    dc = lin["delta"] / u - lin["price"] / u**2
    checks = {
        "price * U == linear price": (inv["price"] * u, lin["price"], tol(lin["price"])),
        "delta_b76 == linear delta": (inv["delta_b76"], lin["delta"], tol(lin["delta"])),
        "delta_pa == delta_b76 - price": (
            inv["delta_pa"],
            inv["delta_b76"] - inv["price"],
            tol(inv["delta_b76"], inv["price"]),
        ),
        "delta": (inv["delta"], dc, tol(lin["delta"] / u, c_expected / u)),
        "gamma": (
            inv["gamma"],
            (lin["gamma"] - 2 * dc) / u,
            tol(lin["gamma"] / u, 2 * lin["delta"] / u**2, 2 * c_expected / u**2),
        ),
        "vega": (inv["vega"], lin["vega"] / u, tol(lin["vega"] / u)),
        "theta": (inv["theta"], lin["theta"] / u, tol(lin["theta"] / u)),
        "rho": (inv["rho"], lin["rho"] / u, tol(lin["rho"] / u)),
        "volga": (inv["volga"], lin["volga"] / u, tol(lin["volga"] / u)),
        "vanna": (
            inv["vanna"],
            (lin["vanna"] - lin["vega"] / u) / u,
            tol(lin["vanna"] / u, lin["vega"] / u**2),
        ),
        "charm": (
            inv["charm"],
            (lin["charm"] - lin["theta"] / u) / u,
            tol(lin["charm"] / u, lin["theta"] / u**2),
        ),
    }
    for name, (got, expected, tolerance) in checks.items():
        assert_close(f"{model} inverse {name}", got, expected, tolerance, x)


# ----------------------------------------------------------------------------------------------------
# 4. expiry (t <= 0) and zero volatility


def _expiry_grid(model: str, t_values: Sequence[float]) -> dict[str, np.ndarray]:
    return _grid(
        list(
            itertools.product(
                (1.0, -1.0),
                (30_000.0,),
                (0.5, 0.9, 1.0, 1.1, 2.0),
                t_values,
                (-0.02, 0.0, 0.05),
                (0.0, 0.6),
                (0.0, 0.03) if model == "bsm" else (0.0,),
            )
        )
    )


def _heaviside(z: np.ndarray) -> np.ndarray:
    """1 where z > 0, 1/2 at z == 0, 0 below: the limit of N(d) as s -> 0 (docs/units.md, edge cases)."""
    return np.where(z > 0, 1.0, np.where(z == 0, 0.5, 0.0))


@pytest.mark.parametrize("t_value", [0.0, -1e-9, -0.5])
@pytest.mark.parametrize("model", MODELS)
def test_expired_price_and_delta(simd_target, model, t_value):
    """t <= 0: price = intrinsic max(theta (U - K), 0) (no discounting: the payoff is due now), delta =
    flag x Heaviside(flag (U - K)) with 1/2 at the money.  Exact up to the rounding of U - K."""
    x = _expiry_grid(model, (t_value,))
    g = _call_greeks(x, model, "linear")
    theta = np.where(x["flag"] == "c", 1.0, -1.0)
    moneyness = theta * (x["underlying"] - x["strike"])
    assert_close("expired price", g["price"], np.maximum(moneyness, 0.0), 4 * EPS * x["underlying"], x)
    assert_close("expired delta", g["delta"], theta * _heaviside(moneyness), 0.0, x)
    for value in g.values():
        assert np.all(np.isfinite(value))


@pytest.mark.parametrize("greek", ["gamma", "vega", "theta", "rho", "vanna", "volga", "charm"])
def test_expired_other_greeks_are_zero(simd_target, greek):
    """After expiry the value is the (fixed) intrinsic: it no longer depends on time, rates or vol, so
    gamma (away from the kink), vega, theta, rho, vanna, volga, charm are exactly 0 (docs/units.md,
    edge cases: delta is the Heaviside step, the other Greeks 0).  Both models, t in {0, -1e-9, -0.5}.

    LIBRARY BUG (found 2026-11): theta and charm are not 0 for t <= 0 when r != 0 (black76) or r, q != 0
    (bsm): the kernel keeps the carry/discount terms r V - b F D theta N and g * delta of the t -> 0+
    limit, e.g. ro.greeks('c', 110., 100., -0.5, 0.05, 0.5) gives theta 0.5 and charm 0.05, while
    ro.price is constant in t for every t < 0 (the finite-difference theta there is exactly 0)."""
    for model in MODELS:
        x = _expiry_grid(model, (0.0, -1e-9, -0.5))
        g = _call_greeks(x, model, "linear")
        assert_close(f"{model} expired {greek}", g[greek], 0.0, 0.0, x)


@pytest.mark.parametrize("model", MODELS)
def test_negative_t_is_the_same_as_zero(simd_target, model):
    """Any t < 0 gives exactly the outputs of t = 0 (an expired option has no time left at all)."""
    at_zero = _call_greeks(_expiry_grid(model, (0.0,)), model, "inverse")
    for t_value in (-1e-300, -1e-9, -3.0):
        x = _expiry_grid(model, (t_value,))
        after = _call_greeks(x, model, "inverse")
        for name in INVERSE_KEYS:
            np.testing.assert_array_equal(after[name], at_zero[name], err_msg=f"{name} at t={t_value}")


def test_expired_price_and_delta_with_scalars(simd_target):
    """Same on the scalar fast path (plain Python floats)."""
    assert ro.price("c", 110.0, 100.0, 0.0, 0.05, 0.5) == pytest.approx(10.0, rel=4 * EPS)
    assert ro.price("p", 110.0, 100.0, -1.0, 0.05, 0.5) == 0.0
    assert ro.greeks("p", 90.0, 100.0, 0.0, 0.05, 0.5)["delta"] == -1.0
    assert ro.greeks("c", 100.0, 100.0, 0.0, 0.05, 0.5)["delta"] == 0.5
    assert ro.greeks("c", 90.0, 100.0, -2.0, 0.05, 0.5)["delta"] == 0.0


@pytest.mark.parametrize("model", MODELS)
def test_zero_vol_is_discounted_intrinsic_of_the_forward(simd_target, model):
    """sigma = 0, t > 0: V = e^{-rt} max(theta (F - K), 0) with F = U e^{bt} (b = r - q for bsm, 0 for
    black76); every Greek is the derivative of that (away from F = K): delta = e^{-qt} theta H (e^{-rt}
    for black76), gamma = vega = vanna = volga = 0, theta = d/dt(calendar), rho = d/dr (U held), charm =
    d delta/dt(calendar).  Tolerance 1e-14 x the natural scale of each output (rounding of exp/log)."""
    x = _expiry_grid(model, (0.01, 0.5, 3.0))
    x["sigma"] = np.zeros_like(x["sigma"])
    fwd = _forward(x, model)
    keep = np.abs(fwd / x["strike"] - 1.0) > 1e-6  # F == K is tested below
    x = {k: v[keep] for k, v in x.items()}
    fwd = fwd[keep]
    g = _call_greeks(x, model, "linear")
    theta = np.where(x["flag"] == "c", 1.0, -1.0)
    u, k, t, r, q = x["underlying"], x["strike"], x["t"], x["r"], x["q"]
    h = _heaviside(theta * (fwd - k))
    disc = np.exp(-r * t)
    carry_disc = np.exp(-q * t) if model == "bsm" else disc
    expected = {
        "price": disc * theta * (fwd - k) * h,
        "delta": carry_disc * theta * h,
        "gamma": 0.0,
        "vega": 0.0,
        "vanna": 0.0,
        "volga": 0.0,
    }
    if model == "bsm":  # V = theta H (S e^{-qT} - K e^{-rT})
        expected["theta"] = theta * h * (q * u * carry_disc - r * k * disc)
        expected["rho"] = theta * h * t * k * disc
        expected["charm"] = q * expected["delta"]
    else:  # V = theta H e^{-rT} (F - K)
        expected["theta"] = r * expected["price"]
        expected["rho"] = -t * expected["price"]
        expected["charm"] = r * expected["delta"]
    scale = np.maximum(fwd, k)
    natural = {
        "price": scale,
        "delta": 1.0,
        "gamma": 0.0,
        "vega": 0.0,
        "vanna": 0.0,
        "volga": 0.0,
        "theta": scale,
        "rho": scale * t,
        "charm": 1.0,
    }
    for name, value in expected.items():
        assert_close(f"{model} sigma=0 {name}", g[name], value, 1e-14 * natural[name], x)


def test_zero_vol_at_the_money_vega_is_the_right_derivative(simd_target):
    """sigma = 0 with F == K (black76): V(sigma) = D F (2 N(sigma sqrt(t) / 2) - 1), so the derivative
    from the right (sigma cannot go below 0) is vega = D F sqrt(t) / sqrt(2 pi), and vanna = d delta /
    dsigma = D sqrt(t) / (2 sqrt(2 pi)); both are finite.  The library's own vega at sigma = 1e-12 must
    agree (continuity).  Tolerance: relative 1e-9 (the next term is O(sigma^2 t) = 1e-24).

    LIBRARY BUG (found 2026-11, minor): at sigma == 0 exactly and F == K the kernel sets phi(d1) = 0 and
    returns vega = vanna = 0, although ro.price grows like D F sqrt(t) sigma / sqrt(2 pi) from there:
    ro.greeks('c', 100., 100., 1., 0., 0.)['vega'] == 0.0, expected 39.894228... (= 100 / sqrt(2 pi))."""
    f, t, r = 40_000.0, 0.25, 0.03
    d = np.exp(-r * t)
    expected_vega = d * f * np.sqrt(t) / np.sqrt(2 * np.pi)
    expected_vanna = d * np.sqrt(t) / (2 * np.sqrt(2 * np.pi))
    near = ro.greeks("c", f, f, t, r, 1e-12)
    assert near["vega"] == pytest.approx(expected_vega, rel=1e-9)
    assert near["vanna"] == pytest.approx(expected_vanna, rel=1e-9)
    for flag in ("c", "p"):
        at = ro.greeks(flag, f, f, t, r, 0.0)
        assert at["price"] == 0.0
        assert at["delta"] == pytest.approx((0.5 if flag == "c" else -0.5) * d, rel=4 * EPS)
        assert at["vega"] == pytest.approx(expected_vega, rel=1e-9), "vega at sigma = 0, F == K"
        assert at["vanna"] == pytest.approx(expected_vanna, rel=1e-9), "vanna at sigma = 0, F == K"


def test_subnormal_total_vol_is_the_zero_vol_limit(simd_target):
    """sigma sqrt(t) can be positive but subnormal (sigma = 1e-310, or sigma = 1e-300 with t = 1e-20):
    valid inputs, so the outputs must be the sigma -> 0 limits, never NaN and never a wrong price.

    LIBRARY BUG (found 2026-11, extreme inputs only): ro.price('c', 100., 100., 1., 0., 1e-310) is NaN
    (expected 0 = ATM intrinsic); ro.greeks('c', np.array([100.]), 90., 1., 0., 5e-324)['price'] is
    0.0 (expected 10.0); gamma/theta/vanna/volga/charm are NaN for all such rows."""
    u = np.array([100.0, 100.0, 100.0, 100.0])
    k = np.array([100.0, 90.0, 110.0, 90.0])
    for t, sigma in ((1.0, 1e-310), (1e-20, 1e-300), (1.0, 5e-324)):
        g = ro.greeks(np.array(["c", "c", "c", "p"]), u, k, t, 0.0, sigma)
        for name, value in g.items():
            assert np.all(np.isfinite(value)), f"{name} not finite at t={t}, sigma={sigma}: {value}"
        np.testing.assert_allclose(
            g["price"], [0.0, 10.0, 0.0, 0.0], rtol=1e-15, atol=1e-13, err_msg=f"t={t}, sigma={sigma}"
        )
        np.testing.assert_allclose(g["delta"], [0.5, 1.0, 0.0, 0.0], rtol=1e-15, atol=1e-15)


# ----------------------------------------------------------------------------------------------------
# 5. tails: finite, no NaN, within no-arbitrage bounds


@pytest.mark.parametrize("settlement", SETTLEMENTS)
@pytest.mark.parametrize("model", MODELS)
def test_deep_itm_otm_and_extreme_inputs_are_finite(simd_target, model, settlement):
    """Strikes 1e-12..1e12 x the underlying, t from 30 microseconds (1e-12 y) to 100 years, vol from
    1e-8 to 5,000%, rates +/-30%: every output finite; prices within [intrinsic of the discounted
    forward, discounted upper bound] (up to 1e-12 relative), call delta in [0, e^{-qt}], puts in
    [-e^{-qt}, 0], gamma, vega >= 0."""
    x = _grid(
        list(
            itertools.product(
                (1.0, -1.0),
                (1000.0,),
                (1e-12, 1e-6, 0.5, 0.9999999, 1.0, 1.0000001, 2.0, 1e6, 1e12),
                (1e-12, 1e-9, 1e-6, 1e-4, 1.0, 100.0),
                (-0.3, 0.0, 0.3),
                (1e-8, 1e-4, 0.3, 5.0, 50.0),
                (0.02,) if model == "bsm" else (0.0,),
            )
        )
    )
    g = _call_greeks(x, model, settlement)
    for name, value in g.items():
        bad = ~np.isfinite(value)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            pytest.fail(f"{name} is {value[i]!r} for {describe(x, i)} ({int(bad.sum())} rows)")
    theta = np.where(x["flag"] == "c", 1.0, -1.0)
    _u, k, t, r = x["underlying"], x["strike"], x["t"], x["r"]
    fwd, disc = _forward(x, model), np.exp(-r * t)
    lin = _call_greeks(x, model, "linear")
    lower = disc * np.maximum(theta * (fwd - k), 0.0)
    upper = disc * np.where(theta > 0, fwd, k)
    slack = 1e-12 * np.maximum(fwd, k) * disc
    assert np.all(lin["price"] >= lower - slack), "price below the discounted intrinsic"
    assert np.all(lin["price"] <= upper + slack), "price above the no-arbitrage maximum"
    carry_disc = np.exp(-x["q"] * t) if model == "bsm" else disc
    assert np.all(theta * lin["delta"] >= 0.0) and np.all(theta * lin["delta"] <= carry_disc * (1 + 1e-15))
    assert np.all(lin["gamma"] >= 0.0) and np.all(lin["vega"] >= 0.0)


# ----------------------------------------------------------------------------------------------------
# 6. shapes, scalars, selection, flags


def test_scalars_in_give_floats_out(simd_target):
    p = ro.price("c", 40_000.0, 42_000.0, 0.25, 0.03, 0.6)
    assert type(p) is float
    g = ro.greeks("c", 40_000.0, 42_000.0, 0.25, 0.03, 0.6)
    assert set(g) == set(LINEAR_KEYS)
    assert all(type(v) is float for v in g.values())
    g_sub = ro.greeks("c", 40_000.0, 42_000.0, 0.25, 0.03, 0.6, greeks=["vega"])
    assert list(g_sub) == ["vega"] and type(g_sub["vega"]) is float
    # ints count as scalars too
    assert type(ro.price("p", 100, 100, 1, 0, 1)) is float


def test_scalar_fast_path_matches_array_path(simd_target):
    """The plain-float fast path and the array path run the same kernel: identical bits."""
    args = ("p", 40_000.0, 35_000.0, 0.1, 0.02, 0.7)
    for model, settlement in itertools.product(MODELS, SETTLEMENTS):
        kw = {"q": 0.01, "model": model, "settlement": settlement}
        fast = ro.greeks(*args, **kw)
        arrays = ro.greeks(*(np.array([a]) for a in args), **kw)
        assert set(fast) == set(arrays)
        for name in fast:
            assert fast[name] == arrays[name][0], name
        assert ro.price(*args, **kw) == arrays["price"][0]


def test_zero_dimensional_arrays_and_numpy_scalars(simd_target):
    ref = ro.greeks("c", 40_000.0, 42_000.0, 0.25, 0.03, 0.6)
    for wrap in (np.array, np.float64, np.float32):
        value = wrap(40_000.0)
        got = ro.greeks(np.array("c"), value, np.array(42_000.0), 0.25, 0.03, 0.6)
        for name in ref:
            assert np.ndim(got[name]) == 0
            assert float(got[name]) == ref[name], (wrap, name)
        p = ro.price(np.array("c"), value, np.array(42_000.0), 0.25, 0.03, 0.6)
        assert np.ndim(p) == 0 and float(p) == ref["price"]


def test_lists_are_arrays(simd_target):
    got = ro.greeks(["c", "p"], [40_000.0, 41_000.0], [42_000.0, 39_000.0], [0.25, 0.5], 0.03, [0.6, 0.7])
    for name, value in got.items():
        assert isinstance(value, np.ndarray) and value.shape == (2,) and value.dtype == np.float64
    one = ro.greeks("p", 41_000.0, 39_000.0, 0.5, 0.03, 0.7)
    for name in one:
        assert got[name][1] == one[name]


def test_broadcasting_2d(simd_target):
    """(3, 1) strikes x (1, 4) expiries -> (3, 4), each element equal to the scalar call."""
    strikes = np.array([[30_000.0], [40_000.0], [55_000.0]])
    expiries = np.array([[0.01, 0.1, 0.5, 2.0]])
    for settlement in SETTLEMENTS:
        g = ro.greeks("c", 40_000.0, strikes, expiries, 0.03, 0.6, settlement=settlement)
        p = ro.price("c", 40_000.0, strikes, expiries, 0.03, 0.6, settlement=settlement)
        assert p.shape == (3, 4)
        for name, value in g.items():
            assert value.shape == (3, 4), name
        for i, j in itertools.product(range(3), range(4)):
            one = ro.greeks(
                "c", 40_000.0, float(strikes[i, 0]), float(expiries[0, j]), 0.03, 0.6, settlement=settlement
            )
            assert p[i, j] == one["price"]
            for name in one:
                assert g[name][i, j] == one[name], (name, i, j)
    # flags broadcast too: (2, 1) flags x (1, 3) strikes
    flags = np.array([["c"], ["p"]])
    out = ro.price(flags, 100.0, np.array([[90.0, 100.0, 110.0]]), 1.0, 0.0, 0.5)
    assert out.shape == (2, 3)
    assert out[1, 0] == ro.price("p", 100.0, 90.0, 1.0, 0.0, 0.5)


def test_greek_subset_selection(simd_target):
    args = (np.array(["c", "p"]), 40_000.0, np.array([42_000.0, 38_000.0]), 0.25, 0.03, 0.6)
    full = ro.greeks(*args)
    sub = ro.greeks(*args, greeks=["delta", "vega"])
    assert set(sub) == {"delta", "vega"}
    for name in sub:
        np.testing.assert_array_equal(sub[name], full[name])
    single = ro.greeks(*args, greeks="gamma")
    assert set(single) == {"gamma"}
    np.testing.assert_array_equal(single["gamma"], full["gamma"])
    # a subset on the inverse side may ask for the two coin deltas
    inv = ro.greeks(*args, settlement="inverse", greeks=["delta_pa", "price"])
    assert set(inv) == {"delta_pa", "price"}
    np.testing.assert_array_equal(inv["delta_pa"], ro.greeks(*args, settlement="inverse")["delta_pa"])


def test_inverse_adds_coin_deltas_linear_does_not(simd_target):
    for model in MODELS:
        lin = ro.greeks("c", 40_000.0, 42_000.0, 0.25, 0.03, 0.6, model=model)
        inv = ro.greeks("c", 40_000.0, 42_000.0, 0.25, 0.03, 0.6, model=model, settlement="inverse")
        assert set(lin) == set(LINEAR_KEYS)
        assert set(inv) == set(LINEAR_KEYS) | {"delta_pa", "delta_b76"}
        lin_a = ro.greeks(np.array(["c"]), 40_000.0, 42_000.0, 0.25, 0.03, 0.6, model=model)
        inv_a = ro.greeks(
            np.array(["c"]), 40_000.0, 42_000.0, 0.25, 0.03, 0.6, model=model, settlement="inverse"
        )
        assert set(lin_a) == set(LINEAR_KEYS)
        assert set(inv_a) == set(INVERSE_KEYS)


CALL_SPELLINGS = ["c", "C", "call", "Call", "CALL", True, np.True_]
PUT_SPELLINGS = ["p", "P", "put", "Put", "PUT", False, np.False_]


@pytest.mark.parametrize("settlement", SETTLEMENTS)
def test_flag_spellings_agree(simd_target, settlement):
    args = (40_000.0, 42_000.0, 0.25, 0.03, 0.6)
    for spellings in (CALL_SPELLINGS, PUT_SPELLINGS):
        ref = ro.greeks(spellings[0], *args, settlement=settlement)
        for flag in spellings[1:]:
            got = ro.greeks(flag, *args, settlement=settlement)
            assert got == ref, flag
            assert ro.price(flag, *args, settlement=settlement) == ref["price"], flag
    # the two sets must differ (a flag parser that ignored the flag would pass the loop above)
    assert ro.price("c", *args) != ro.price("p", *args)


def test_flag_arrays_agree(simd_target):
    n = 6
    u = np.linspace(30_000.0, 50_000.0, n)
    k = np.full(n, 40_000.0)
    is_call = np.array([True, False, True, True, False, False])
    reference = ro.greeks(np.where(is_call, "c", "p"), u, k, 0.3, 0.02, 0.55)
    variants = {
        "bool array": is_call,
        "bool list": list(is_call),
        "mixed-case strings": np.where(is_call, "CALL", "Put"),
        "object array": np.array(["call" if c else "P" for c in is_call], dtype=object),
        "list of str": ["C" if c else "put" for c in is_call],
    }
    for label, flags in variants.items():
        got = ro.greeks(flags, u, k, 0.3, 0.02, 0.55)
        for name in reference:
            np.testing.assert_array_equal(got[name], reference[name], err_msg=f"{label}: {name}")
        np.testing.assert_array_equal(ro.price(flags, u, k, 0.3, 0.02, 0.55), reference["price"])
    # elementwise: each row equals the scalar call with its own flag
    for i in range(n):
        assert reference["price"][i] == ro.price(
            "c" if is_call[i] else "p", float(u[i]), 40_000.0, 0.3, 0.02, 0.55
        )
