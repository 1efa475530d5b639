"""Differential tests against the peer libraries users would otherwise pick:
vollib 1.0.11 (Let's Be Rational prices and IV, closed-form Greeks) and QuantLib 1.44 (blackFormula,
BlackCalculator, AnalyticEuropeanEngine, blackFormulaImpliedStdDev).

Unit conversions to riskoffset's canonical units (docs/units.md: vega per 1.00 vol, theta = dV/dt per year
with calendar time forward, rho per 1.00 rate with the underlying argument held):

* vollib: vega and rho are per 1 point (x 0.01) -> x 100; theta is per calendar day (/365) -> x 365.
  vollib.black.black is the *discounted* Black-76 price e^{-rt} B(F, K, sigma, t); vollib's Black rho is
  `-t * black(...) * 0.01`, i.e. dV/dr with F held, per point, which is riskoffset's black76 rho / 100.
  vollib's Black-Scholes(-Merton) rho is t K e^{-rt} N(d2) * 0.01 (S held), riskoffset's bsm rho / 100.
  Argument orders: black IV is (price, F, K, r, t, flag) with r *before* t; black_scholes IV is
  (price, S, K, t, r, flag); black_scholes_merton IV is (price, S, K, t, r, q, flag).
* QuantLib: blackFormula / BlackCalculator take stdDev = sigma sqrt(t) and a discount factor; Greeks are
  per unit and per year already.  With an engine, t comes from dates: Actual365Fixed and whole days, so
  t = days / 365 exactly; flat continuously compounded curves.

Tolerances (all per output, with their reason):
* Both sides evaluate exp(-d1^2/2) from a d1 with relative error ~eps, so relative agreement degrades
  like d1^2 eps in the tails: relative tolerance RTOL x (1 + d1^2), RTOL = 1e-13 (vollib and our kernel
  are both accurate to a few ulp near the money; LBR is accurate to ~1e-13 relative even in the tails).
* Plus an absolute term ATOL x the natural scale of the output (its size near the money, see
  `reference.natural_scale`), for outputs formed by subtracting larger terms: vollib's Black-Scholes put delta is
  N(d1) - 1 (absolute error ~eps, relative error unbounded in the far tail), theta and rho are sums of
  terms of both signs in every implementation.
* QuantLib prices come from F N(d1) - K N(d2) without a normalised form: absolute error ~eps max(F, K),
  so deep out of the money QuantLib's *relative* error is large (up to 2.8x off below 1e-6 F, measured
  against mpmath).  The QuantLib comparisons are restricted to non-tiny values: rows whose price is below
  1e-6 x the forward are dropped, and the absolute term is 8 ulp of max(F, K) e^{-rt}.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import riskoffset as ro
from reference import assert_close, natural_scale

EPS = float(np.finfo(np.float64).eps)
RTOL = 1e-13
ATOL = 1e-14

pytest.importorskip("vollib", reason="vollib (test dependency) not installed")
import vollib.black
import vollib.black.greeks.analytical
import vollib.black.implied_volatility
import vollib.black_scholes
import vollib.black_scholes.greeks.analytical
import vollib.black_scholes.implied_volatility
import vollib.black_scholes_merton
import vollib.black_scholes_merton.greeks.analytical
import vollib.black_scholes_merton.implied_volatility


def _quantlib():
    return pytest.importorskip("QuantLib", reason="QuantLib (test dependency) not installed")


# ----------------------------------------------------------------------------------------------------
# grids and helpers

UNDERLYING = 40_000.0
Q = 0.02


def _rows() -> list[tuple]:
    """flag, strike / underlying, t, sigma, r: strikes 0.5x..2x, 1 day..2 years, vol 10%..150%, rates
    -1% and 5% (a realistic crypto range)."""
    return list(
        itertools.product(
            ("c", "p"),
            (0.5, 0.7, 0.9, 1.0, 1.1, 1.4, 2.0),
            (1 / 365, 7 / 365, 30 / 365, 0.5, 2.0),
            (0.1, 0.4, 0.8, 1.5),
            (-0.01, 0.05),
        )
    )


def _arrays(rows: list[tuple]) -> dict[str, np.ndarray]:
    flag, m, t, sigma, r = (np.array(c) for c in zip(*rows))
    return {
        "flag": flag,
        "underlying": np.full(len(rows), UNDERLYING),
        "strike": UNDERLYING * m.astype(float),
        "t": t.astype(float),
        "sigma": sigma.astype(float),
        "r": r.astype(float),
    }


def _d1(x: dict[str, np.ndarray], q: float, carry: bool) -> np.ndarray:
    fwd = x["underlying"] * (np.exp((x["r"] - q) * x["t"]) if carry else 1.0)
    s = x["sigma"] * np.sqrt(x["t"])
    return np.log(fwd / x["strike"]) / s + 0.5 * s


# ----------------------------------------------------------------------------------------------------
# vollib: prices and analytical Greeks

VOLLIB_MODELS = {
    # name: (vollib module, greeks module, riskoffset model, q, vollib takes q)
    "black": (vollib.black, vollib.black.greeks.analytical, "black76", 0.0, False),
    "black_scholes": (vollib.black_scholes, vollib.black_scholes.greeks.analytical, "bsm", 0.0, False),
    "black_scholes_merton": (
        vollib.black_scholes_merton,
        vollib.black_scholes_merton.greeks.analytical,
        "bsm",
        Q,
        True,
    ),
}
# vollib unit -> canonical: vega and rho per point (x100), theta per calendar day (x365)
VOLLIB_FACTOR = {"delta": 1.0, "gamma": 1.0, "vega": 100.0, "theta": 365.0, "rho": 100.0}


@pytest.fixture(scope="module")
def vollib_values():
    """vollib's prices and canonical-unit Greeks for every row, once per model."""
    rows = _rows()
    out = {}
    for name, (mod, greeks_mod, _, q, takes_q) in VOLLIB_MODELS.items():
        price_fn = getattr(mod, name)
        extra = (q,) if takes_q else ()
        values = {
            "price": np.array(
                [price_fn(f, UNDERLYING, UNDERLYING * m, t, r, s, *extra) for f, m, t, s, r in rows]
            )
        }
        for greek, factor in VOLLIB_FACTOR.items():
            fn = getattr(greeks_mod, greek)
            values[greek] = factor * np.array(
                [fn(f, UNDERLYING, UNDERLYING * m, t, r, s, *extra) for f, m, t, s, r in rows]
            )
        out[name] = values
    return out


