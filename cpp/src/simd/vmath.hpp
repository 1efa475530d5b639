// Branch-free vector exp, log, erfcx and the normal density/cdf pieces the pricing kernels need.
// Accuracy (checked against mpmath in tests/test_vmath.py): exp and log within 2 ulp on the domains
// used here, erfcx within 4e-16 relative for x >= 0.  Included inside the per-target namespace.
#pragma once

constexpr double kLn2Hi = 0x1.62e42fefa3800p-1;  // ln 2 split so that n * kLn2Hi is exact for |n| < 2^11
constexpr double kLn2Lo = 0x1.ef35793c76730p-45;
constexpr double kLog2e = 1.4426950408889634074;
constexpr double kSqrt2 = 1.41421356237309504880;
constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

// exp(x); 0 below -746, +inf above 709.78, NaN propagates.
inline vd vexp(vd x) {
  const double magic = 0x1.8p52;
  x = select(x < -746.0, splat(-746.0), x);
  x = select(x > 709.78, splat(709.78), x);
  const vd t = x * kLog2e + magic;  // round(x / ln 2) lands in the low mantissa bits of t
  const vd n = t - magic;
  const vd r = (x - n * kLn2Hi) - n * kLn2Lo;  // |r| <= ln2 / 2
  // Taylor series to r^13: truncation below 4e-18 relative on |r| <= 0.347.
  vd p = splat(1.0 / 6227020800.0);
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  const vi k = as_int(t) - as_int(splat(magic));
  // 2^k as two factors so that results down to the subnormal range are formed without overflow of the
  // biased exponent.
  const vi k1 = k >> 1;
  const vi k2 = k - k1;
  const vd s1 = as_double((k1 + 1023) << 52);
  const vd s2 = as_double((k2 + 1023) << 52);
  return p * s1 * s2;
}

// Natural log for positive normal x (the callers pass ratios of validated prices).
inline vd vlog(vd x) {
  const vi bits = as_int(x);
  vi e = ((bits >> 52) & splati(0x7ff)) - 1023;
  vd m = as_double((bits & splati(0x000fffffffffffffLL)) | splati(0x3ff0000000000000LL));  // [1, 2)
  const vi big = m > kSqrt2;
  m = select(big, m * 0.5, m);
  e = e - big;  // big is -1 where true
  const vd f = (m - 1.0) / (m + 1.0);  // |f| <= 0.1716; log m = 2 atanh f
  const vd f2 = f * f;
  vd p = splat(1.0 / 23.0);
  p = p * f2 + 1.0 / 21.0;
  p = p * f2 + 1.0 / 19.0;
  p = p * f2 + 1.0 / 17.0;
  p = p * f2 + 1.0 / 15.0;
  p = p * f2 + 1.0 / 13.0;
  p = p * f2 + 1.0 / 11.0;
  p = p * f2 + 1.0 / 9.0;
  p = p * f2 + 1.0 / 7.0;
  p = p * f2 + 1.0 / 5.0;
  p = p * f2 + 1.0 / 3.0;
  const vd ed = small_int_to_double(e);
  const vd two_f = f + f;
  return ed * kLn2Hi + (two_f + (two_f * f2 * p + ed * kLn2Lo));
}

// ln(a / b) for positive a, b, correcting the rounding of the quotient: ln(q) + (a - q b) / a.
inline vd vlog_ratio(vd a, vd b) {
  const vd q = a / b;
  const vd residual = a - q * b;  // exact with FMA; tiny and harmless without
  return vlog(q) + residual / a;
}

// erfcx(x) = exp(x^2) erfc(x) for x >= 0.  erfcx = g(y) / (1 + 2x), y = (x - 3) / (x + 3), with g a
// degree-23 Chebyshev interpolant (coefficients from tools/gen_erfcx_coefficients.py, 1.1e-16 relative).
inline vd verfcx(vd x) {
  static constexpr double c[24] = {
    1.17756257419656,
    0.005353904539615676,
    -0.09377550342284209,
    0.05436652555744322,
    -0.018976596707845208,
    0.004453426061462712,
    -0.0006335531710553147,
    1.7661719523171593e-05,
    1.2841532864056671e-05,
    -2.0072285659059913e-06,
    -1.807522790414837e-07,
    7.549828343825093e-08,
    1.8856685238386075e-09,
    -2.6995190497983606e-09,
    -1.4600791199452298e-11,
    1.0361607445947687e-10,
    1.4757159770209444e-12,
    -4.27734005980787e-12,
    -2.0792248770657395e-13,
    1.8134495557053007e-13,
    1.9734011425331616e-14,
    -7.287389049120074e-15,
    -1.5113792608039483e-15,
    2.3719837540476787e-16
  };
  x = vmin(x, splat(1e150));  // beyond, erfcx only ever multiplies an exp(-x^2) that is already 0
  const vd a = x + 3.0;
  const vd b = 1.0 + (x + x);
  const vd inv = 1.0 / (a * b);  // one division serves y and 1 / (1 + 2x)
  const vd y = (x - 3.0) * b * inv;
  const vd y2 = y + y;
  vd b1 = splat(0.0), b2 = splat(0.0);
  for (int k = 23; k >= 1; --k) {
    const vd t = y2 * b1 - b2 + c[k];
    b2 = b1;
    b1 = t;
  }
  const vd g = y * b1 - b2 + c[0];
  return g * (a * inv);
}

// Normal cdf pieces without cancellation: for z <= 0, N(z) = 0.5 exp(-z^2/2) erfcx(-z/sqrt2);
// half_tail(z) returns 0.5 erfcx(|z|/sqrt2), so that the tail N(-|z|) = exp(-z^2/2) * half_tail(z).
inline vd half_tail(vd z) { return 0.5 * verfcx(vabs(z) * kInvSqrt2); }
