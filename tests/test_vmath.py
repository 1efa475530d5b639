"""The vector maths under the pricing kernels (cpp/src/simd/vmath.hpp), per SIMD target, against mpmath.

riskoffset._core.simd.vmath(target, name, x) evaluates the target's vector function on a vector of copies of x
and returns lane 0, without switching the active target.  References are computed once per module at 50
digits from the exact binary64 input (mp.mpf(float)), so the error we measure is the function's alone.

Units: "relative" is |got - ref| / |ref|; eps = 2^-52 = 2.22e-16, so 2 ulp of a normal result is at most
2 eps |ref| = 4.44e-16 |ref| (we write 4.5e-16).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from typing import Callable

import numpy as np
from mpmath import mp, mpf
from riskoffset import _core

DIGITS = 50
EPS = 2.0**-52
TWO_ULP = 4.5e-16  # relative; >= 2 * 2^-52, the most 2 ulp can be relative to a normal result
TINY = 2.0**-1074  # spacing of the subnormal doubles
SMALLEST_NORMAL = 2.0**-1022


def _vmath(target: str, name: str, xs: Sequence[float]) -> np.ndarray:
    return np.array([_core.simd.vmath(target, name, float(x)) for x in xs])


def _worst(
    xs: Sequence[float], got: np.ndarray, refs: Sequence[mpf], bound: Callable[[mpf], mpf]
) -> list[tuple]:
    """Rows where |got - ref| exceeds bound(ref), worst first (error measured in mpmath, not in float)."""
    bad = []
    with mp.workdps(DIGITS):
        for x, g, ref in zip(xs, got, refs):
            err = abs(mp.mpf(float(g)) - ref) if math.isfinite(g) else mp.inf
            b = bound(ref)
            if err > b:
                bad.append((float(err / b), float(x), float(g), float(ref), float(err)))
    return sorted(bad, reverse=True)


def _report(name: str, target: str, bad: list[tuple], unit: str) -> str:
    lines = [f"{name} on {target}: {len(bad)} point(s) outside the bound ({unit}); worst first:"]
    for ratio, x, g, ref, err in bad[:10]:
        lines.append(f"  x={x!r}: got {g!r}, ref {ref!r}, |err| {err:.3e} = {ratio:.2f} x bound")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------- exp


def _exp_points() -> np.ndarray:
    rng = np.random.default_rng(20261125)
    ln2 = math.log(2.0)
    n = np.arange(-1021, 1024)
    xs = np.concatenate(
        [
            rng.uniform(-708.39, 709.0, 3000),  # the normal-result range
            rng.uniform(-1.0, 1.0, 500),  # around 0 (n = 0 in the reduction)
            n * ln2,  # reduction lands on r ~ 0
            (n + 0.5) * ln2,  # reduction at |r| = ln2/2, the edge of the polynomial's interval
            np.nextafter((n + 0.5) * ln2, np.inf),
            [0.0, -0.0, 5e-324, -5e-324, 1e-300, -1e-300, 1e-17, -1e-17, 709.0, 709.78, -708.39],
        ]
    )
    normal = (xs > math.log(SMALLEST_NORMAL) + 1e-9) & (xs <= 709.78)
    return xs[normal]


@cache
def _exp_reference() -> tuple[np.ndarray, list[mpf]]:
    xs = _exp_points()
    with mp.workdps(DIGITS):
        return xs, [mp.exp(mp.mpf(float(x))) for x in xs]


def test_exp_normal_results_within_2_ulp(simd_target: str) -> None:
    xs, refs = _exp_reference()
    got = _vmath(simd_target, "exp", xs)
    bad = _worst(xs, got, refs, lambda ref: TWO_ULP * abs(ref))
    assert not bad, _report("exp", simd_target, bad, "relative 4.5e-16 = 2 ulp")


def test_exp_subnormal_results_within_2_ulp(simd_target: str) -> None:
    # Below exp(x) = 2^-1022 the result is subnormal and its ulp is the fixed spacing 2^-1074, so 2 ulp is
    # an absolute 2 * 2^-1074 there.  The kernels reach this range through exp(-d1^2/2) deep out of the
    # money, where the prices are far below the absolute error floor of the accuracy tests; we still want the right
    # subnormal (gradual underflow), not a flush to zero.
    rng = np.random.default_rng(7)
    xs = np.concatenate([rng.uniform(-745.0, math.log(SMALLEST_NORMAL), 500), [-745.0, -744.4, -708.4]])
    with mp.workdps(DIGITS):
        refs = [mp.exp(mp.mpf(float(x))) for x in xs]
    got = _vmath(simd_target, "exp", xs)
    bad = _worst(xs, got, refs, lambda ref: mp.mpf(2 * TINY))
    assert not bad, _report("exp (subnormal results)", simd_target, bad, "absolute 2 * 2^-1074 = 2 ulp")


# The documented edge behaviour (vmath.hpp: 0 below -746, +inf above ln(DBL_MAX), NaN propagates).
EXP_EDGES = [
    (-746.5, 0.0),
    (-1e4, 0.0),
    (-math.inf, 0.0),
    (0.0, 1.0),
    (-0.0, 1.0),
    # Found as a library bug (since fixed): vexp clamped x to 709.78 before evaluating, so every x above
    # ln(DBL_MAX) = 709.7827, including +inf, returned 1.7928e308 instead of overflowing to +inf.
    (709.79, math.inf),
    (1e4, math.inf),
    (math.inf, math.inf),
]


def test_exp_edges(simd_target: str) -> None:
    wrong = []
    for x, expected in EXP_EDGES:
        got = _core.simd.vmath(simd_target, "exp", x)
        if got != expected:
            wrong.append(f"exp({x!r}) = {got!r}, expected {expected!r}")
    assert math.isnan(_core.simd.vmath(simd_target, "exp", math.nan)), f"exp(NaN) on {simd_target} must be NaN"
    assert not wrong, f"on {simd_target}: " + "; ".join(wrong)


# ----------------------------------------------------------------------------------------------- log
#
# Bound: 2 ulp relative to the result, |err| <= 4.5e-16 |log x|, everywhere including next to x = 1.
# Why not a looser absolute floor near 1 (log x ~ x - 1 -> 0)?  The kernels take log only for
# x = ln(F/K), which enters d1 = x / (sigma sqrt t).  At 1 hour and 1% vol, sigma sqrt t = 1.07e-4, so an
# absolute error of 1e-16 in x moves d1 by 1e-12 and vanna (proportional to d2) by 1e-12 / |d2|
# relative: near the money that alone breaks the 1e-12 accuracy target.  Near 1 the argument
# reduction is exact (m - 1 is exact by Sterbenz), so relative accuracy is achievable and is what the
# kernels need; the combined bound is therefore max(2 ulp relative, 0) with log(1) required to be 0 exactly.


def _log_points() -> np.ndarray:
    rng = np.random.default_rng(11)
    # Uniform over the bit patterns of positive normal doubles: every binade equally.
    exponent = rng.integers(1, 2047, 3000).astype(np.uint64)
    mantissa = rng.integers(0, 2**52, 3000, dtype=np.uint64)
    anywhere = ((exponent << np.uint64(52)) | mantissa).view(np.float64)
    offsets = np.exp(rng.uniform(math.log(1e-16), math.log(0.4), 1500)) * rng.choice([-1.0, 1.0], 1500)
    k = np.arange(1, 40, dtype=np.float64)
    special = [
        1.0,
        np.nextafter(1.0, 2.0),
        np.nextafter(1.0, 0.0),
        math.sqrt(2.0),
        np.nextafter(math.sqrt(2.0), 0.0),
        np.nextafter(math.sqrt(2.0), 2.0),
        math.sqrt(0.5),
        SMALLEST_NORMAL,
        np.finfo(np.float64).max,
        math.e,
        0.5,
        2.0,
    ]
    return np.concatenate(
        [anywhere, 1.0 + offsets, 1.0 + k * EPS, 1.0 - k * EPS / 2, 2.0 ** np.arange(-1022, 1024.0), special]
    )


@cache
def _log_reference() -> tuple[np.ndarray, list[mpf]]:
    xs = _log_points()
    with mp.workdps(DIGITS):
        return xs, [mp.log(mp.mpf(float(x))) for x in xs]


def test_log_within_2_ulp(simd_target: str) -> None:
    xs, refs = _log_reference()
    got = _vmath(simd_target, "log", xs)
    bad = _worst(xs, got, refs, lambda ref: TWO_ULP * abs(ref))
    assert not bad, _report("log", simd_target, bad, "relative 4.5e-16 = 2 ulp of log x")


# --------------------------------------------------------------------------------------------- erfcx
#
# erfcx(x) = exp(x^2) erfc(x).  The pricing kernels use it for the normal tails N(-|z|) =
# exp(-z^2/2) * erfcx(|z|/sqrt 2) / 2, so its relative error passes straight into prices and Greeks.
# Bound: 4 ulp = 8.9e-16 relative on [0, 1e6] (the target is "a few ulps").  The degree-23 polynomial itself is
# 1.5e-16 off; evaluating its monomial form as four interleaved Horner chains (short dependency chains, the
# reason it is fast) adds up to ~1.8 eps of rounding near x = 0 where the terms alternate in sign: measured
# 3.3 ulp.  x*x is formed in mpmath: in float it would round.

ERFCX_RELATIVE = 8.9e-16


def _erfcx_points() -> np.ndarray:
    rng = np.random.default_rng(13)
    return np.concatenate(
        [
            rng.uniform(0.0, 30.0, 5000),  # |d| / sqrt 2 for every d the kernels meet before exp underflows
            np.exp(rng.uniform(math.log(1e-300), math.log(1e6), 1500)),
            np.exp(
                rng.uniform(math.log(1e-10), math.log(1e-2), 500)
            ),  # erfcx ~ 1 - 2x/sqrt(pi): the worst region
            np.linspace(2.5, 3.5, 101),  # y = (x - 3) / (x + 3) crosses 0
            [0.0, 5e-324, 1e-17, 0.5, 1.0, 3.0, 10.0, 26.5, 1e3, 1e5, 1e6],
        ]
    )


@cache
def _erfcx_reference() -> tuple[np.ndarray, list[mpf]]:
    xs = _erfcx_points()
    with mp.workdps(DIGITS):
        refs = []
        for x in xs:
            v = mp.mpf(float(x))
            refs.append(mp.exp(v * v) * mp.erfc(v))
        return xs, refs


def test_erfcx_relative_error(simd_target: str) -> None:
    xs, refs = _erfcx_reference()
    got = _vmath(simd_target, "erfcx", xs)
    bad = _worst(xs, got, refs, lambda ref: ERFCX_RELATIVE * abs(ref))
    assert not bad, _report("erfcx", simd_target, bad, "relative 8.9e-16 = 4 ulp")


def test_reference_precision_is_sufficient() -> None:
    # The oracle itself: 50 digits against 80 on the hardest points (large x, where erfc(x) is tiny and
    # exp(x^2) huge, and exp near the overflow), to 1e-30 relative.
    for name, f, x in [
        ("exp", mp.exp, 709.0),
        ("exp", mp.exp, -744.0),
        ("log", mp.log, float(np.nextafter(1.0, 2.0))),
        ("erfcx", lambda v: mp.exp(v * v) * mp.erfc(v), 1e6),
        ("erfcx", lambda v: mp.exp(v * v) * mp.erfc(v), 26.5),
    ]:
        with mp.workdps(DIGITS):
            lo = f(mp.mpf(x))
        with mp.workdps(80):
            hi = f(mp.mpf(x))
            assert abs(lo - hi) <= mp.mpf("1e-30") * abs(hi), (name, x, lo, hi)
