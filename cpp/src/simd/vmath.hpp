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

// Polynomial c[0] + c[1] y + ... + c[N-1] y^(N-1) as kChains interleaved Horner chains in y^kChains: the
// chains are independent, so latency is about N / kChains FMAs.  Measured (1M options, price + 5 Greeks):
// two chains are fastest on the wide targets (AVX-512 10.3 ns against 11.4 with four and one chain; AVX2
// 15.4 against 17.0 and 20.4), four on the SSE2 baseline (33.4 against 35.8 and 53.5).
constexpr int kChains = W >= 4 ? 2 : 4;

template <int N>
inline vd polynomial(vd y, const double (&c)[N]) {
  vd yk = y;  // y^kChains
  for (int k = 1; k < kChains; k *= 2) yk = yk * yk;
  vd p[kChains];
  for (int j = 0; j < kChains; ++j) {
    int k = j + ((N - 1 - j) / kChains) * kChains;
    p[j] = splat(k < N ? c[k] : 0.0);
    for (k -= kChains; k >= 0; k -= kChains) p[j] = p[j] * yk + c[k];
  }
  // p[0] + y p[1] + y^2 p[2] + y^3 p[3] (kChains = 4) or p[0] + y p[1] (kChains = 2).
  vd result = p[kChains - 1];
  for (int j = kChains - 2; j >= 0; --j) result = result * y + p[j];
  return result;
}

// exp(x); 0 below -746, +inf above 709.79, NaN propagates.
inline vd vexp(vd x) {
  const double magic = 0x1.8p52;
  // Clamped as c > x ? c : x and c < x ? c : x, the operand order of the max / min instructions that keeps a
  // NaN x (one instruction each where a compare and a blend would be two).
  x = vmax(splat(-746.0), x);
  x = vmin(splat(710.0), x);  // 2^1024 overflows to +inf below
  const vd t = x * kLog2e + magic;  // round(x / ln 2) lands in the low mantissa bits of t
  const vd n = t - magic;
  const vd r = (x - n * kLn2Hi) - n * kLn2Lo;  // |r| <= ln2 / 2
  // Degree 11 Chebyshev interpolant of e^r on |r| <= ln2 / 2 (mpmath chebyfit, coefficients rounded to
  // double): 1.7e-17 relative (the Taylor series needs degree 13 for the same).
  static constexpr double series[12] = {1.0,
                                        1.0,
                                        0.5000000000000019,
                                        0.1666666666666668,
                                        0.0416666666664881,
                                        0.008333333333319601,
                                        0.0013888888952314775,
                                        0.00019841269890047113,
                                        2.4801485482328494e-05,
                                        2.755724091857897e-06,
                                        2.763263963904103e-07,
                                        2.5110037605963777e-08};
  const vd p = polynomial(r, series);
#if defined(__AVX512F__) && RO_WIDTH == 8
  // p 2^n in one instruction, subnormal results and overflow included.
  return __builtin_ia32_scalefpd512_mask(p, n, p, static_cast<char>(-1), 4 /* current rounding */);
#else
  const vi k = as_int(t) - as_int(splat(magic));
  // 2^k as two factors so that results down to the subnormal range are formed without overflow of the
  // biased exponent.
  const vi k1 = k >> 1;
  const vi k2 = k - k1;
  const vd s1 = as_double((k1 + 1023) << 52);
  const vd s2 = as_double((k2 + 1023) << 52);
  return p * s1 * s2;
#endif
}

