// Black-76 / Black-Scholes-Merton price and Greeks for W options at a time, linear or inverse settled.
// Included inside the per-target namespace after vec.hpp and vmath.hpp.
//
// Both models are one formula on the forward F: V = D * B(F, K, s) with D = exp(-r t),
// s = sigma sqrt(t); black76: F = underlying, carry b = 0; bsm: F = S exp((r - q) t), b = r - q.
// Greeks are derivatives with respect to the *underlying argument* (F for black76, S for bsm), per unit
// (vega per 1.00 vol, theta = dV/dt per year with calendar time forward, rho per 1.00 rate with the
// underlying argument held).  Derivations are in docs/formulas.md.
#pragma once

// Below this total vol sigma sqrt(t) an option is treated as having zero vol: its time value is below
// 1e-150 of the forward, and 1/s would overflow for subnormal s.
constexpr double kMinTotalVol = 1e-150;

// Undiscounted pieces for flag theta (+1/-1): n1 = N(theta d1), kn2 = K N(theta d2), phi = pdf(d1).
// One exp and two erfcx (sharing one division) serve all three: K pdf(d2) = F pdf(d1) turns the tails into
// exp(-d1^2/2) * half_tail, so F N(d1) - K N(d2) keeps its digits deep out of the money.
// s is sigma sqrt(t) (0 for expired or zero-vol options), inv_s = 1 / s where s > 0.
// kTails: 2 computes n1 and kn2, 0 neither (gamma, vega, vanna and volga need only the density): the erfcx
// polynomials are most of the cost, so a call that needs no tail skips them.  (No one-tail variant: N(d1)
// alone would round differently from the shared-division pair, and every output must be bit-identical
// whatever else was asked for.)
template <int kTails = 2>
inline void black_core(vd theta, vd F, vd K, vd s, vd inv_s, vd x, vd& n1, vd& kn2, vd& phi, vd& d1, vd& d2) {
  const vi live = s > kMinTotalVol;
  d1 = select(live, x * inv_s + 0.5 * s, splat(0.0));
  d2 = d1 - s;
  const vd e1 = vexp(-0.5 * d1 * d1);
  n1 = kn2 = splat(0.0);
  if constexpr (kTails == 2) {
    vd t1, t2;
    half_tail2(d1, d2, t1, t2);
    const vd h1 = e1 * t1;
    const vd fh2 = F * (e1 * t2);
    n1 = select(theta * d1 <= 0.0, h1, 1.0 - h1);
    kn2 = select(theta * d2 <= 0.0, fh2, K - fh2);
  }
  phi = e1 * kInvSqrt2Pi;
  // s == 0 (t <= 0 or sigma == 0): the limits as s -> 0, Heaviside with 1/2 at the money.  Skipped for
  // the usual vector of live options.
  if (all(live)) return;
  const vd step = select(theta * x > 0.0, splat(1.0), select(x == 0.0, splat(0.5), splat(0.0)));
  n1 = select(live, n1, step);
  kn2 = select(live, kn2, K * step);
  phi = select(live, phi, splat(0.0));
}

