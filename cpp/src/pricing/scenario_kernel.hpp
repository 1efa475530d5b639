// Instrument x scenario revaluation.  Included inside the per-target namespace after black_kernel.hpp.
// Vectorised over instruments (W at a time) for one scenario after another, so no lane is wasted on a
// ragged scenario count and what scenarios share is hoisted per instrument block: ln(F/K), 1/F, sqrt(t)
// (without a time shift), and per scenario ln(1 + move), 1/(1 + move).
#pragma once

constexpr std::size_t kHoistedStates = 8;  // vol states whose s and 1/s are kept per instrument block
constexpr std::size_t kScenarioChunk = 16;  // scenarios per chunk of the two-pass loop (see below)

// The pieces both loops below share (the one-instrument loop must give the instrument-lane loop's bits).
// The instrument checks: every test is false for NaN.
inline vi scenario_instrument_ok(vd theta, vd F0, vd K, vd t, vd inverse, double r) {
  const vi forward_like = theta == 0.0;
  return (F0 >= kMinMagnitude) & (F0 <= kMaxMagnitude) & (K >= kMinMagnitude) & (K <= kMaxMagnitude) &
         (vabs(t) <= kMaxMagnitude) & (vabs(r * t) <= kMaxRateTime) & ((inverse == 0.0) | (inverse == 1.0)) &
         (forward_like | (vabs(theta) == 1.0));
}
// The total vol sigma sqrt(t) and the terms of it the Black head needs.
inline BlackVol scenario_vol(vd sigma, vd sqrt_t) {
  const vd s = sigma * sqrt_t;
  return black_vol(s, 1.0 / select(s > kMinTotalVol, s, splat(1.0)));
}
// Intrinsic plus time value (+ 0.0 turns -0.0 into +0.0), discounted unless the rate is 0.
inline vd scenario_value(vd theta, vd fk, vd time_value, vd discount, bool zero_rate) {
  const vd V = vmax(theta * fk, splat(0.0)) + time_value + 0.0;
  return zero_rate ? V : V * discount;
}
// The base state's dV/dF = theta N(theta d1) e^{-rT} (a forward's is set to 1 by the caller).
inline vd scenario_base_delta(vd theta, vd n1, vd discount, bool zero_rate) {
  const vd delta = theta * n1;
  return zero_rate ? delta : delta * discount;
}

