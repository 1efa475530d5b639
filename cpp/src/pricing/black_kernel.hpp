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

// Undiscounted pieces of one option, flag theta (+1/-1), forward F, strike K, x = ln(F/K), fk = F - K
// (each to a few ulp of itself), s = sigma sqrt(t) (0 for expired or zero-vol options), inv_s = 1 / s where
// s > 0.
struct BlackTerms {
  vd n1;   // N(theta d1)
  vd kn2;  // K N(theta d2)
  vd tv;   // time value F N(theta d1) theta - K N(theta d2) theta - max(theta (F - K), 0) >= 0
  vd phi;  // pdf(d1)
  vd d1, d2;
};

// One exp and one erfcx pair (one division) serve everything.  K pdf(d2) = F pdf(d1) turns both normal
// tails into e = exp(-d1^2/2) times half an erfcx, so N(theta d1) and K N(theta d2) keep their digits deep
// in the tails.  The time value is computed directly (docs/formulas.md): it is the same for the call and
// the put (parity), so it is formed on the out-of-the-money side, where with d1o = -|x|/s + s/2,
// d2o = d1o - s (a = -d1o/sqrt2, b = -d2o/sqrt2 = a + s/sqrt2):
//   d1o <= 0:       tv = F e (erfcx(a) - erfcx(b)) / 2, the difference from the erfcx pair (no cancellation);
//   d1o > 0 > d2o:  (|x| < s^2/2) tv = [min(F,K) erf(-a) + max(F,K) erf(b) - |F - K|] / 2 while s < 0.25,
//                   else min(F,K) - F e (erfcx(|a|) + erfcx(b)) / 2 (then tv >= 0.1 min(F,K): no loss).
// kTails: 2 computes n1, kn2 and tv; 0 none of them (gamma, vega, vanna and volga need only the density):
// the erfcx polynomial is most of the cost, so a call that needs no tail skips it.
// black_core = black_tail(black_head(...)): the head is what depends on s and x alone (d1, its exp, and the
// erfcx pair up to its division), so a kernel that runs many independent options or scenarios can form the
// heads of a chunk first and the tails second, overlapping their latencies.
struct BlackHead {
  vd d1;  // 0 where s is not live
  vd d2;
  vd e1;  // exp(-d1^2/2)
  // With the tails: the erfcx arguments |d1o| / sqrt2 and -d2o / sqrt2, whether d1o > 0 > d2o, and the pair.
  vd a, b;
  vi straddle;
  ErfcxPairStart pair;
};
// The head's terms of the total vol alone: a kernel whose options share vols (scenarios of one vol state)
// forms them once.
struct BlackVol {
  vd s, inv_s;
  vd delta;  // s / sqrt2
};
__attribute__((always_inline)) inline BlackVol black_vol(vd s, vd inv_s) { return {s, inv_s, s * kInvSqrt2}; }
template <int kTails = 2>
__attribute__((always_inline)) inline BlackHead black_head(const BlackVol& vol, vd x) {
  BlackHead h;
  const vd s = vol.s;
  h.d1 = select(s > kMinTotalVol, x * vol.inv_s + 0.5 * s, splat(0.0));
  h.d2 = h.d1 - s;
  h.e1 = vexp(-0.5 * h.d1 * h.d1);
  if constexpr (kTails == 2) {
    const vi call_otm = x <= 0.0;  // F <= K: the call is the out-of-the-money side
    const vd d1o = select(call_otm, h.d1, -h.d2);
    const vd delta = vol.delta;
    const vd ya = -d1o * kInvSqrt2;  // < 0 only where d1o > 0 > d2o
    h.a = vabs(ya), h.b = ya + delta;
    h.straddle = ya < 0.0;
    h.pair = erfcx_pair_start(h.a, h.b, select(h.straddle, h.a - h.b, -delta));
  }
  return h;
}
template <int kTails = 2>
__attribute__((always_inline)) inline BlackTerms black_tail(const BlackHead& head, vd theta, vd F, vd K,
                                                            vd fk, vd s, vd x) {
  BlackTerms o;
  const vi live = s > kMinTotalVol;
  o.d1 = head.d1;
  o.d2 = head.d2;
  const vd e1 = head.e1;
  o.n1 = o.kn2 = o.tv = splat(0.0);
  o.phi = e1 * kInvSqrt2Pi;
  if constexpr (kTails == 2) {
    const vi call_otm = x <= 0.0;
    const vd a = head.a, b = head.b;
    const vi straddle = head.straddle;
    vd fa, fb, diff;
    erfcx_pair_finish(head.pair, fa, fb, diff);
    const vd Fe = F * e1;
    // |d1| / sqrt2 is a on the out-of-the-money side of the call, b on that of the put; |d2| the other.
    const vd h1 = 0.5 * select(call_otm, fa, fb), h2 = 0.5 * select(call_otm, fb, fa);
    o.n1 = select(theta * o.d1 <= 0.0, e1 * h1, 1.0 - e1 * h1);
    o.kn2 = select(theta * o.d2 <= 0.0, Fe * h2, K - Fe * h2);
    const vd k_otm = select(call_otm, F, K);
    o.tv = select(straddle, k_otm - 0.5 * Fe * (fa + fb), 0.5 * Fe * diff);
    // Straddling with a small s is rare (|x| < s^2/2 < 0.03): the series only for vectors that need it.
    const vi straddle_small = straddle & (s < 0.25);
    if (any(straddle_small)) {
      const vd k_itm = select(call_otm, K, F);
      const vd small_s = 0.5 * (k_otm * erf_small(a) + k_itm * erf_small(vmin(b, splat(0.18))) - vabs(fk));
      o.tv = select(straddle_small, small_s, o.tv);
    }
    o.tv = select(live, o.tv, splat(0.0));
  }
  // s == 0 (t <= 0 or sigma == 0): the limits as s -> 0, Heaviside with 1/2 at the money.  Skipped for
  // the usual vector of live options.
  if (all(live)) return o;
  const vd step = select(theta * x > 0.0, splat(1.0), select(x == 0.0, splat(0.5), splat(0.0)));
  o.n1 = select(live, o.n1, step);
  o.kn2 = select(live, o.kn2, K * step);
  o.phi = select(live, o.phi, splat(0.0));
  return o;
}
template <int kTails = 2>
__attribute__((always_inline)) inline BlackTerms black_core(vd theta, vd F, vd K, vd fk, vd s, vd inv_s, vd x) {
  return black_tail<kTails>(black_head<kTails>(black_vol(s, inv_s), x), theta, F, K, fk, s, x);
}