@pytest.mark.parametrize("output", ["price", "delta", "gamma", "vega", "theta", "rho"])
@pytest.mark.parametrize("vollib_model", sorted(VOLLIB_MODELS))
def test_vollib_prices_and_greeks(vollib_values, vollib_model, output):
    _, _, model, q, _ = VOLLIB_MODELS[vollib_model]
    x = _arrays(_rows())
    ours = ro.greeks(x["flag"], x["underlying"], x["strike"], x["t"], x["r"], x["sigma"], q=q, model=model)
    peer = vollib_values[vollib_model][output]
    carry = model == "bsm"
    natural = natural_scale(dict(x, q=q), model)[output]
    tol = RTOL * (1 + _d1(x, q, carry) ** 2) * np.abs(peer) + ATOL * natural
    assert_close(f"vollib.{vollib_model} {output}", ours[output], peer, tol, x)


def test_vollib_scalar_calls_match():
    """The scalar fast path (plain floats) against vollib, one option of each model: the Hull example
    printed in vollib's docstrings (S=49, K=50, r=5%, t=0.3846, sigma=20%)."""
    S, K, t, r, sigma = 49.0, 50.0, 0.3846, 0.05, 0.2
    for flag in ("c", "p"):
        g = ro.greeks(flag, S, K, t, r, sigma, model="bsm")
        ga = vollib.black_scholes.greeks.analytical
        assert g["price"] == pytest.approx(
            vollib.black_scholes.black_scholes(flag, S, K, t, r, sigma), rel=1e-13
        )
        assert g["delta"] == pytest.approx(ga.delta(flag, S, K, t, r, sigma), rel=1e-13)
        assert g["vega"] == pytest.approx(100 * ga.vega(flag, S, K, t, r, sigma), rel=1e-13)
        assert g["theta"] == pytest.approx(365 * ga.theta(flag, S, K, t, r, sigma), rel=1e-13)
        assert g["rho"] == pytest.approx(100 * ga.rho(flag, S, K, t, r, sigma), rel=1e-13)
        b = ro.greeks(flag, S, K, t, r, sigma)  # black76 with F = 49
        gb = vollib.black.greeks.analytical
        assert b["price"] == pytest.approx(vollib.black.black(flag, S, K, t, r, sigma), rel=1e-13)
        assert b["rho"] == pytest.approx(100 * gb.rho(flag, S, K, t, r, sigma), rel=1e-13)
        assert b["rho"] == pytest.approx(-t * b["price"], rel=1e-14)  # F held: d/dr e^{-rt} B = -t V


