"""Shared machinery of riskoffset.compat.vollib.

Every public function has two paths:

* the fast path: one call into the compiled core (``riskoffset._core.pricing.value_scalar`` /
  ``implied_vol_scalar``) for plain scalars inside the model's domain (S, K > 0 and finite, t > 0,
  sigma > 0, r and q finite, flag 'c' or 'p'), a few hundred nanoseconds;
* the reference path, taken for everything else: a line-by-line port of what vollib 1.0.11 (and the Let's Be
  Rational package it calls) does with such inputs, so that the same bad input gives the same exception
  (KeyError for an unknown flag, ValueError "math domain error" for a negative t, S or K, ZeroDivisionError
  for K = 0, BelowIntrinsicException / AboveMaximumException in the implied-volatility functions, TypeError
  for non-numbers) and the same NaN, inf or limit value where vollib returns one.  The only numerical step of
  the reference path (the normalised Black function and its inverse) is again computed by the core.
"""

from __future__ import annotations

import sys
from math import erfc, exp, fabs, isfinite, isnan, log, sqrt
from typing import Any

import numpy

from ... import _core
from ._exceptions import AboveMaximumException, BelowIntrinsicException

value_scalar = _core.pricing.value_scalar
implied_vol_scalar = _core.pricing.implied_vol_scalar

#: flag -> argument for the core; anything else (None) makes the core decline and the reference path decide.
FLAG = {"c": True, "p": False}
#: vollib.helpers.binary_flag: the reference path indexes it, so unknown flags raise KeyError as in vollib.
BINARY_FLAG = {"c": 1, "p": -1}

BLACK76 = 0
BSM = 1
LINEAR = 0

ONE_OVER_SQRT_TWO_PI = 0.3989422804014326779399460599343818684758586311649
_ONE_OVER_SQRT_TWO = 0.7071067811865475244008443621048490392848359376887
_DBL_EPSILON = sys.float_info.epsilon
_FOURTH_ROOT_DBL_EPSILON = sqrt(sqrt(_DBL_EPSILON))
_SQRT_DBL_MIN = sqrt(sys.float_info.min)
_NAN = float("nan")


def _errstate() -> Any:
    return numpy.errstate(all="ignore")


# ---------------------------------------------------------------------------------------------------------
# The lets_be_rational package, as vollib calls it (lets_be_rational 1.1.2 / py_lets_be_rational 1.0.1 semantics)


def norm_cdf(z: float) -> float:
    """Standard normal cdf.  Like lets_be_rational's norm_cdf (Cody's), raises ValueError for NaN."""
    if z != z:  # noqa: PLR0124 (NaN test that, like lets_be_rational's, raises ValueError for arrays)
        raise ValueError("cannot convert float NaN to integer")
    return 0.5 * erfc(-z * _ONE_OVER_SQRT_TWO)


def normalised_intrinsic(x: float, q: float) -> float:
    """Intrinsic value of the normalised Black function (lets_be_rational's _normalised_intrinsic)."""
    if q * x <= 0:
        return 0
    x2 = x * x
    sign = -1 if q < 0 else 1
    if x2 < 98 * _FOURTH_ROOT_DBL_EPSILON:
        return fabs(
            max(
                sign
                * x
                * (
                    1
                    + x2
                    * (
                        (1.0 / 24.0)
                        + x2 * ((1.0 / 1920.0) + x2 * ((1.0 / 322560.0) + (1.0 / 92897280.0) * x2))
                    )
                ),
                0.0,
            )
        )
    b_max = exp(0.5 * x)
    return fabs(max(sign * (b_max - 1 / b_max), 0.0))


def _otm_normalised_call(x: float, s: float) -> float:
    """b(x, s) for x <= 0 and s > 0: the undiscounted Black call with F = e^(x/2), K = e^(-x/2), T = 1."""
    try:
        f, k = exp(0.5 * x), exp(-0.5 * x)
    except OverflowError:
        return 0.0
    v = value_scalar(0, True, f, k, 1.0, 0.0, s, 0.0, BLACK76, LINEAR)
    if v is None:
        return _NAN if (isnan(s) or isnan(x)) else 0.0
    return float(v)


