"""Generate the Chebyshev coefficients of the erfcx approximation used by cpp/src/simd/vmath.hpp.

erfcx(x) = exp(x^2) erfc(x) for x >= 0 is written as g(y) / (1 + 2x) with y = (x - 3) / (x + 3),
which maps [0, inf) onto [-1, 1); g is smooth there (g -> 2/sqrt(pi) as x -> inf).  g is interpolated at
Chebyshev nodes with mpmath at 60 digits and converted, still at 60 digits, to monomial coefficients in y:
they stay small (sum of |a_j| about 2 at degree 25, the degree used), so the monomial form is well conditioned and C++ can
evaluate it with short dependency chains (even/odd split) instead of Clenshaw's serial recurrence.
Run: python tools/gen_erfcx_coefficients.py [degree]
"""

import sys

import mpmath as mp

mp.mp.dps = 60


def g(y):
    if y >= 1:
        return 2 / mp.sqrt(mp.pi)
    x = 3 * (1 + y) / (1 - y)
    return (1 + 2 * x) * mp.erfc(x) * mp.exp(x * x)


def chebyshev_coefficients(n):
    nodes = [mp.cos(mp.pi * (k + mp.mpf(1) / 2) / n) for k in range(n)]
    values = [g(y) for y in nodes]
    coeffs = []
    for j in range(n):
        s = mp.fsum(values[k] * mp.cos(mp.pi * j * (k + mp.mpf(1) / 2) / n) for k in range(n))
        coeffs.append(2 * s / n)
    coeffs[0] /= 2
    return coeffs


def monomial(coeffs):
    """Chebyshev series -> power series in y, exactly (T_{k+1} = 2y T_k - T_{k-1})."""
    n = len(coeffs)
    result = [mp.mpf(0)] * n
    t_prev, t_cur = [mp.mpf(1)] + [mp.mpf(0)] * (n - 1), [mp.mpf(0), mp.mpf(1)] + [mp.mpf(0)] * (n - 2)
    for k, c in enumerate(coeffs):
        t_k = t_prev if k == 0 else t_cur
        if k >= 2:
            t_next = [2 * (t_cur[j - 1] if j else 0) - t_prev[j] for j in range(n)]
            t_prev, t_cur = t_cur, t_next
            t_k = t_cur
        result = [r + c * t for r, t in zip(result, t_k)]
    return result


def horner(coeffs, y):
    acc = mp.mpf(0)
    for c in reversed(coeffs):
        acc = acc * y + c
    return acc


if __name__ == "__main__":
    degree = int(sys.argv[1]) if len(sys.argv) > 1 else 25
    coeffs = monomial(chebyshev_coefficients(degree + 1))
    coeffs_d = [float(c) for c in coeffs]
    worst = 0.0
    for i in range(1, 4000):
        x = mp.mpf(i) / 100 if i < 2000 else mp.mpf(10) ** (mp.mpf(i - 2000) / 400)
        y = (x - 3) / (x + 3)
        approx = horner([mp.mpf(c) for c in coeffs_d], y) / (1 + 2 * x)
        exact = mp.erfc(x) * mp.exp(x * x)
        worst = max(worst, float(abs(approx / exact - 1)))
    print(f"// degree {degree}, max relative error with double coefficients {worst:.2e}")
    for c in coeffs_d:
        print(f"    {c!r},")