# ----------------------------------------------------------------------------------------------------
# vollib: implied volatility


def _vollib_iv(vollib_model: str, price: float, flag: str, u: float, k: float, t: float, r: float, q: float):
    if vollib_model == "black":  # (discounted price, F, K, r, t, flag): r before t
        return vollib.black.implied_volatility.implied_volatility(price, u, k, r, t, flag)
    if vollib_model == "black_scholes":  # (price, S, K, t, r, flag)
        return vollib.black_scholes.implied_volatility.implied_volatility(price, u, k, t, r, flag)
    return vollib.black_scholes_merton.implied_volatility.implied_volatility(price, u, k, t, r, q, flag)


@pytest.mark.parametrize("vollib_model", sorted(VOLLIB_MODELS))
def test_vollib_implied_vol(vollib_values, vollib_model):
    """Same price in (vollib's own, so neither side is favoured), vols out.  Rows are kept where the
    price carries the vol to 1e-10 (vol uncertainty from 4 ulp of the price, u = 4 eps max(F, K) /
    vega, below 1e-11): there both recover the true sigma to 1e-10 (our accuracy target) and agree with each other
    to 1e-12 + 2u (LBR is accurate to ~1e-13; our solver stops below 1e-13 relative steps)."""
    _, _, model, q, _ = VOLLIB_MODELS[vollib_model]
    x = _arrays(_rows())
    peer_price = vollib_values[vollib_model]["price"]
    vega = vollib_values[vollib_model]["vega"]
    with np.errstate(divide="ignore"):  # vega underflows to 0 in the far tails: u = inf, row dropped
        u = 4 * EPS * np.maximum(x["underlying"], x["strike"]) / vega
    keep = u < 1e-11
    assert keep.sum() > 200
    ours = ro.implied_vol(
        peer_price, x["flag"], x["underlying"], x["strike"], x["t"], x["r"], q=q, model=model
    )
    peer = np.array(
        [
            _vollib_iv(vollib_model, float(p), str(f), float(uu), float(k), float(t), float(r), q)
            if kk
            else np.nan
            for p, f, uu, k, t, r, kk in zip(
                peer_price, x["flag"], x["underlying"], x["strike"], x["t"], x["r"], keep
            )
        ]
    )
    sub = {k: v[keep] for k, v in x.items()}
    assert_close(f"vollib.{vollib_model} IV vs ours", ours[keep], peer[keep], 1e-12 + 2 * u[keep], sub)
    assert_close(
        f"ours vs true sigma ({vollib_model})", ours[keep], x["sigma"][keep], np.full(keep.sum(), 1e-10), sub
    )
    assert_close(
        f"vollib vs true sigma ({vollib_model})",
        peer[keep],
        x["sigma"][keep],
        np.full(keep.sum(), 1e-10),
        sub,
    )