// One instrument, its scenarios across the lanes (the live engine reprices one option at a time: lanes over
// instruments would leave W - 1 of them idle).  Every lane runs the arithmetic of the instrument-lane kernel
// below on that lane's inputs, in the same order, so the values are the same bits.
inline std::int64_t scenario_values_one(const ScenarioInputs& in, double* values, std::size_t i,
                                        const double* log_growth, const double* inv_growth) {
  const std::size_t n = in.n_instruments, m = in.n_scenarios;
  const bool zero_rate = in.r == 0.0;
  const bool shifted = in.time_shift != nullptr;
  const vd theta = splat(in.flag[i]), F0 = splat(in.forward[i]), t = splat(in.t[i]), inverse = splat(in.inverse[i]);
  const vi forward_like = theta == 0.0;
  const vd K = select(forward_like, F0, splat(in.strike[i]));
  if (!all(scenario_instrument_ok(theta, F0, K, t, inverse, in.r))) return static_cast<std::int64_t>(i * m);
  for (std::size_t j = 0; j < m; ++j) {
    const double sigma = in.sigma[static_cast<std::size_t>(in.vol_state[j]) * n + i];
    if (!(sigma >= 0.0 && sigma <= kMaxMagnitude)) return static_cast<std::int64_t>(i * m + j);
  }
  const bool is_forward = forward_like[0] != 0, is_inverse = (inverse == 1.0)[0] != 0;
  const vd inv_f0 = 1.0 / F0;
  const vd x0 = vlog_ratio(F0, K, inv_f0);
  const vd sqrt_t0 = vsqrt(vmax(t, splat(0.0)));
  const vd discount0 = zero_rate ? splat(1.0) : vexp(-in.r * vmax(t, splat(0.0)));
  const std::size_t first_column = in.base_first ? 1 : 0;
  double* row = values + i * (m - first_column);
  double base = 0.0;
  for (std::size_t j0 = 0; j0 < m; j0 += W) {
    const std::size_t lanes = std::min<std::size_t>(W, m - j0);
    double move_l[W], sigma_l[W], shift_l[W], log_l[W], inv_l[W];
    for (std::size_t l = 0; l < static_cast<std::size_t>(W); ++l) {
      const std::size_t j = j0 + std::min(l, lanes - 1);  // padding lanes repeat the last scenario
      move_l[l] = in.move[j];
      sigma_l[l] = in.sigma[static_cast<std::size_t>(in.vol_state[j]) * n + i];
      shift_l[l] = shifted ? in.time_shift[j] : 0.0;
      log_l[l] = log_growth[j], inv_l[l] = inv_growth[j];
    }
    const vd move = load(move_l), sigma = load(sigma_l);
    vd T = t, sqrt_t = sqrt_t0;
    if (shifted) {
      T = vmax(t - load(shift_l), splat(0.0));
      sqrt_t = vsqrt(T);
    }
    const BlackVol vol = scenario_vol(sigma, sqrt_t);
    const vd growth = 1.0 + move;
    const vd F = F0 * growth;
    const vd fk = (F0 - K) + F0 * move;  // F - K without the rounding of F (exact near the money)
    const vd x = x0 + load(log_l);
    const BlackTerms bt = black_tail(black_head(vol, x), theta, F, K, fk, vol.s, x);
    const vd discount = shifted && !zero_rate ? vexp(-in.r * vmax(T, splat(0.0))) : discount0;
    vd V = scenario_value(theta, fk, bt.tv, discount, zero_rate);
    if (is_forward) V = F;
    if (in.base_first && j0 == 0 && in.base_value != nullptr) {
      in.base_value[i] = V[0];
      in.base_delta[i] = is_forward ? 1.0 : scenario_base_delta(theta, bt.n1, discount, zero_rate)[0];
    }
    if (is_inverse) V = V * inv_f0 * load(inv_l);  // coin value V / (F0 (1 + m))
    if (!in.base_first) {
      store_part(row + j0, lanes, V);
      continue;
    }
    if (j0 == 0) base = V[0];
    double pnl[W];
    store(pnl, V - splat(base));
    for (std::size_t l = j0 == 0 ? 1 : 0; l < lanes; ++l) row[j0 + l - 1] = pnl[l];
  }
  return -1;
}

