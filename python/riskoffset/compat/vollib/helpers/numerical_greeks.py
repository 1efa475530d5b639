"""vollib.helpers.numerical_greeks: the generic finite-difference Greeks vollib defines, for any pricing
function ``pricing_function(flag, S, K, t, r, sigma, b)`` (b is the cost of carry: r for Black-Scholes,
r - q for Black-Scholes-Merton, 0 for Black-76).

These are definitions users rely on, reproduced exactly (same bumps, same edge cases):

* delta: central difference with a relative bump dS = 1 %: (f(S(1+dS)) - f(S(1-dS))) / (2 S dS);
* gamma: second central difference with the same bump, divided by (S dS)^2;
* theta: one-day forward difference f(t - 1/365) - f(t) (f(0.00001) - f(t) when t <= 1/365);
* vega: (f(sigma + 0.01) - f(sigma - 0.01)) / 2, i.e. per vol point;
* rho: (f(r + 0.01, b + 0.01) - f(r - 0.01, b - 0.01)) / 2, i.e. per rate point with q held.
"""

from __future__ import annotations

from typing import Any, Callable

PricingFunction = Callable[..., Any]

dS = 0.01


def delta(
    flag: str,
    S: float,
    K: float,
    t: float,
    r: float,
    sigma: float,
    b: float,
    pricing_function: PricingFunction,
) -> Any:
    """Central-difference delta with a relative bump of dS = 1 % of S."""
    if S == 0 and K == 0:
        raise ZeroDivisionError("delta undefined for S=0, K=0")
    if S == 0:
        return 0.0 if flag == "c" else -1.0
    if t == 0.0:
        if S == K:
            return {"c": 0.5, "p": -0.5}[flag]
        elif S > K:
            return {"c": 1.0, "p": 0.0}[flag]
        else:
            return {"c": 0.0, "p": -1.0}[flag]
    return (
        pricing_function(flag, S * (1 + dS), K, t, r, sigma, b)
        - pricing_function(flag, S * (1 - dS), K, t, r, sigma, b)
    ) / (2 * S * dS)


def theta(
    flag: str,
    S: float,
    K: float,
    t: float,
    r: float,
    sigma: float,
    b: float,
    pricing_function: PricingFunction,
) -> Any:
    """One-day forward difference: price one calendar day later minus price now."""
    if t <= 1.0 / 365.0:
        return pricing_function(flag, S, K, 0.00001, r, sigma, b) - pricing_function(
            flag, S, K, t, r, sigma, b
        )
    return pricing_function(flag, S, K, t - 1.0 / 365.0, r, sigma, b) - pricing_function(
        flag, S, K, t, r, sigma, b
    )


def vega(
    flag: str,
    S: float,
    K: float,
    t: float,
    r: float,
    sigma: float,
    b: float,
    pricing_function: PricingFunction,
) -> Any:
    """Central difference in sigma with bumps of +/- 0.01, halved: change per vol point."""
    return (
        pricing_function(flag, S, K, t, r, sigma + 0.01, b)
        - pricing_function(flag, S, K, t, r, sigma - 0.01, b)
    ) / 2.0


def rho(
    flag: str,
    S: float,
    K: float,
    t: float,
    r: float,
    sigma: float,
    b: float,
    pricing_function: PricingFunction,
) -> Any:
    """Central difference in r (and b) with bumps of +/- 0.01, halved: change per rate point."""
    return (
        pricing_function(flag, S, K, t, r + 0.01, sigma, b + 0.01)
        - pricing_function(flag, S, K, t, r - 0.01, sigma, b - 0.01)
    ) / 2.0


def gamma(
    flag: str,
    S: float,
    K: float,
    t: float,
    r: float,
    sigma: float,
    b: float,
    pricing_function: PricingFunction,
) -> Any:
    """Second central difference with a relative bump of dS = 1 % of S."""
    if S == 0 and K == 0:
        raise ZeroDivisionError("gamma undefined for S=0, K=0")
    if S == 0:
        return 0.0
    if t == 0:
        return float("inf") if S == K else 0.0
    return (
        pricing_function(flag, S * (1 + dS), K, t, r, sigma, b)
        - 2.0 * pricing_function(flag, S, K, t, r, sigma, b)
        + pricing_function(flag, S * (1 - dS), K, t, r, sigma, b)
    ) / (S * dS) ** 2.0


__all__ = ["dS", "delta", "gamma", "rho", "theta", "vega"]