# ----------------------------------------------------------------------------------------------------
# QuantLib: Black-76 via blackFormula / BlackCalculator


QL_VOLGA_NOTE = """QuantLib 1.44's BlackCalculator::volga(T) returns vega * d1 * d2 / stdDev with stdDev = sigma
sqrt(T), which is d vega / d stdDev = (d2V/dsigma2) / sqrt(T), not d2V/dsigma2 (the exact ratio 1/sqrt(T)
was checked against central differences of its own vega(T), e.g. 7.2210 at T = 7/365).  Its vanna is
right (the sqrt(T) cancels there).  The tests multiply QuantLib's volga by sqrt(T)."""


def test_quantlib_volga_convention_is_per_std_dev():
    """Pins the QuantLib defect above so the sqrt(T) conversion is removed when QuantLib fixes it:
    QuantLib's volga x sqrt(T) must equal the central difference of QuantLib's own vega."""
    ql = _quantlib()
    f, k, r, sigma, h = 40_000.0, 44_000.0, -0.01, 0.9, 1e-5
    for t in (7 / 365, 0.5, 2.0):

        def calc(s, t=t):
            return ql.BlackCalculator(
                ql.PlainVanillaPayoff(ql.Option.Put, k), f, s * math.sqrt(t), math.exp(-r * t)
            )

        fd = (calc(sigma + h).vega(t) - calc(sigma - h).vega(t)) / (2 * h)
        # central difference truncation ~h^2 x (d^4V/dsigma^4) ~ 1e-10 relative: tolerance 1e-7 relative
        assert calc(sigma).volga(t) * math.sqrt(t) == pytest.approx(fd, rel=1e-7)


def _ql_type(ql, flag):
    return ql.Option.Call if flag == "c" else ql.Option.Put


def _ql_restrict(x, price):
    """Drop rows whose price is below 1e-6 x the forward (QuantLib's cancellation, see module doc)."""
    return price >= 1e-6 * x["underlying"]


def test_quantlib_black_formula_and_calculator():
    """ql.blackFormula(type, K, F, stdDev = sigma sqrt t, discount) and BlackCalculator's forward
    Greeks (deltaForward, gammaForward, vega(t), volga(t), vanna(F, t), theta(F, t) with spot = F, i.e.
    no carry) against riskoffset's black76.  Black-76 rho (F held) is rho(t) + dividendRho(t) of the
    calculator (the calculator's rho holds the spot, its dividendRho undoes the move of
    the forward)."""
    ql = _quantlib()
    x = _arrays(_rows())
    ours = ro.greeks(x["flag"], x["underlying"], x["strike"], x["t"], x["r"], x["sigma"])
    names = ("price", "delta", "gamma", "vega", "theta", "rho", "vanna", "volga")
    peer = {n: np.empty(len(x["t"])) for n in names}
    for i, (f, u, k, t, sigma, r) in enumerate(
        zip(x["flag"], x["underlying"], x["strike"], x["t"], x["sigma"], x["r"])
    ):
        std, disc = sigma * math.sqrt(t), math.exp(-r * t)
        peer["price"][i] = ql.blackFormula(_ql_type(ql, f), k, u, std, disc)
        calc = ql.BlackCalculator(ql.PlainVanillaPayoff(_ql_type(ql, f), k), u, std, disc)
        peer["delta"][i] = calc.deltaForward()
        peer["gamma"][i] = calc.gammaForward()
        peer["vega"][i] = calc.vega(t)
        peer["theta"][i] = calc.theta(u, t)
        peer["rho"][i] = calc.rho(t) + calc.dividendRho(t)
        peer["vanna"][i] = calc.vanna(u, t)
        peer["volga"][i] = calc.volga(t) * math.sqrt(t)  # QuantLib 1.44 defect, see QL_VOLGA_NOTE
    keep = _ql_restrict(x, peer["price"])
    assert keep.sum() > 300
    sub = {k: v[keep] for k, v in x.items()}
    natural = natural_scale(sub, "black76")
    d1 = _d1(sub, 0.0, False)
    cancel = 8 * EPS * np.maximum(sub["underlying"], sub["strike"]) * np.exp(-sub["r"] * sub["t"])
    for name in names:
        tol = RTOL * (1 + d1**2) * np.abs(peer[name][keep]) + ATOL * natural[name]
        if name in ("price", "theta", "rho"):  # these carry QuantLib's F N(d1) - K N(d2) cancellation
            tol = tol + cancel * natural[name] / natural["price"]
        assert_close(f"QuantLib Black-76 {name}", ours[name][keep], peer[name][keep], tol, sub)