// Natural log for positive finite x, subnormals included (scaled by 2^54 first).
inline vd vlog(vd x) {
#if defined(__AVX512F__) && RO_WIDTH == 8
  // x = m 2^e with m in [0.75, 1.5) from the exponent and mantissa instructions (subnormals included):
  // getmant's interval [0.75, 1.5) halves mantissas >= 1.5, whose exponent is then one more than getexp's.
  const vd m = __builtin_ia32_getmantpd512_mask(x, 3, x, static_cast<char>(-1), 4);
  const vd ed =
      __builtin_ia32_getexppd512_mask(x, x, static_cast<char>(-1), 4) + select(m < 1.0, splat(1.0), splat(0.0));
  const vd f = (m - 1.0) / (m + 1.0);  // |f| <= 0.2; log m = 2 atanh f
  const vd f2 = f * f;
  // atanh series 1 + f2/3 + ... + f2^10/21: the first term left out, f2^11/23, is below 2e-17 for f2 <= 0.04.
  static constexpr double atanh_series[10] = {1.0 / 3.0,  1.0 / 5.0,  1.0 / 7.0,  1.0 / 9.0,  1.0 / 11.0,
                                              1.0 / 13.0, 1.0 / 15.0, 1.0 / 17.0, 1.0 / 19.0, 1.0 / 21.0};
#else
  const vi subnormal = x < 0x1p-1022;
  x = select(subnormal, x * 0x1p54, x);
  const vi bits = as_int(x);
  vi e = ((bits >> 52) & splati(0x7ff)) - 1023 - (subnormal & splati(54));
  vd m = as_double((bits & splati(0x000fffffffffffffLL)) | splati(0x3ff0000000000000LL));  // [1, 2)
  const vi big = m > kSqrt2;
  m = select(big, m * 0.5, m);
  e = e - big;  // big is -1 where true
  const vd f = (m - 1.0) / (m + 1.0);  // |f| <= 0.1716; log m = 2 atanh f
  const vd f2 = f * f;
  const vd ed = small_int_to_double(e);
  // atanh series 1 + f2/3 + f2^2/5 + ... + f2^9/19: the first term left out, f2^10/21, is below 3e-17 for
  // f2 <= 0.0295.
  static constexpr double atanh_series[9] = {1.0 / 3.0,  1.0 / 5.0,  1.0 / 7.0,  1.0 / 9.0, 1.0 / 11.0,
                                             1.0 / 13.0, 1.0 / 15.0, 1.0 / 17.0, 1.0 / 19.0};
#endif
  const vd p = polynomial(f2, atanh_series);
  const vd two_f = f + f;
  return ed * kLn2Hi + (two_f + (two_f * f2 * p + ed * kLn2Lo));
}

// a - q b without rounding the product: a fused multiply-add where the target has one, else Dekker's
// exact product (Veltkamp splitting).  Near the money ln(a/b) is tiny and this residual carries its digits.
inline vd residual_of_product(vd a, vd q, vd b) {
#if RO_FMA
  vd r;
  for (int i = 0; i < W; ++i) r[i] = __builtin_fma(-q[i], b[i], a[i]);  // vectorises to vfnmadd
  return r;
#else
  const double split = 134217729.0;  // 2^27 + 1
  const vd cq = split * q, cb = split * b;
  const vd qh = cq - (cq - q), ql = q - qh;
  const vd bh = cb - (cb - b), bl = b - bh;
  const vd p = q * b;
  const vd e = ((qh * bh - p) + qh * bl + ql * bh) + ql * bl;  // q b = p + e exactly
  return (a - p) - e;                                           // a - p is exact (Sterbenz)
#endif
}

// ln(a / b) for positive a, b given 1/a, correcting the rounding of the quotient: ln(q) + (a - q b) / a.
inline vd vlog_ratio(vd a, vd b, vd inv_a) {
  const vd q = a * vrecip(b);  // any rounding of the quotient is corrected below
  return vlog(q) + residual_of_product(a, q, b) * inv_a;
}