// F - K to a few ulp of itself, F = U e^{bt} (bt = 0 for black76): exact for black76 near the money
// (Sterbenz).  For bsm, F - K with F rounded errs by ~eps F, (U - K) + U (e^{bt} - 1) by ~eps (|U - K| +
// |U (e^{bt} - 1)|): take the form whose terms are smaller (the second near the money with a modest carry,
// the first when e^{bt} is far from 1).
inline vd forward_minus_strike(vd U, vd K, vd F, vd bt, bool bsm) {
  const vd fk = U - K;
  if (!bsm) return fk;
  const vd carry_part = U * vexpm1(bt);
  return select(vabs(fk) + vabs(carry_part) < F, fk + carry_part, F - K);
}

// kOrder: 0 = price and deltas only, 1 = up to theta and rho, 2 = also vanna, volga and charm.  Outputs an
// instance does not compute are left as zeros that are never stored (the dispatcher below picks the
// smallest instance covering the request), so the compiler drops their arithmetic.
template <int kOrder, int kTails, bool kBsm>
std::int64_t price_greeks_order(const PricingInputs& in, const PricingOutputs& out, std::size_t begin,
                                std::size_t end) {
  constexpr bool bsm = kBsm;  // (a constant: black76's instances carry no multiplications by a carry of 1)
  const bool inverse = in.settlement == Settlement::inverse;
  constexpr std::size_t kChunkVectors = 16;  // (the passes below)
  // Crypto books are usually priced at r = 0 (Deribit uses 0 %): skip the discount exp then.
  const bool zero_rate = in.r.stride == 0 && in.r.data[0] == 0.0;
  const bool zero_carry = in.q.stride == 0 && in.q.data[0] == 0.0;
  // Flags from strings are decoded a chunk at a time into call bytes (`FlagStrings`); the rows' flags are then
  // `flag` at row - flag_base.
  const bool strings = in.flag_strings.data != nullptr;
  std::uint8_t chunk_calls[kChunkVectors * W];
  FlagColumn flag = in.flag;
  std::size_t flag_base = 0;
  std::int64_t first_bad_flag = -1;
  const bool flag_bytes = strings || in.flag.is_call != nullptr;  // (0 or 1 when read: -1 or +1 here)
  std::int64_t first_bad = -1;

  double tail_out[W];
  // Two passes over chunks of kChunkVectors vectors: the first computes what depends on the inputs alone
  // (sqrt, exp, the division, log), the second the normal tails and the outputs.  Each pass is a loop of
  // shorter, independent iterations that the CPU overlaps, where one long iteration (sqrt -> division ->
  // log -> exp -> erfcx, one dependency chain) would leave it waiting on latency.
  vd p_sqrt_t[kChunkVectors], p_D[kChunkVectors], p_carry[kChunkVectors], p_inv_su[kChunkVectors],
      p_x[kChunkVectors], p_fk[kChunkVectors];
  struct Row {
    vd theta, U, K, t, r, sigma, q;
    vd T, b;  // max(t, 0), the carry rate (0 for black76)
  };
  // The inputs of the vector at i0, as both passes read them; `full` is a compile-time constant in the loops
  // below, so the usual full vector has no tail branches.
  const auto read = [&](std::size_t i0, auto full) __attribute__((always_inline)) {
    vd theta, U, K, t, r, sigma, q;
    if constexpr (decltype(full)::value) {
      theta = load_flag(flag, i0 - flag_base);
      U = load_column(in.underlying, i0);
      K = load_column(in.strike, i0);
      t = load_column(in.t, i0);
      r = load_column(in.r, i0);
      sigma = load_column(in.sigma, i0);
      q = load_column(in.q, i0);
    } else {
      // Tail: pad with a valid dummy option so the padding lanes never flag an error.
      theta = load_flag_tail(flag, i0 - flag_base, end - flag_base);
      U = load_tail(in.underlying, i0, end, 1.0);
      K = load_tail(in.strike, i0, end, 1.0);
      t = load_tail(in.t, i0, end, 1.0);
      r = load_tail(in.r, i0, end, 0.0);
      sigma = load_tail(in.sigma, i0, end, 0.1);
      q = load_tail(in.q, i0, end, 0.0);
    }
    return Row{theta, U, K, t, r, sigma, q, vmax(t, splat(0.0)), bsm ? r - q : splat(0.0)};
  };
  // First pass: what depends on the inputs alone (validation, sqrt, exp, the division, log).
  const auto head = [&](std::size_t i0, std::size_t v, auto full) __attribute__((always_inline)) {
    const auto [theta, U, K, t, r, sigma, q, T, b] = read(i0, full);
    // Validation without branches: every test is false for NaN, and the range tests are false for
    // +-inf too (r or q infinite with t <= 0 gives inf * 0 = NaN), so they are the finiteness checks.
    vi ok = (U >= kMinMagnitude) & (U <= kMaxMagnitude) & (K >= kMinMagnitude) & (K <= kMaxMagnitude) &
            (sigma >= 0.0) & (sigma <= kMaxMagnitude) & (vabs(t) <= kMaxMagnitude);
    // (tests that cannot fail are skipped: a zero rate or carry given once, flags read from call bytes)
    if (!zero_rate) ok &= vabs(r * T) <= kMaxRateTime;
    if (!zero_carry) ok &= vabs(q * T) <= kMaxRateTime;
    if (!flag_bytes) ok &= vabs(theta) == 1.0;
    const vi bad = ~ok;
    if (any(bad) && first_bad < 0) {
      for (int l = 0; l < W; ++l)
        if (bad[l]) {
          first_bad = static_cast<std::int64_t>(i0 + l);
          break;
        }
    }

    const vd sqrt_t = vsqrt(T);
    const vd s = sigma * sqrt_t;
    p_sqrt_t[v] = sqrt_t;
    p_D[v] = zero_rate ? splat(1.0) : vexp(-r * T);
    const vd carry = bsm ? vexp(b * T) : splat(1.0);
    if constexpr (bsm) p_carry[v] = carry;
    const vd s_safe = select(s > kMinTotalVol, s, splat(1.0));
    // Divisions are the slowest operations: one reciprocal serves 1/s and 1/U, and 1/sigma, 1/t follow
    // from 1/s by multiplication.
    const vd inv_su = vrecip(s_safe * U);
    p_inv_su[v] = inv_su;
    p_x[v] = vlog_ratio(U, K, s_safe * inv_su);
    if (bsm) p_x[v] = p_x[v] + b * T;  // ln(F/K) = ln(S/K) + (r - q) t
    p_fk[v] = forward_minus_strike(U, K, U * carry, b * T, bsm);
  };
  // Second pass: the normal tails and the outputs.
  const auto tail = [&](std::size_t i0, std::size_t v, auto full) __attribute__((always_inline)) {
    const auto [theta, U, K, t, r, sigma, q, T, b] = read(i0, full);
    const vd sqrt_t = p_sqrt_t[v], D = p_D[v], inv_su = p_inv_su[v], x = p_x[v], fk = p_fk[v];
    const vd carry = bsm ? p_carry[v] : splat(1.0);  // (black76: a constant, its multiplications dropped)
    const vd s = sigma * sqrt_t;
    const vd F = U * carry;
    const vd Dc = D * carry;  // exp(-q t) for bsm, D for black76
    const vi live = s > kMinTotalVol;
    const vd s_safe = select(live, s, splat(1.0));
    const vd inv_s = U * inv_su;
    const vd inv_u = s_safe * inv_su;
    const vd inv_sigma = select(live, inv_s * sqrt_t, splat(0.0));
    const vd inv_t = sigma * sigma * inv_s * inv_s;
    const BlackTerms bt = black_core<kTails>(theta, F, K, fk, s, inv_s, x);
    const vd n1 = bt.n1, kn2 = bt.kn2, phi = bt.phi, d1 = bt.d1, d2 = bt.d2;

    // Intrinsic value plus time value: no two numbers near F are subtracted (+ 0.0 turns -0.0 into +0.0).
    const vd V = D * (vmax(theta * fk, splat(0.0)) + bt.tv) + 0.0;
    const vd delta = Dc * theta * n1;
    const vd Dphi = D * phi;
    const vd gamma = Dc * phi * inv_su;  // Dc pdf(d1) / (U s)
    vd vega = Dphi * F * sqrt_t;
    // The vol term D pdf(d1) F sigma / (2 sqrt t), with 1 / sqrt t = sigma / s.
    const vd vol_term = 0.5 * Dphi * F * (sigma * sigma * inv_s);
    vd theta_t = bsm ? r * V - b * F * D * theta * n1 - vol_term : r * V - vol_term;
    const vd rho = bsm ? T * D * theta * kn2 : -T * V;
    vd vanna = -Dc * phi * d2 * inv_sigma;
    const vd volga = vega * d1 * d2 * inv_sigma;
    const vd g = bsm ? q : r;
    vd charm = g * delta - Dc * phi * ((bsm ? b * inv_s : splat(0.0)) - 0.5 * d2 * inv_t);
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

    // Each requested output stored as it is formed (no array of all outputs: zero-filling one per
    // vector cost a string instruction per iteration).
    const auto put = [&](int k, vd value) {
      if (!out.out[k]) return;
      if constexpr (decltype(full)::value) {
        store(out.out[k] + i0, value);
      } else {
        store(tail_out, value);
        for (std::size_t l = 0; i0 + l < end; ++l) out.out[k][i0 + l] = tail_out[l];
      }
    };
    if (!inverse) {
      put(0, V), put(1, delta), put(9, delta), put(10, delta);
      if constexpr (kOrder >= 1) put(2, gamma), put(3, vega), put(4, theta_t), put(5, rho);
      if constexpr (kOrder >= 2) put(6, vanna), put(7, volga), put(8, charm);
    } else {
      // Coin value c = V / U and its derivatives (docs/formulas.md, inverse settlement).
      const vd c = V * inv_u;
      const vd dc = (delta - c) * inv_u;
      const vd theta_c = theta_t * inv_u;
      const vd vega_c = vega * inv_u;
      put(0, c);
      put(1, dc);
      put(9, delta - c);
      put(10, delta);
      if constexpr (kOrder >= 1) {
        put(2, (gamma - 2.0 * dc) * inv_u);
        put(3, vega_c);
        put(4, theta_c);
        put(5, rho * inv_u);
      }
      if constexpr (kOrder >= 2) {
        put(6, (vanna - vega_c) * inv_u);
        put(7, volga * inv_u);
        put(8, (charm - theta_c) * inv_u);
      }
    }
  };
  using Full = std::true_type;
  using Partial = std::false_type;
  const char* next_flags = nullptr;  // the next chunk's flag strings not yet requested
  const char* next_flags_end = nullptr;
  std::size_t flag_lines_per_vector = 0;
  for (std::size_t c0 = begin; c0 < end; c0 += kChunkVectors * W) {
    const std::size_t c1 = std::min(end, c0 + kChunkVectors * W);
    if (strings) {
      const std::size_t bad = decode_flags_kernel(in.flag_strings.row(c0), in.flag_strings.unicode,
                                                  in.flag_strings.width, c1 - c0, chunk_calls);
      if (bad < c1 - c0 && first_bad_flag < 0) first_bad_flag = static_cast<std::int64_t>(c0 + bad);
      flag = FlagColumn{nullptr, chunk_calls, 1};
      flag_base = c0;
      // The next chunk's strings requested while this chunk computes, a share with each vector (all at once,
      // they queue behind each other): 'U4' flags stream 16 bytes an option, and in 4 KB pages the hardware
      // prefetcher stops at every page (every 256 options).
      next_flags = static_cast<const char*>(in.flag_strings.row(c1));
      next_flags_end = static_cast<const char*>(in.flag_strings.row(std::min(end, c1 + kChunkVectors * W)));
      flag_lines_per_vector = (static_cast<std::size_t>(next_flags_end - next_flags) + 64 * kChunkVectors - 1) /
                              (64 * kChunkVectors);
    }
    const std::size_t whole = (c1 - c0) / W;  // full vectors in the chunk; a partial one follows at most once
    const bool partial = whole * W < c1 - c0;
    for (std::size_t v = 0; v < whole; ++v) {
      head(c0 + v * W, v, Full{});
      for (std::size_t l = 0; l < flag_lines_per_vector && next_flags < next_flags_end; ++l, next_flags += 64)
        __builtin_prefetch(next_flags);
    }
    if (partial) head(c0 + whole * W, whole, Partial{});
    for (std::size_t v = 0; v < whole; ++v) tail(c0 + v * W, v, Full{});
    if (partial) tail(c0 + whole * W, whole, Partial{});
  }
  if (first_bad_flag >= 0 && (first_bad < 0 || first_bad_flag < first_bad)) first_bad = first_bad_flag;
  return first_bad;
}