# ----------------------------------------------------------------------------------------------------
# QuantLib: Black-Scholes-Merton with AnalyticEuropeanEngine


@pytest.fixture
def ql_today():
    """Fix QuantLib's global evaluation date and restore it afterwards (global state)."""
    ql = _quantlib()
    settings = ql.Settings.instance()
    previous = settings.evaluationDate
    today = ql.Date(15, 1, 2026)
    settings.evaluationDate = today
    yield ql, today
    settings.evaluationDate = previous


def test_quantlib_bsm_engine_greeks(ql_today):
    """EuropeanOption + AnalyticEuropeanEngine on a BlackScholesMertonProcess with flat continuous
    curves, Actual365Fixed and whole-day expiries (t = days / 365 exactly): price, delta, gamma, vega,
    theta (per year), rho (S held) against riskoffset's bsm; vanna and volga from BlackCalculator on
    the same forward.  Tolerances as in the module docstring (QuantLib rows with price < 1e-6 S
    dropped)."""
    ql, today = ql_today
    dc = ql.Actual365Fixed()
    rows = list(
        itertools.product(
            ("c", "p"),
            (0.5, 0.8, 0.95, 1.0, 1.05, 1.25, 2.0),
            (1, 7, 30, 182, 730),
            (0.15, 0.6, 1.4),
            (-0.01, 0.05),
            (0.0, 0.03),
        )
    )
    n = len(rows)
    x = {
        "flag": np.array([r[0] for r in rows]),
        "underlying": np.full(n, UNDERLYING),
        "strike": np.array([UNDERLYING * r[1] for r in rows]),
        "t": np.array([r[2] / 365 for r in rows]),
        "sigma": np.array([r[3] for r in rows]),
        "r": np.array([r[4] for r in rows]),
        "q": np.array([r[5] for r in rows]),
    }
    ours = ro.greeks(
        x["flag"], x["underlying"], x["strike"], x["t"], x["r"], x["sigma"], q=x["q"], model="bsm"
    )
    names = ("price", "delta", "gamma", "vega", "theta", "rho", "vanna", "volga")
    peer = {name: np.empty(n) for name in names}
    spot = ql.SimpleQuote(UNDERLYING)
    for i, (flag, m, days, sigma, r, q) in enumerate(rows):
        curve_r = ql.YieldTermStructureHandle(ql.FlatForward(today, r, dc, ql.Continuous))
        curve_q = ql.YieldTermStructureHandle(ql.FlatForward(today, q, dc, ql.Continuous))
        vol = ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), sigma, dc))
        process = ql.BlackScholesMertonProcess(ql.QuoteHandle(spot), curve_q, curve_r, vol)
        payoff = ql.PlainVanillaPayoff(_ql_type(ql, flag), UNDERLYING * m)
        option = ql.EuropeanOption(payoff, ql.EuropeanExercise(today + days))
        option.setPricingEngine(ql.AnalyticEuropeanEngine(process))
        t = dc.yearFraction(today, today + days)
        assert t == days / 365
        peer["price"][i] = option.NPV()
        peer["delta"][i] = option.delta()
        peer["gamma"][i] = option.gamma()
        peer["vega"][i] = option.vega()
        peer["theta"][i] = option.theta()
        peer["rho"][i] = option.rho()
        fwd = UNDERLYING * math.exp((r - q) * t)
        calc = ql.BlackCalculator(payoff, fwd, sigma * math.sqrt(t), math.exp(-r * t))
        peer["vanna"][i] = calc.vanna(UNDERLYING, t)
        peer["volga"][i] = calc.volga(t) * math.sqrt(t)  # QuantLib 1.44 defect, see QL_VOLGA_NOTE
    keep = _ql_restrict(x, peer["price"])
    assert keep.sum() > 500
    sub = {k: v[keep] for k, v in x.items()}
    q_sub = sub["q"]
    natural = natural_scale(dict(sub, q=q_sub), "bsm")
    d1 = _d1(sub, q_sub, True)
    fwd = sub["underlying"] * np.exp((sub["r"] - q_sub) * sub["t"])
    cancel = 8 * EPS * np.maximum(fwd, sub["strike"]) * np.exp(-sub["r"] * sub["t"])
    for name in names:
        tol = RTOL * (1 + d1**2) * np.abs(peer[name][keep]) + ATOL * natural[name]
        if name in ("price", "theta", "rho"):
            tol = tol + cancel * natural[name] / natural["price"]
        assert_close(f"QuantLib BSM engine {name}", ours[name][keep], peer[name][keep], tol, sub)