def normalised_black_call(x: float, s: float) -> float:
    """Normalised Black call b(x, s) = Phi(x/s + s/2) e^(x/2) - Phi(x/s - s/2) e^(-x/2)."""
    if x > 0:
        return normalised_intrinsic(x, 1) + normalised_black_call(-x, s)
    if s <= fabs(x) * 0:
        return normalised_intrinsic(x, 1)
    return _otm_normalised_call(x, s)


def normalised_black(x: float, s: float, q: float) -> float:
    """Normalised Black value for q = +1 (call) or -1 (put): reciprocal-strike call-put equivalence."""
    return normalised_black_call(-x if q < 0 else x, s)


def normalised_vega(x: float, s: float) -> float:
    """Derivative of the normalised Black function in s."""
    ax = fabs(x)
    if ax <= 0:
        return ONE_OVER_SQRT_TWO_PI * exp(-0.125 * s * s)
    if s <= 0 or s <= ax * _SQRT_DBL_MIN:
        return 0
    return ONE_OVER_SQRT_TWO_PI * exp(-0.5 * ((x / s) * (x / s) + (0.5 * s) * (0.5 * s)))


def lbr_black(F: float, K: float, sigma: float, T: float, q: float) -> float:
    """Undiscounted Black price as lets_be_rational's ``black(F, K, sigma, T, q)`` computes it: intrinsic
    value plus the time value of the out-of-the-money side; math domain errors for F, K or T < 0, K = 0 and
    K = inf; intrinsic value when sigma <= 0, sigma or T is NaN/inf."""
    intrinsic = fabs(max((K - F if q < 0 else F - K), 0.0))
    if q * (F - K) > 0:
        q = -q
    root = sqrt(F) * sqrt(K)
    x = log(F / K)
    s = sigma * sqrt(T)
    time_value = 0.0
    if s > 0:
        v = value_scalar(0, q > 0, F, K, T, 0.0, sigma, 0.0, BLACK76, LINEAR)
        if v is not None:
            time_value = float(v)
        elif isfinite(root) and isfinite(x) and isfinite(s):
            time_value = root * normalised_black(x, s, q)
    return intrinsic + max(0.0, time_value)


def _bisect_normalised_call(beta: float, x: float) -> float:
    """Robust fallback: s with b(x, s) = beta for x <= 0 (used only where the core's solver declines)."""
    lo, hi = 0.0, 1.0
    while _otm_normalised_call(x, hi) < beta:
        lo, hi = hi, 2.0 * hi
        if hi > 1e6:
            return hi
    for _ in range(2000):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if _otm_normalised_call(x, mid) < beta:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _solve_normalised_call(beta: float, x: float) -> float:
    if isnan(x):
        raise ValueError("cannot convert float NaN to integer")
    if isnan(beta):
        return _NAN
    try:
        f, k = exp(0.5 * x), exp(-0.5 * x)
    except OverflowError:
        return _bisect_normalised_call(beta, x)
    res = implied_vol_scalar(float(beta), True, f, k, 1.0, 0.0, 0.0, BLACK76, LINEAR)
    if res is not None and res[1] == 0:
        return float(res[0])
    return _bisect_normalised_call(float(beta), x)


def unchecked_normalised_implied_volatility(beta: Any, x: Any, q: float) -> Any:
    """lets_be_rational's _unchecked_normalised_implied_volatility...: 0 for beta <= 0, AboveMaximumException for
    beta >= exp(x/2) after mapping to an out-of-the-money call, else the normalised volatility s."""
    if q * x > 0:
        beta = fabs(max(beta - normalised_intrinsic(x, q), 0.0))
        q = -q
    if q < 0:
        x = -x
        q = -q
    if beta <= 0:
        return 0
    b_max = exp(0.5 * x)
    if beta >= b_max:
        raise AboveMaximumException()
    s = _solve_normalised_call(beta, x)
    if isinstance(beta, numpy.floating):
        return numpy.float64(s)
    return s