template <int kOrder>
std::int64_t price_greeks_tails(const PricingInputs& in, const PricingOutputs& out, std::size_t begin, std::size_t end) {
  // The tails feed price, delta, theta, rho, charm and every inverse output.
  const bool tails = in.settlement == Settlement::inverse || out.out[0] || out.out[1] || out.out[4] ||
                     out.out[5] || out.out[8] || out.out[9] || out.out[10];
  if (in.model == Model::bsm)
    return tails ? price_greeks_order<kOrder, 2, true>(in, out, begin, end) : price_greeks_order<kOrder, 0, true>(in, out, begin, end);
  return tails ? price_greeks_order<kOrder, 2, false>(in, out, begin, end) : price_greeks_order<kOrder, 0, false>(in, out, begin, end);
}

inline std::int64_t price_greeks_kernel(const PricingInputs& in, const PricingOutputs& out, std::size_t begin,
                                        std::size_t end) {
  const bool second = out.out[6] || out.out[7] || out.out[8];
  const bool first = out.out[2] || out.out[3] || out.out[4] || out.out[5];
  if (second) return price_greeks_tails<2>(in, out, begin, end);
  if (first) return price_greeks_tails<1>(in, out, begin, end);
  return price_greeks_tails<0>(in, out, begin, end);
}
