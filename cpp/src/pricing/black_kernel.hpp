// Black-76 / Black-Scholes-Merton price and Greeks for W options at a time, linear or inverse settled.
// Included inside the per-target namespace after vec.hpp and vmath.hpp.
//
// Both models are one formula on the forward F: V = D * B(F, K, s) with D = exp(-r t),
// s = sigma sqrt(t); black76: F = underlying, carry b = 0; bsm: F = S exp((r - q) t), b = r - q.
// Greeks are derivatives with respect to the *underlying argument* (F for black76, S for bsm), per unit
// (vega per 1.00 vol, theta = dV/dt per year with calendar time forward, rho per 1.00 rate with the
// underlying argument held).  Derivations are in docs/formulas.md.
#pragma once

struct BlackTerms {
  vd F, D, Dc, x, s, d1, d2, n1, kn2, phi, sqrt_t, live;
};

// Undiscounted normalised pieces for flag theta (+1/-1): n1 = N(theta d1), kn2 = K N(theta d2),
// computed from a single exp and two erfcx so that deep out-of-the-money prices keep their digits:
// K phi(d2) = F phi(d1) turns F N(d1) - K N(d2) into F e^{-d1^2/2} (tail(d1) - tail(d2)) / sqrt(2 pi)-free form.
inline void black_core(vd theta, vd F, vd K, vd s_raw, vd x, bool need_n2, vd& n1, vd& kn2, vd& phi, vd& d1,
                       vd& d2) {
  const vi live = s_raw > 0.0;
  const vd s = select(live, s_raw, splat(1.0));
  d1 = x / s + 0.5 * s;
  d2 = d1 - s;
  const vd e1 = vexp(-0.5 * d1 * d1);
  const vd z1 = theta * d1;
  const vd h1 = e1 * half_tail(d1);
  n1 = select(z1 <= 0.0, h1, 1.0 - h1);
  if (need_n2) {
    const vd z2 = theta * d2;
    const vd fh2 = F * (e1 * half_tail(d2));
    kn2 = select(z2 <= 0.0, fh2, K - fh2);
  } else {
    kn2 = splat(0.0);
  }
  phi = e1 * kInvSqrt2Pi;
  // s == 0 (t <= 0 or sigma == 0): the limits as s -> 0, Heaviside with 1/2 at the money.
  const vd step = select(theta * x > 0.0, splat(1.0), select(x == 0.0, splat(0.5), splat(0.0)));
  n1 = select(live, n1, step);
  kn2 = select(live, kn2, K * step);
  phi = select(live, phi, splat(0.0));
}