def normalised_implied_volatility(beta: Any, x: Any, q: float) -> Any:
    """lets_be_rational's normalised_implied_volatility_from_a_transformed_rational_guess(_with_limited_iterations)."""
    if q * x > 0:
        beta -= normalised_intrinsic(x, q)
        q = -q
    if beta < 0:
        raise BelowIntrinsicException()
    return unchecked_normalised_implied_volatility(beta, x, q)


def lbr_implied_volatility(price: Any, F: Any, K: Any, T: Any, q: float) -> Any:
    """lets_be_rational's implied_volatility_from_a_transformed_rational_guess(price, F, K, T, q) on an undiscounted
    price: BelowIntrinsicException if price < intrinsic, AboveMaximumException if price >= F (call) or
    K (put), else sigma (the core's solver on the normalised problem)."""
    intrinsic = fabs(max((K - F if q < 0 else F - K), 0.0))
    if price < intrinsic:
        raise BelowIntrinsicException()
    max_price = K if q < 0 else F
    if price >= max_price:
        raise AboveMaximumException()
    x = log(F / K)
    if q * x > 0:
        price = fabs(max(price - intrinsic, 0.0))
        q = -q
    return unchecked_normalised_implied_volatility(price / (sqrt(F) * sqrt(K)), x, q) / sqrt(T)


# ---------------------------------------------------------------------------------------------------------
# vollib's model wrappers (reference path): same arithmetic, numpy scalars where vollib uses numpy


def undiscounted_black(F: Any, K: Any, sigma: Any, t: Any, flag: Any) -> Any:
    q = BINARY_FLAG[flag]
    return lbr_black(float(F), float(K), float(sigma), float(t), q)


def black(flag: Any, F: Any, K: Any, t: Any, r: Any, sigma: Any) -> Any:
    with _errstate():
        deflater = numpy.exp(-r * t)
        return undiscounted_black(F, K, sigma, t, flag) * deflater


def black_scholes(flag: Any, S: Any, K: Any, t: Any, r: Any, sigma: Any) -> Any:
    with _errstate():
        deflater = numpy.exp(-r * t)
        F = S / deflater
        return undiscounted_black(F, K, sigma, t, flag) * deflater


def black_scholes_merton(flag: Any, S: Any, K: Any, t: Any, r: Any, sigma: Any, q: Any) -> Any:
    with _errstate():
        F = float(S * numpy.exp((r - q) * t))
        K = float(K)
        sigma = float(sigma)
        t = float(t)
        deflater = numpy.exp(-r * t)
        return lbr_black(F, K, sigma, t, BINARY_FLAG[flag]) * deflater


def black_implied_volatility(price: Any, F: Any, K: Any, r: Any, t: Any, flag: Any) -> Any:
    with _errstate():
        deflater = numpy.exp(-r * t)
        undiscounted_option_price = price / deflater
        return lbr_implied_volatility(undiscounted_option_price, F, K, t, BINARY_FLAG[flag])


def black_scholes_implied_volatility(price: Any, S: Any, K: Any, t: Any, r: Any, flag: Any) -> Any:
    with _errstate():
        deflater = numpy.exp(-r * t)
        undiscounted_option_price = price / deflater
        F = S / numpy.exp(-r * t)
        return lbr_implied_volatility(undiscounted_option_price, F, K, t, BINARY_FLAG[flag])


def black_scholes_merton_implied_volatility(
    price: Any, S: Any, K: Any, t: Any, r: Any, q: Any, flag: Any
) -> Any:
    with _errstate():
        deflater = numpy.exp(-r * t)
        undiscounted_option_price = price / deflater
        F = S * numpy.exp((r - q) * t)
        return lbr_implied_volatility(undiscounted_option_price, F, K, t, BINARY_FLAG[flag])


# ---------------------------------------------------------------------------------------------------------
# vollib's analytical Greeks (reference path): the closed-form formulas vollib evaluates, numpy semantics


def _pdf(x: Any) -> Any:
    return ONE_OVER_SQRT_TWO_PI * numpy.exp(-0.5 * x * x)