inline std::int64_t scenario_values_kernel(const ScenarioInputs& in, double* values, std::size_t begin,
                                           std::size_t end) {
  const std::size_t n = in.n_instruments, m = in.n_scenarios;
  if (in.base_first && m == 0) return static_cast<std::int64_t>(begin);
  const double inf = __builtin_inf();
  for (std::size_t j = 0; j < m; ++j) {
    if (!(in.move[j] > -1.0 && in.move[j] < inf)) return static_cast<std::int64_t>(begin * m + j);
    if (in.vol_state[j] < 0 || static_cast<std::size_t>(in.vol_state[j]) >= in.n_vol_states)
      return static_cast<std::int64_t>(begin * m + j);
    if (in.time_shift && !std::isfinite(in.time_shift[j])) return static_cast<std::int64_t>(begin * m + j);
  }
  // Per scenario, once per call (or once per binding, given): ln(1 + m_j) and 1 / (1 + m_j).
  std::vector<double> growth_store;
  const double *log_growth = in.log_growth, *inv_growth = in.inv_growth;
  if (!log_growth || !inv_growth) {
    growth_store.resize(2 * m);
    for (std::size_t j = 0; j < m; ++j) {
      growth_store[j] = std::log1p(in.move[j]);
      growth_store[m + j] = 1.0 / (1.0 + in.move[j]);
    }
    log_growth = growth_store.data(), inv_growth = growth_store.data() + m;
  }
  if (end - begin == 1 && m > 1) return scenario_values_one(in, values, begin, log_growth, inv_growth);
  const bool zero_rate = in.r == 0.0;
  const bool shifted = in.time_shift != nullptr;
  std::int64_t first_bad = -1;
  double lane_values[W];
  // Scenarios in chunks of up to kScenarioChunk, two passes each (the heads of the chunk's Black terms, then
  // their tails and the stores): short independent iterations the CPU overlaps, where one iteration per
  // scenario (loads -> d1 -> exp -> division -> polynomial -> store) is one long dependency chain.
  // Chunks of equal size (33 scenarios: 3 x 11, not 16 + 16 + 1).
  const std::size_t n_chunks = std::max<std::size_t>(1, (m + kScenarioChunk - 1) / kScenarioChunk);
  const std::size_t chunk = (m + n_chunks - 1) / n_chunks;
  BlackHead chunk_head[kScenarioChunk];
  vd chunk_s[kScenarioChunk], chunk_discount[kScenarioChunk];
  const std::size_t first_column = in.base_first ? 1 : 0;
  const std::size_t out_columns = m - first_column;
  for (std::size_t i0 = begin; i0 < end; i0 += W) {
    const bool full = i0 + W <= end;
    const Column flag_c{in.flag, 1}, forward_c{in.forward, 1}, strike_c{in.strike, 1}, t_c{in.t, 1},
        inverse_c{in.inverse, 1};
    const vd theta = full ? load(in.flag + i0) : load_tail(flag_c, i0, end, 1.0);
    const vd F0 = full ? load(in.forward + i0) : load_tail(forward_c, i0, end, 1.0);
    const vd t = full ? load(in.t + i0) : load_tail(t_c, i0, end, 1.0);
    const vd inverse = full ? load(in.inverse + i0) : load_tail(inverse_c, i0, end, 0.0);
    const vi forward_like = theta == 0.0;
    const vd K = select(forward_like, F0, full ? load(in.strike + i0) : load_tail(strike_c, i0, end, 1.0));
    const vi ok = scenario_instrument_ok(theta, F0, K, t, inverse, in.r);
    if (!all(ok) && first_bad < 0) {
      for (int l = 0; l < W; ++l)
        if (!ok[l]) {
          first_bad = static_cast<std::int64_t>((i0 + static_cast<std::size_t>(l)) * m);
          break;
        }
    }
    const vi is_inverse = inverse == 1.0;
    // Blocks of options only, in the quote currency (the usual case), skip both selects per scenario.
    const bool any_forward_like = any(forward_like), any_inverse = any(is_inverse);
    const vd inv_f0 = 1.0 / F0;
    const vd x0 = vlog_ratio(F0, K, inv_f0);
    const vd sqrt_t0 = vsqrt(vmax(t, splat(0.0)));
    // Without time shifts the total vol s and its reciprocal depend only on the vol state: one division per
    // state and block instead of one per scenario (Deribit-style grids share 3 states over 9+ moves).
    const bool hoist = !shifted && in.n_vol_states <= kHoistedStates;
    BlackVol state_vol[kHoistedStates];
    // Per-scenario sigma checks are needed only where a state is not hoisted or one has a bad vol (then the
    // scenario loop finds the first bad (instrument, scenario) in order).
    bool check_sigma = !hoist;
    if (hoist) {
      for (std::size_t k = 0; k < in.n_vol_states; ++k) {
        const double* sigma_row = in.sigma + k * n;
        const Column sigma_c{sigma_row, 1};
        const vd sigma = full ? load(sigma_row + i0) : load_tail(sigma_c, i0, end, 0.1);
        check_sigma |= any(~((sigma >= 0.0) & (sigma <= kMaxMagnitude)));
        state_vol[k] = scenario_vol(sigma, sqrt_t0);
      }
    }
    // Without time shifts every scenario has the same time, so the same discount factor.
    const vd discount0 = zero_rate ? splat(1.0) : vexp(-in.r * vmax(t, splat(0.0)));
    vd base = splat(0.0);
    for (std::size_t j0 = 0; j0 < m; j0 += chunk) {
      const std::size_t j1 = std::min(m, j0 + chunk);
      // Pass 1: per scenario the total vol, the head of the Black terms (d1, its exp, the erfcx division) and
      // the discount factor of a shifted time.
      for (std::size_t j = j0; j < j1; ++j) {
        const auto state = static_cast<std::size_t>(in.vol_state[j]);
        const double* sigma_row = in.sigma + state * n;
        const Column sigma_c{sigma_row, 1};
        if (check_sigma && first_bad < 0) {
          const vd sigma = full ? load(sigma_row + i0) : load_tail(sigma_c, i0, end, 0.1);
          if (any(~((sigma >= 0.0) & (sigma <= kMaxMagnitude)))) {
            for (int l = 0; l < W; ++l)
              if (!(sigma[l] >= 0.0 && sigma[l] <= kMaxMagnitude)) {
                first_bad = static_cast<std::int64_t>((i0 + static_cast<std::size_t>(l)) * m + j);
                break;
              }
          }
        }
        BlackVol vol;
        if (hoist) {
          vol = state_vol[state];
        } else {
          const vd sigma = full ? load(sigma_row + i0) : load_tail(sigma_c, i0, end, 0.1);
          vd sqrt_t = sqrt_t0;
          if (shifted) {
            const vd T = vmax(t - in.time_shift[j], splat(0.0));
            sqrt_t = vsqrt(T);
            if (!zero_rate) chunk_discount[j - j0] = vexp(-in.r * vmax(T, splat(0.0)));
          }
          vol = scenario_vol(sigma, sqrt_t);
        }
        chunk_s[j - j0] = vol.s;
        chunk_head[j - j0] = black_head(vol, x0 + log_growth[j]);
      }
      // Pass 2: the normal tails, the value and its P&L.
      for (std::size_t j = j0; j < j1; ++j) {
        const double growth = 1.0 + in.move[j];
        const vd s = chunk_s[j - j0];
        const vd F = F0 * growth;
        const vd fk = (F0 - K) + F0 * in.move[j];  // F - K without the rounding of F (exact near the money)
        const BlackTerms bt = black_tail(chunk_head[j - j0], theta, F, K, fk, s, x0 + log_growth[j]);
        const vd discount = shifted && !zero_rate ? chunk_discount[j - j0] : discount0;
        vd V = scenario_value(theta, fk, bt.tv, discount, zero_rate);
        if (any_forward_like) V = select(forward_like, F, V);
        if (in.base_first && j == 0 && in.base_value != nullptr) {
          // Base state: value in the quote currency and its dV/dF (1 for a forward).
          const vd delta = select(forward_like, splat(1.0), scenario_base_delta(theta, bt.n1, discount, zero_rate));
          double lane_delta[W];
          store(lane_values, V);
          store(lane_delta, delta);
          for (std::size_t l = 0; l < static_cast<std::size_t>(W) && i0 + l < end; ++l) {
            in.base_value[i0 + l] = lane_values[l];
            in.base_delta[i0 + l] = lane_delta[l];
          }
        }
        if (any_inverse) V = select(is_inverse, V * inv_f0 * inv_growth[j], V);  // coin value V / (F0 (1 + m))
        if (in.base_first && j == 0) {
          base = V;
          continue;
        }
        // One column of the instrument-major matrix: lane l goes to row i0 + l (a full block without bounds
        // tests, unrolled).
        const vd pnl = V - base;
        double* column = values + i0 * out_columns + (j - first_column);
        if (full) {
          for (int l = 0; l < W; ++l) column[static_cast<std::size_t>(l) * out_columns] = pnl[l];
        } else {
          store(lane_values, pnl);
          for (std::size_t l = 0; i0 + l < end; ++l) column[l * out_columns] = lane_values[l];
        }
      }
    }
  }
  return first_bad;
}
