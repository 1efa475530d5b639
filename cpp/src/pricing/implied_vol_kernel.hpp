// Implied volatility for W options at a time.  Included inside the per-target namespace.
//
// Method (after Jaeckel, "By Implication", Wilmott 2006, and "Let's Be Rational", 2015):
//  1. undiscount and convert to the USD price of a Black-76 option on the forward F;
//  2. check the no-arbitrage bounds: intrinsic on the forward <= price < F (call) or K (put);
//  3. move to the out-of-the-money twin by put-call parity and normalise: b = price / sqrt(F K) as a call
//     with x = -|ln(F/K)| <= 0, so c(x, s) = e^{x/2} N(x/s + s/2) - e^{-x/2} N(x/s - s/2), s = sigma sqrt(t);
//  4. initial guess from the two asymptotic branches around the inflection point s_c = sqrt(2|x|)
//     (Jaeckel 2006);
//  5. Householder steps of third order on ln c - ln b (low branch) or c - b (high branch) until a step
//     is below 1e-5 relative (the error left after it is then O(1e-20)), or 1e-8 after a plain Newton
//     step (the fallback where the Householder factor is unusable).
#pragma once

// Acklam's rational approximation of the inverse normal cdf for p in (0, 0.5] (relative error 1.2e-9,
// checked against scipy.special.ndtri in tests/test_implied_vol.py's guess test): only the initial guess
// needs it, the Householder steps then polish.  Both branches are computed and selected (branch-free).
inline vd inverse_normal_lower(vd p) {
  const vd q = p - 0.5, r = q * q;
  const vd num = ((((-3.969683028665376e+01 * r + 2.209460984245205e+02) * r - 2.759285104469687e+02) * r +
                   1.383577518672690e+02) * r - 3.066479806614716e+01) * r + 2.506628277459239e+00;
  const vd den = ((((-5.447609879822406e+01 * r + 1.615858368580409e+02) * r - 1.556989798598866e+02) * r +
                   6.680131188771972e+01) * r - 1.328068155288572e+01) * r + 1.0;
  const vd t = vsqrt(-2.0 * vlog(vmax(p, splat(1e-300))));
  const vd tail_num = ((((-7.784894002430293e-03 * t - 3.223964580411365e-01) * t - 2.400758277161838e+00) * t -
                        2.549732539343734e+00) * t + 4.374664141464968e+00) * t + 2.938163982698783e+00;
  const vd tail_den = (((7.784695709041462e-03 * t + 3.224671290700398e-01) * t + 2.445134137142996e+00) * t +
                       3.754408661907416e+00) * t + 1.0;
  const vi in_tail = p < 0.02425;
  // One division for both branches.
  const vd n = select(in_tail, tail_num, num * q);
  const vd d = select(in_tail, tail_den, den);
  return n / d;
}

// Normalised OTM call value c(x, s) for x <= 0 and its vega dc/ds.
inline void normalised_call(vd x, vd s, vd e_half, vd e_minus_half, vd& c, vd& vega, vd& d1) {
  // F = e^{x/2}, K = e^{-x/2}: F - K = K (e^x - 1).  x <= 0, so the value is the time value.
  const BlackTerms bt = black_core(splat(1.0), e_half, e_minus_half, e_minus_half * vexpm1(x), s, 1.0 / s, x);
  c = bt.tv;
  d1 = bt.d1;
  vega = e_half * bt.phi;
}