def black_d1(F: Any, K: Any, t: Any, r: Any, sigma: Any) -> Any:
    sigma_squared = sigma * sigma
    return (numpy.log(numpy.float64(F) / numpy.float64(K)) + sigma_squared * t / 2.0) / (
        sigma * numpy.sqrt(t)
    )


def bs_d1(S: Any, K: Any, t: Any, r: Any, sigma: Any) -> Any:
    sigma_squared = sigma * sigma
    return (numpy.log(numpy.float64(S) / numpy.float64(K)) + (r + sigma_squared / 2.0) * t) / (
        sigma * numpy.sqrt(t)
    )


def bsm_d1(S: Any, K: Any, t: Any, r: Any, sigma: Any, q: Any) -> Any:
    return (numpy.log(numpy.float64(S) / numpy.float64(K)) + ((r - q) + sigma * sigma / 2.0) * t) / (
        sigma * numpy.sqrt(t)
    )


def black_d2(F: Any, K: Any, t: Any, r: Any, sigma: Any) -> Any:
    with _errstate():
        return black_d1(F, K, t, r, sigma) - sigma * numpy.sqrt(t)


def bs_d2(S: Any, K: Any, t: Any, r: Any, sigma: Any) -> Any:
    with _errstate():
        return bs_d1(S, K, t, r, sigma) - sigma * numpy.sqrt(t)


def bsm_d2(S: Any, K: Any, t: Any, r: Any, sigma: Any, q: Any) -> Any:
    with _errstate():
        return bsm_d1(S, K, t, r, sigma, q) - sigma * numpy.sqrt(t)


def black_delta(flag: Any, F: Any, K: Any, t: Any, r: Any, sigma: Any) -> Any:
    with _errstate():
        D1 = black_d1(F, K, t, r, sigma)
        if flag == "p":
            return -numpy.exp(-r * t) * norm_cdf(-D1)
        return numpy.exp(-r * t) * norm_cdf(D1)


def black_theta(flag: Any, F: Any, K: Any, t: Any, r: Any, sigma: Any) -> Any:
    with _errstate():
        e_to_the_minus_rt = numpy.exp(-r * t)
        two_sqrt_t = 2 * numpy.sqrt(t)
        D1 = black_d1(F, K, t, r, sigma)
        D2 = D1 - sigma * numpy.sqrt(t)
        norm_cdf(D2)
        first_term = F * e_to_the_minus_rt * _pdf(D1) * sigma / two_sqrt_t
        if flag == "c":
            second_term = -r * F * e_to_the_minus_rt * norm_cdf(D1)
            third_term = r * K * e_to_the_minus_rt * norm_cdf(D2)
            return -(first_term + second_term + third_term) / 365.0
        second_term = -r * F * e_to_the_minus_rt * norm_cdf(-D1)
        third_term = r * K * e_to_the_minus_rt * norm_cdf(-D2)
        return (-first_term + second_term + third_term) / 365.0


def black_gamma(flag: Any, F: Any, K: Any, t: Any, r: Any, sigma: Any) -> Any:
    with _errstate():
        D1 = black_d1(F, K, t, r, sigma)
        return _pdf(D1) * numpy.exp(-r * t) / (F * sigma * numpy.sqrt(t))


def black_vega(flag: Any, F: Any, K: Any, t: Any, r: Any, sigma: Any) -> Any:
    with _errstate():
        D1 = black_d1(F, K, t, r, sigma)
        return F * numpy.exp(-r * t) * _pdf(D1) * numpy.sqrt(t) * 0.01


def bs_delta(flag: Any, S: Any, K: Any, t: Any, r: Any, sigma: Any) -> Any:
    with _errstate():
        d_1 = bs_d1(S, K, t, r, sigma)
        if flag == "p":
            return norm_cdf(d_1) - 1.0
        return norm_cdf(d_1)