// erfcx(x) = exp(x^2) erfc(x) for x >= 0 is g(y) / (1 + 2x) with y = (x - 3) / (x + 3) and g a degree-25
// polynomial (coefficients from `python tools/gen_erfcx_coefficients.py 25`: Chebyshev interpolant converted
// to the monomial basis, 3.9e-17 relative with the coefficients rounded to double).  Degree 25 rather than
// the 23 that already gives 1.5e-16 for erfcx itself: the time value uses differences erfcx(a) -
// erfcx(a + delta) (the erfcx pair below), i.e. the derivative of the approximation, whose error near y = -1 (at the
// money) is ~n^2 times larger; at degree 23 that was 3e-14 relative and implied vols at the money missed
// their 10 (cond + 1) eps bound, at 25 they stay within 0.6 of it (27 gave 0.8: rounding dominates).
constexpr double kErfcxPoly[26] = {
    1.2530080582697296,
    -0.1356211061245812,
    -0.04756229435344912,
    0.12964515870276316,
    -0.11927366341538978,
    0.06830802734389313,
    -0.023770514917107986,
    0.0025293918173706497,
    0.0018886903443894542,
    -0.0007798322831260387,
    -0.00010515971612176149,
    0.00012509940933306624,
    4.949184182276066e-06,
    -2.010075903780886e-05,
    -7.307985940695724e-07,
    3.4728430145951554e-06,
    3.5571413343395913e-07,
    -6.172971639709339e-07,
    -1.4042772727671948e-07,
    1.0252159854733823e-07,
    4.1031674722876435e-08,
    -1.3744637271614611e-08,
    -8.205287217548862e-09,
    1.1435382719942424e-09,
    8.373239801913565e-10,
    -2.5208846559132343e-11,
};
constexpr double kErfcxClamp = 1e30;  // beyond, erfcx only multiplies an exp(-x^2) that is already 0

// The two factors whose product the division needs: (x + 3) and (1 + 2x).
inline void erfcx_denominators(vd x, vd& a, vd& b) {
  x = vmin(x, splat(kErfcxClamp));
  a = x + 3.0;
  b = 1.0 + (x + x);
}
// erfcx from x, its factors and inv = 1 / (a b).
inline vd erfcx_finish(vd x, vd a, vd b, vd inv) {
  x = vmin(x, splat(kErfcxClamp));
  const vd y = (x - 3.0) * b * inv;
  return polynomial(y, kErfcxPoly) * (a * inv);
}
inline vd verfcx(vd x) {
  vd a, b;
  erfcx_denominators(x, a, b);
  return erfcx_finish(x, a, b, 1.0 / (a * b));
}

// Normal tails without cancellation: N(-|z|) = exp(-z^2/2) * half_tail(z), half_tail(z) = 0.5 erfcx(|z|/sqrt2).
inline vd half_tail(vd z) { return 0.5 * verfcx(vabs(z) * kInvSqrt2); }
// erfcx at a and b (both >= 0) and erfcx(a) - erfcx(b) without cancellation, for one division.
// dab = a - b, passed in because callers know it exactly where it matters (b = a + delta with delta
// = s / sqrt 2 tiny: the two values then agree to many digits and their rounded difference is noise).
// With z = (x - 3) / (x + 3) and erfcx(x) = g(z) / (1 + 2x), g(z_a) - g(z_b) = (z_a - z_b) Q where Q is the
// divided difference of the polynomial g, built alongside its Horner evaluation at z_b
// (Q_k = z_a Q_{k+1} + P_{k+1}); z_a - z_b = 6 (a - b) / ((a + 3)(b + 3)).  Then
//   erfcx(a) - erfcx(b) = [(z_a - z_b) Q (1 + 2b) - 2 (a - b) g(z_b)] / ((1 + 2a)(1 + 2b)),
// two terms of the same sign, so the difference is as accurate as erfcx itself, whatever b - a.
// In two steps, erfcx_pair_start (the division and the polynomial arguments) then erfcx_pair_finish (the
// polynomial), so a caller with many independent pairs can overlap one pair's division with another's
// polynomial.
struct ErfcxPairStart {
  vd qa, qb, papb_inv, za, zb, dz, dab, u, v;  // u = za^2, v = zb^2
};
inline ErfcxPairStart erfcx_pair_start(vd a, vd b, vd dab) {
  ErfcxPairStart p;
  a = vmin(a, splat(kErfcxClamp));
  b = vmin(b, splat(kErfcxClamp));
  const vd pa = a + 3.0, pb = b + 3.0;
  p.qa = 1.0 + (a + a), p.qb = 1.0 + (b + b);
  const vd papb = pa * pb, qaqb = p.qa * p.qb;
  const vd inv = 1.0 / (papb * qaqb);
  const vd qaqb_inv = qaqb * inv;  // 1 / ((a+3)(b+3))
  p.papb_inv = papb * inv;         // 1 / ((1+2a)(1+2b))
  p.za = (a - 3.0) * pb * qaqb_inv;
  p.zb = (b - 3.0) * pa * qaqb_inv;
  p.dz = 6.0 * dab * qaqb_inv;
  p.dab = dab;
  p.u = p.za * p.za, p.v = p.zb * p.zb;
  return p;
}
inline void erfcx_pair_finish(const ErfcxPairStart& p, vd& fa, vd& fb, vd& diff) {
  const vd za = p.za, zb = p.zb, dz = p.dz, u = p.u, v = p.v;
  // g(z) = A(z^2) + z B(z^2) (even and odd coefficients): four independent chains of half the length
  // (A and B at v = zb^2, and their divided differences between u = za^2 and v), then
  //   g(za) - g(zb) = (za - zb) [(za + zb) A[u,v] + B(u) + zb (za + zb) B[u,v]],  B(u) = B(v) + (u - v) B[u,v].
  constexpr int n = sizeof kErfcxPoly / sizeof kErfcxPoly[0];
  static_assert(n % 2 == 0, "even and odd halves of equal length");
  vd pa_ = splat(kErfcxPoly[n - 2]), pb_ = splat(kErfcxPoly[n - 1]), qa_ = splat(0.0), qb_ = splat(0.0);
  for (int k = n / 2 - 2; k >= 0; --k) {
    qa_ = u * qa_ + pa_;
    qb_ = u * qb_ + pb_;
    pa_ = v * pa_ + kErfcxPoly[2 * k];
    pb_ = v * pb_ + kErfcxPoly[2 * k + 1];
  }
  const vd zsum = za + zb;
  const vd b_at_u = pb_ + dz * zsum * qb_;
  const vd g_b = pa_ + zb * pb_;
  const vd q = zsum * qa_ + b_at_u + zb * zsum * qb_;  // (g(za) - g(zb)) / (za - zb)
  const vd ga = g_b + dz * q;
  fa = ga * p.qb * p.papb_inv;
  fb = g_b * p.qa * p.papb_inv;
  diff = (dz * q * p.qb - 2.0 * p.dab * g_b) * p.papb_inv;
}