inline void implied_vol_kernel(const ImpliedVolInputs& in, double* sigma_out, std::int8_t* status_out,
                               std::size_t begin, std::size_t end) {
  const bool bsm = in.model == Model::bsm;
  const bool inverse = in.settlement == Settlement::inverse;
  const double inf = __builtin_inf();
  double result[W];
  for (std::size_t i0 = begin; i0 < end; i0 += W) {
    const bool full = i0 + W <= end;
    vd P, theta, U, K, t, r, q;
    if (full) {
      P = load_column(in.price, i0);
      theta = load_flag(in.flag, i0);
      U = load_column(in.underlying, i0);
      K = load_column(in.strike, i0);
      t = load_column(in.t, i0);
      r = load_column(in.r, i0);
      q = load_column(in.q, i0);
    } else {
      P = load_tail(in.price, i0, end, 0.1), theta = load_flag_tail(in.flag, i0, end);
      U = load_tail(in.underlying, i0, end, 1.0), K = load_tail(in.strike, i0, end, 1.0);
      t = load_tail(in.t, i0, end, 1.0), r = load_tail(in.r, i0, end, 0.0), q = load_tail(in.q, i0, end, 0.0);
    }
    const vi valid = (U >= kMinMagnitude) & (U <= kMaxMagnitude) & (K >= kMinMagnitude) & (K <= kMaxMagnitude) &
                     (t > 0.0) & (t < inf) & (vabs(r * t) <= kMaxRateTime) & (vabs(q * t) <= kMaxRateTime) &
                     (vabs(P) < inf) & (vabs(theta) == 1.0);
    // Keep invalid lanes numerically harmless; their status says bad_input.
    U = select(valid, U, splat(1.0));
    K = select(valid, K, splat(1.0));
    t = select(valid, t, splat(1.0));
    r = select(valid, r, splat(0.0));
    q = select(valid, q, splat(0.0));
    P = select(valid, P, splat(0.1));
    theta = select(valid, theta, splat(1.0));

    const vd D = vexp(-r * t);
    const vd bt = bsm ? (r - q) * t : splat(0.0);
    const vd F = bsm ? U * vexp(bt) : U;
    const vd beta = (inverse ? P * U : P) / D;
    // F - K and ln(F/K) from the inputs, not from the rounded F: near the money with a short expiry the
    // time value is a tiny part of F and an ulp of F would be a large part of it.
    const vd intrinsic = vmax(theta * forward_minus_strike(U, K, F, bt, bsm), splat(0.0));
    const vd upper = select(theta > 0.0, F, K);
    const vi below = beta < intrinsic;
    // At the maximum within rounding (P / D against F computed through two exps) counts as at the maximum.
    const vi above = beta >= upper * (1.0 - 4e-16);
    const vd sqrt_fk = vsqrt(F) * vsqrt(K);
    const vd bn = (beta - intrinsic) / sqrt_fk;
    const vi at_intrinsic = bn <= 0.0;
    const vd ax = vabs(vlog_ratio(U, K, 1.0 / U) + bt);
    const vd x = -ax;
    const vd e_half = vexp(0.5 * x);
    const vd e_minus_half = vexp(0.5 * ax);

    // Initial guess (Jaeckel 2006): lower branch below the inflection value b_c, upper branch above it.
    const vd s_c = vsqrt(2.0 * ax);
    const vd b_c = e_half * (0.5 - half_tail(s_c));  // c(x, s_c): d1 = 0 there
    const vd bn_safe = select(at_intrinsic | below | above, splat(0.5) * e_half, bn);
    const vi low = bn_safe < b_c;
    const vd s_low = vsqrt(2.0 * ax * ax / vmax(ax - 4.0 * vlog(bn_safe / b_c), splat(1e-300)));
    const vd sq = vsqrt(0.5 * ax);
    const vd tail_at_sq = vexp(-0.5 * ax) * half_tail(sq);  // N(-sqrt(|x|/2))
    const vd p = vmax((e_half - bn_safe) / (e_half - b_c) * tail_at_sq, splat(1e-300));
    const vd s_high = -2.0 * inverse_normal_lower(vmin(p, splat(0.5)));
    // The lower-branch asymptote is good once b is well below b_c; just below b_c near the money (where c
    // is linear in s) it undershoots badly and the upper-branch formula is the better start.  The 1e-2
    // switch minimised the iteration count in a simulation over the tested domain (tests/test_implied_vol.py) (2.3 on average).
    vd s = select(low, select(bn_safe < 1e-2 * b_c, s_low, vmax(s_low, s_high)), s_high);
    s = vmax(s, splat(1e-12));

    const vd ln_bn = vlog(bn_safe);
    vi done = at_intrinsic | below | above | ~valid;
    vi converged = done;
    for (int iteration = 0; iteration < 16 && !all(done); ++iteration) {
      vd c, vega, d1;
      normalised_call(x, s, e_half, e_minus_half, c, vega, d1);
      const vd inv_s = 1.0 / s;
      const vd x_s = x * inv_s;
      const vd h2 = x_s * x_s * inv_s - 0.25 * s;                   // c'' / c'
      const vd h3 = h2 * h2 - 3.0 * x_s * x_s * inv_s * inv_s - 0.25;  // c''' / c'
      // One division gives c/vega, vega/c and 1/vega.  Deep out of the money c and vega can both be
      // ~1e-300, so on the low branch both are first scaled by the same power of two (about 1/c).
      const vd c_pos = vmax(c, splat(0x1p-1022));  // c may underflow
      const vd scale = select(low, as_double(splati(2046LL << 52) - (as_int(c_pos) & splati(0x7ff0000000000000LL))),
                              splat(1.0));
      const vd c_scaled = c_pos * scale, vega_scaled = vega * scale;
      const vd inv_cv = 1.0 / (c_scaled * vega_scaled);
      const vd c_over_vega = c_scaled * c_scaled * inv_cv;
      // Low branch: objective ln c - ln b, whose derivatives follow from those of c.
      const vd l1 = vega_scaled * vega_scaled * inv_cv;  // c' / c
      const vd g2 = h2 - l1;
      const vd g3 = h3 - 3.0 * l1 * h2 + 2.0 * l1 * l1;
      const vd nu_low = -(vlog(c_pos) - ln_bn) * c_over_vega;
      const vd nu_high = -(c - bn_safe) * (c_scaled * inv_cv);  // scale is 1 on the high branch
      const vd nu = select(low, nu_low, nu_high);
      const vd k2 = select(low, g2, h2);
      const vd k3 = select(low, g3, h3);
      // Householder's correction of the Newton step nu; far from the root (|nu k2| ~ 1) the rational factor
      // can change sign or blow up, and plain Newton is the safe step there.
      vd factor = (1.0 + 0.5 * k2 * nu) / (1.0 + nu * (k2 + k3 * nu * (1.0 / 6.0)));
      const vi householder = (factor > 0.0) & (factor < 4.0);
      factor = select(householder, factor, splat(1.0));
      const vd step = nu * factor;
      vd s_new = s + step;
      // Keep s > 0 and bounded: a Newton step on ln c can overshoot left, or far right from a poor start.
      s_new = vmin(vmax(s_new, 0.25 * s), 4.0 * s);
      s = select(done, s, s_new);
      // Householder's third-order step leaves an error of O(step^4): after a step below 1e-5 s the
      // remaining relative error is far below double precision, so no further iteration is needed.
      // A plain Newton step (the fallback) only squares the error: stop after it at 1e-8 instead.
      const vi small = vabs(step) <= select(householder, splat(1e-5), splat(1e-8)) * s;
      converged |= small & ~done;
      done |= small | ~(s == s);
    }
    const vd sigma = select(at_intrinsic, splat(0.0), s / vsqrt(t));
    store(result, sigma);
    for (int l = 0; l < W && i0 + l < end; ++l) {
      IvStatus st = IvStatus::ok;
      double value = result[l];
      if (!valid[l]) {
        st = IvStatus::bad_input;
      } else if (below[l]) {
        st = IvStatus::below_intrinsic;
      } else if (above[l]) {
        st = IvStatus::above_maximum;
      } else if (!converged[l] || !(value >= 0.0 && value < inf)) {
        st = IvStatus::no_convergence;
      }
      if (st != IvStatus::ok) value = __builtin_nan("");
      sigma_out[i0 + l] = value;
      status_out[i0 + l] = static_cast<std::int8_t>(st);
    }
  }
}
