"""Generate the Chebyshev coefficients of the erfcx approximation used by cpp/src/simd/vmath.hpp.

erfcx(x) = exp(x^2) erfc(x) for x >= 0 is written as g(y) / (1 + 2x) with y = (x - 3) / (x + 3),
which maps [0, inf) onto [-1, 1); g is smooth there (g -> 2/sqrt(pi) as x -> inf).  g is interpolated at
Chebyshev nodes with mpmath at 60 digits and evaluated in C++ by Clenshaw's recurrence (the monomial form
of a degree-27 fit is badly conditioned).  Run: python tools/gen_erfcx_coefficients.py [degree]
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


def clenshaw(coeffs, y):
    b1 = b2 = mp.mpf(0)
    for c in reversed(coeffs[1:]):
        b1, b2 = 2 * y * b1 - b2 + c, b1
    return y * b1 - b2 + coeffs[0]


if __name__ == "__main__":
    degree = int(sys.argv[1]) if len(sys.argv) > 1 else 27
    coeffs = chebyshev_coefficients(degree + 1)
    coeffs_d = [float(c) for c in coeffs]
    worst = 0.0
    for i in range(1, 4000):
        x = mp.mpf(i) / 100 if i < 2000 else mp.mpf(10) ** (mp.mpf(i - 2000) / 400)
        y = (x - 3) / (x + 3)
        approx = clenshaw([mp.mpf(c) for c in coeffs_d], y) / (1 + 2 * x)
        exact = mp.erfc(x) * mp.exp(x * x)
        worst = max(worst, float(abs(approx / exact - 1)))
    print(f"// degree {degree}, max relative error with double coefficients {worst:.2e}")
    for c in coeffs_d:
        print(f"    {c!r},")