inline std::int64_t price_greeks_kernel(const PricingInputs& in, const PricingOutputs& out, std::size_t begin,
                                        std::size_t end) {
  const bool bsm = in.model == Model::bsm;
  const bool inverse = in.settlement == Settlement::inverse;
  const unsigned mask = [&] {
    unsigned m = 0;
    for (int k = 0; k < kOutputCount; ++k)
      if (out.out[k]) m |= 1u << k;
    return m;
  }();
  const bool need_n2 = mask & (kPrice | kTheta | kRho | kDeltaPremiumAdjusted | kGamma | kVanna | kCharm);
  vi bad_any = splati(0);
  std::int64_t first_bad = -1;

  double tail_in[7][W];
  double tail_out[kOutputCount][W];
  for (std::size_t i0 = begin; i0 < end; i0 += W) {
    const bool full = i0 + W <= end;
    vd theta, U, K, t, r, sigma, q;
    if (full) {
      theta = load_column(in.flag, i0);
      U = load_column(in.underlying, i0);
      K = load_column(in.strike, i0);
      t = load_column(in.t, i0);
      r = load_column(in.r, i0);
      sigma = load_column(in.sigma, i0);
      q = load_column(in.q, i0);
    } else {
      // Tail: pad with a valid dummy option so the padding lanes never flag an error.
      const Column* cols[7] = {&in.flag, &in.underlying, &in.strike, &in.t, &in.r, &in.sigma, &in.q};
      const double pad[7] = {1.0, 1.0, 1.0, 1.0, 0.0, 0.1, 0.0};
      for (int c = 0; c < 7; ++c)
        for (int l = 0; l < W; ++l) tail_in[c][l] = (i0 + l < end) ? cols[c]->at(i0 + l) : pad[c];
      theta = load(tail_in[0]);
      U = load(tail_in[1]);
      K = load(tail_in[2]);
      t = load(tail_in[3]);
      r = load(tail_in[4]);
      sigma = load(tail_in[5]);
      q = load(tail_in[6]);
    }
    // Validation without branches: any NaN/inf, non-positive underlying or strike, negative vol.
    const double inf = __builtin_inf();
    const vi ok = (U > 0.0) & (U < inf) & (K > 0.0) & (K < inf) & (sigma >= 0.0) & (sigma < inf) &
                  (vabs(t) < inf) & (vabs(r) < inf) & (vabs(q) < inf) & (vabs(theta) == 1.0);
    const vi bad = ~ok;
    bad_any |= bad;
    if (any(bad) && first_bad < 0) {
      for (int l = 0; l < W; ++l)
        if (bad[l]) {
          first_bad = static_cast<std::int64_t>(i0 + l);
          break;
        }
    }

    const vd T = vmax(t, splat(0.0));
    const vd sqrt_t = vsqrt(T);
    const vd D = vexp(-r * T);
    const vd b = bsm ? r - q : splat(0.0);
    const vd carry = bsm ? vexp(b * T) : splat(1.0);
    const vd F = U * carry;
    const vd Dc = D * carry;  // exp(-q t) for bsm, D for black76
    const vd s = sigma * sqrt_t;
    const vi live = s > 0.0;
    const vd x = vlog_ratio(F, K);
    vd n1, kn2, phi, d1, d2;
    black_core(theta, F, K, s, x, need_n2, n1, kn2, phi, d1, d2);

    const vd V = D * theta * (F * n1 - kn2);
    const vd delta = Dc * theta * n1;
    const vd s_safe = select(live, s, splat(1.0));
    const vd sigma_safe = select(live, sigma, splat(1.0));
    const vd T_safe = select(live, T, splat(1.0));
    const vd Dphi = D * phi;
    const vd gamma = Dc * phi / (U * s_safe);
    const vd vega = Dphi * F * sqrt_t;
    const vd theta_t = r * V - b * F * D * theta * n1 - Dphi * F * s_safe / (2.0 * T_safe);
    const vd rho = bsm ? T * D * theta * kn2 : -T * V;
    const vd vanna = -Dc * phi * d2 / sigma_safe;
    const vd volga = vega * d1 * d2 / sigma_safe;
    const vd g = bsm ? q : r;
    const vd charm = g * delta - Dc * phi * (b / s_safe - d2 / (2.0 * T_safe));

    vd res[kOutputCount];
    if (!inverse) {
      res[0] = V, res[1] = delta, res[2] = gamma, res[3] = vega, res[4] = theta_t, res[5] = rho;
      res[6] = vanna, res[7] = volga, res[8] = charm, res[9] = delta, res[10] = delta;
    } else {
      // Coin value c = V / U and its derivatives (DESIGN §3).
      const vd inv_u = 1.0 / U;
      const vd c = V * inv_u;
      const vd dc = (delta - c) * inv_u;
      const vd theta_c = theta_t * inv_u;
      const vd vega_c = vega * inv_u;
      res[0] = c;
      res[1] = dc;
      res[2] = (gamma - 2.0 * dc) * inv_u;
      res[3] = vega_c;
      res[4] = theta_c;
      res[5] = rho * inv_u;
      res[6] = (vanna - vega_c) * inv_u;
      res[7] = volga * inv_u;
      res[8] = (charm - theta_c) * inv_u;
      res[9] = delta - c;
      res[10] = delta;
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
  (void)bad_any;
  return first_bad;
}