def bs_theta(flag: Any, S: Any, K: Any, t: Any, r: Any, sigma: Any) -> Any:
    with _errstate():
        two_sqrt_t = 2 * numpy.sqrt(t)
        D1 = bs_d1(S, K, t, r, sigma)
        D2 = D1 - sigma * numpy.sqrt(t)
        first_term = (-S * _pdf(D1) * sigma) / two_sqrt_t
        if flag == "c":
            return (first_term - r * K * numpy.exp(-r * t) * norm_cdf(D2)) / 365.0
        if flag == "p":
            return (first_term + r * K * numpy.exp(-r * t) * norm_cdf(-D2)) / 365.0
        return None  # vollib 1.0.11 falls off the end of its theta for a flag other than 'c' / 'p'


def bs_gamma(flag: Any, S: Any, K: Any, t: Any, r: Any, sigma: Any) -> Any:
    with _errstate():
        d_1 = bs_d1(S, K, t, r, sigma)
        return _pdf(d_1) / (S * sigma * numpy.sqrt(t))


def bs_vega(flag: Any, S: Any, K: Any, t: Any, r: Any, sigma: Any) -> Any:
    with _errstate():
        d_1 = bs_d1(S, K, t, r, sigma)
        return S * _pdf(d_1) * numpy.sqrt(t) * 0.01


def bs_rho(flag: Any, S: Any, K: Any, t: Any, r: Any, sigma: Any) -> Any:
    with _errstate():
        d_2 = bs_d1(S, K, t, r, sigma) - sigma * numpy.sqrt(t)
        e_to_the_minus_rt = numpy.exp(-r * t)
        if flag == "c":
            return t * K * e_to_the_minus_rt * norm_cdf(d_2) * 0.01
        return -t * K * e_to_the_minus_rt * norm_cdf(-d_2) * 0.01


def bsm_delta(flag: Any, S: Any, K: Any, t: Any, r: Any, sigma: Any, q: Any) -> Any:
    with _errstate():
        D1 = bsm_d1(S, K, t, r, sigma, q)
        if flag == "p":
            return -numpy.exp(-q * t) * norm_cdf(-D1)
        return numpy.exp(-q * t) * norm_cdf(D1)


def bsm_theta(flag: Any, S: Any, K: Any, t: Any, r: Any, sigma: Any, q: Any) -> Any:
    with _errstate():
        D1 = bsm_d1(S, K, t, r, sigma, q)
        D2 = D1 - sigma * numpy.sqrt(t)
        first_term = (S * numpy.exp(-q * t) * _pdf(D1) * sigma) / (2 * numpy.sqrt(t))
        if flag == "c":
            second_term = -q * S * numpy.exp(-q * t) * norm_cdf(D1)
            third_term = r * K * numpy.exp(-r * t) * norm_cdf(D2)
            return -(first_term + second_term + third_term) / 365.0
        second_term = -q * S * numpy.exp(-q * t) * norm_cdf(-D1)
        third_term = r * K * numpy.exp(-r * t) * norm_cdf(-D2)
        return (-first_term + second_term + third_term) / 365.0


def bsm_gamma(flag: Any, S: Any, K: Any, t: Any, r: Any, sigma: Any, q: Any) -> Any:
    with _errstate():
        D1 = bsm_d1(S, K, t, r, sigma, q)
        return numpy.exp(-q * t) * _pdf(D1) / (S * sigma * numpy.sqrt(t))


def bsm_vega(flag: Any, S: Any, K: Any, t: Any, r: Any, sigma: Any, q: Any) -> Any:
    with _errstate():
        D1 = bsm_d1(S, K, t, r, sigma, q)
        return S * numpy.exp(-q * t) * _pdf(D1) * numpy.sqrt(t) * 0.01


def bsm_rho(flag: Any, S: Any, K: Any, t: Any, r: Any, sigma: Any, q: Any) -> Any:
    with _errstate():
        D2 = bsm_d1(S, K, t, r, sigma, q) - sigma * numpy.sqrt(t)
        if flag == "c":
            return t * K * numpy.exp(-r * t) * norm_cdf(D2) * 0.01
        return -t * K * numpy.exp(-r * t) * norm_cdf(-D2) * 0.01