// erf(u) for 0 <= u <= 0.18 (|u| s/sqrt 2 with s < 0.25): odd Taylor series to u^17, truncation below
// 2e-18 relative.
inline vd erf_small(vd u) {
  static constexpr double series[9] = {
      1.1283791670955126,      -0.37612638903183754,   0.11283791670955126,
      -0.026866170645131252,   0.0052239776254421878,  -0.00085483270234508528,
      0.00012055332981789664,  -1.4925650358406251e-05, 1.6462114365889247e-06};
  return u * polynomial(u * u, series);
}

// exp(x) - 1 to a few ulp of itself (no cancellation near 0), for |x| < 700.
inline vd vexpm1(vd x) {
  const double magic = 0x1.8p52;
  const vd t = x * kLog2e + magic;
  const vd n = t - magic;
  const vd r = (x - n * kLn2Hi) - n * kLn2Lo;
  static constexpr double taylor[13] = {1.0,
                                        1.0 / 2.0,
                                        1.0 / 6.0,
                                        1.0 / 24.0,
                                        1.0 / 120.0,
                                        1.0 / 720.0,
                                        1.0 / 5040.0,
                                        1.0 / 40320.0,
                                        1.0 / 362880.0,
                                        1.0 / 3628800.0,
                                        1.0 / 39916800.0,
                                        1.0 / 479001600.0,
                                        1.0 / 6227020800.0};
  const vd pm1 = r * polynomial(r, taylor);  // e^r - 1
  const vi k = as_int(t) - as_int(splat(magic));
  const vi k1 = k >> 1;
  const vd scale = as_double((k1 + 1023) << 52) * as_double((k - k1 + 1023) << 52);
  // k = 0: e^x - 1 = pm1 exactly as computed; otherwise |e^x - 1| > 0.29 and the subtraction is harmless.
  return select(k == 0, pm1, (scale - 1.0) + scale * pm1);
}