// kOrder: 0 = price and deltas only, 1 = up to theta and rho, 2 = also vanna, volga and charm.  Outputs an
// instance does not compute are left as zeros that are never stored (the dispatcher below picks the
// smallest instance covering the request), so the compiler drops their arithmetic.
template <int kOrder, int kTails>
std::int64_t price_greeks_order(const PricingInputs& in, const PricingOutputs& out, std::size_t begin,
                                std::size_t end) {
  const bool bsm = in.model == Model::bsm;
  const bool inverse = in.settlement == Settlement::inverse;
  // Crypto books are usually priced at r = 0 (Deribit uses 0 %): skip the discount exp then.
  const bool zero_rate = in.r.stride == 0 && in.r.data[0] == 0.0;
  std::int64_t first_bad = -1;

  double tail_out[kOutputCount][W];
  for (std::size_t i0 = begin; i0 < end; i0 += W) {
    const bool full = i0 + W <= end;
    vd theta, U, K, t, r, sigma, q;
    if (full) {
      theta = load_flag(in.flag, i0);
      U = load_column(in.underlying, i0);
      K = load_column(in.strike, i0);
      t = load_column(in.t, i0);
      r = load_column(in.r, i0);
      sigma = load_column(in.sigma, i0);
      q = load_column(in.q, i0);
    } else {
      // Tail: pad with a valid dummy option so the padding lanes never flag an error.
      theta = load_flag_tail(in.flag, i0, end);
      U = load_tail(in.underlying, i0, end, 1.0);
      K = load_tail(in.strike, i0, end, 1.0);
      t = load_tail(in.t, i0, end, 1.0);
      r = load_tail(in.r, i0, end, 0.0);
      sigma = load_tail(in.sigma, i0, end, 0.1);
      q = load_tail(in.q, i0, end, 0.0);
    }
    // Validation without branches: any NaN/inf, non-positive underlying or strike, negative vol.
    // x - x is 0 exactly when x is finite (NaN and inf give NaN): one test for the six finiteness checks.
    const vd finite = (U - U) + (K - K) + (t - t) + (r - r) + (sigma - sigma) + (q - q);
    const vi ok = (finite == 0.0) & (vmin(U, K) > 0.0) & (sigma >= 0.0) & (vabs(theta) == 1.0);
    const vi bad = ~ok;
    if (any(bad) && first_bad < 0) {
      for (int l = 0; l < W; ++l)
        if (bad[l]) {
          first_bad = static_cast<std::int64_t>(i0 + l);
          break;
        }
    }

    const vd T = vmax(t, splat(0.0));
    const vd sqrt_t = vsqrt(T);
    const vd D = zero_rate ? splat(1.0) : vexp(-r * T);
    const vd b = bsm ? r - q : splat(0.0);
    const vd carry = bsm ? vexp(b * T) : splat(1.0);
    const vd F = U * carry;
    const vd Dc = D * carry;  // exp(-q t) for bsm, D for black76
    const vd s = sigma * sqrt_t;
    const vi live = s > kMinTotalVol;
    const vd s_safe = select(live, s, splat(1.0));
    // Divisions dominate the cost of this loop: one reciprocal serves 1/s and 1/U, and 1/sigma, 1/t
    // follow from 1/s by multiplication.
    const vd inv_su = 1.0 / (s_safe * U);
    const vd inv_s = U * inv_su;
    const vd inv_u = s_safe * inv_su;
    const vd inv_sigma = select(live, inv_s * sqrt_t, splat(0.0));
    const vd inv_t = sigma * sigma * inv_s * inv_s;
    const vd x = vlog_ratio(U, K, inv_u) + b * T;  // ln(F/K) = ln(S/K) + (r - q) t
    vd n1, kn2, phi, d1, d2;
    black_core<kTails>(theta, F, K, s, inv_s, x, n1, kn2, phi, d1, d2);

    const vd V = D * theta * (F * n1 - kn2) + 0.0;  // + 0.0 turns a -0.0 (worthless put) into +0.0
    const vd delta = Dc * theta * n1;
    const vd Dphi = D * phi;
    const vd gamma = Dc * phi * inv_s * inv_u;
    vd vega = Dphi * F * sqrt_t;
    vd theta_t = r * V - b * F * D * theta * n1 - 0.5 * Dphi * F * s * inv_t;
    const vd rho = bsm ? T * D * theta * kn2 : -T * V;
    vd vanna = -Dc * phi * d2 * inv_sigma;
    const vd volga = vega * d1 * d2 * inv_sigma;
    const vd g = bsm ? q : r;
    vd charm = g * delta - Dc * phi * (b * inv_s - 0.5 * d2 * inv_t);
    if (!all(live)) {
      // Expired (t <= 0): the value is intrinsic whatever t, so theta and charm are 0.
      const vi expired = t <= 0.0;
      theta_t = select(expired, splat(0.0), theta_t);
      charm = select(expired, splat(0.0), charm);
      // Zero vol exactly at the money with time left: vega and vanna are the finite limits sigma -> 0+
      // (gamma is infinite there and stays reported as 0, like every zero-vol second-order Greek).
      const vi atm_zero_vol = ~live & ~expired & (x == 0.0);
      vega = select(atm_zero_vol, D * F * kInvSqrt2Pi * sqrt_t, vega);
      vanna = select(atm_zero_vol, 0.5 * Dc * kInvSqrt2Pi * sqrt_t, vanna);
    }

    vd res[kOutputCount] = {};
    if (!inverse) {
      res[0] = V, res[1] = delta, res[9] = delta, res[10] = delta;
      if constexpr (kOrder >= 1) res[2] = gamma, res[3] = vega, res[4] = theta_t, res[5] = rho;
      if constexpr (kOrder >= 2) res[6] = vanna, res[7] = volga, res[8] = charm;
    } else {
      // Coin value c = V / U and its derivatives (DESIGN §3).
      const vd c = V * inv_u;
      const vd dc = (delta - c) * inv_u;
      const vd theta_c = theta_t * inv_u;
      const vd vega_c = vega * inv_u;
      res[0] = c;
      res[1] = dc;
      res[9] = delta - c;
      res[10] = delta;
      if constexpr (kOrder >= 1) {
        res[2] = (gamma - 2.0 * dc) * inv_u;
        res[3] = vega_c;
        res[4] = theta_c;
        res[5] = rho * inv_u;
      }
      if constexpr (kOrder >= 2) {
        res[6] = (vanna - vega_c) * inv_u;
        res[7] = volga * inv_u;
        res[8] = (charm - theta_c) * inv_u;
      }
    }
    if (full) {
      for (int k = 0; k < kOutputCount; ++k)
        if (out.out[k]) store(out.out[k] + i0, res[k]);
    } else {
      for (int k = 0; k < kOutputCount; ++k) {
        if (!out.out[k]) continue;
        store(tail_out[k], res[k]);
        for (std::size_t l = 0; i0 + l < end; ++l) out.out[k][i0 + l] = tail_out[k][l];
      }
    }
  }
  return first_bad;
}

template <int kOrder>
std::int64_t price_greeks_tails(const PricingInputs& in, const PricingOutputs& out, std::size_t begin, std::size_t end) {
  // The tails feed price, delta, theta, rho, charm and every inverse output.
  const bool tails = in.settlement == Settlement::inverse || out.out[0] || out.out[1] || out.out[4] ||
                     out.out[5] || out.out[8] || out.out[9] || out.out[10];
  if (tails) return price_greeks_order<kOrder, 2>(in, out, begin, end);
  return price_greeks_order<kOrder, 0>(in, out, begin, end);
}

inline std::int64_t price_greeks_kernel(const PricingInputs& in, const PricingOutputs& out, std::size_t begin,
                                        std::size_t end) {
  const bool second = out.out[6] || out.out[7] || out.out[8];
  const bool first = out.out[2] || out.out[3] || out.out[4] || out.out[5];
  if (second) return price_greeks_tails<2>(in, out, begin, end);
  if (first) return price_greeks_tails<1>(in, out, begin, end);
  return price_greeks_tails<0>(in, out, begin, end);
}