# ----------------------------------------------------------------------------------------------------
# QuantLib: implied volatility


def test_quantlib_implied_std_dev():
    """ql.blackFormulaImpliedStdDev(type, K, F, price, discount, 0, guess, accuracy=1e-12, 100) / sqrt(t)
    against ro.implied_vol (black76) on QuantLib's own blackFormula prices.  QuantLib's accuracy 1e-12
    is on stdDev, i.e. 1e-12 / sqrt(t) on sigma; rows kept where the price carries the vol (u = 4 eps
    max(F, K) D / vega < 1e-11) and the price is not tiny (QuantLib's cancellation, module doc).
    Bound: 1e-12 / sqrt(t) + 2u + 1e-13 sigma between the two, 1e-10 of each to the true sigma."""
    ql = _quantlib()
    x = _arrays(_rows())
    n = len(x["t"])
    price, ql_sigma = np.empty(n), np.full(n, np.nan)
    g = ro.greeks(x["flag"], x["underlying"], x["strike"], x["t"], x["r"], x["sigma"], greeks=["vega"])
    disc = np.exp(-x["r"] * x["t"])
    with np.errstate(divide="ignore"):  # vega underflows to 0 in the far tails: u = inf, row dropped
        u = 4 * EPS * np.maximum(x["underlying"], x["strike"]) * disc / g["vega"]
    for i in range(n):
        f, fwd, k, t = x["flag"][i], x["underlying"][i], x["strike"][i], x["t"][i]
        price[i] = ql.blackFormula(_ql_type(ql, f), k, fwd, x["sigma"][i] * math.sqrt(t), disc[i])
    keep = (u < 1e-11) & _ql_restrict(x, price)
    assert keep.sum() > 200
    for i in np.flatnonzero(keep):
        f, fwd, k, t = x["flag"][i], x["underlying"][i], x["strike"][i], x["t"][i]
        std = ql.blackFormulaImpliedStdDev(
            _ql_type(ql, f), k, fwd, price[i], disc[i], 0.0, ql.nullDouble(), 1e-12, 100
        )
        ql_sigma[i] = std / math.sqrt(t)
    ours = ro.implied_vol(price, x["flag"], x["underlying"], x["strike"], x["t"], x["r"])
    sub = {k: v[keep] for k, v in x.items()}
    tol = 1e-12 / np.sqrt(sub["t"]) + 2 * u[keep] + 1e-13 * sub["sigma"]
    assert_close("QuantLib implied stdDev vs ours", ours[keep], ql_sigma[keep], tol, sub)
    assert_close("ours vs true sigma", ours[keep], sub["sigma"], np.full(keep.sum(), 1e-10), sub)
