// SPAN per (account, combined commodity) group in one rate class (docs/span.md; the steps of
// python/riskoffset/margining/span/algorithm.py that stay within one combined commodity):
//
//   1. scan risk: L_j = sum_p n_p a_p[j] (arrays times the pointDef weights when asked), scan = max(0, max_j L_j) and
//      its scenario (the first of equal losses); with scan tiers, the sum over the tiers held of each tier's
//      max(0, max_j L_j), the scenario being that of the largest tier maximum;
//   2. delta pools: per period sum n_p d_p (rows in order), per intra tier the sum of its periods' pools in
//      period order (or the whole CC's sum when it has no intra tiers);
//   3. intra-commodity spreads in priority order: a spread forms when every leg's pool is non-zero and the
//      A legs have one sign, the B legs the other; N = min |delta_leg| / i_leg; each leg's pool moves N i_leg
//      toward zero; the charge is N x amount (flat or per month, given per spread) or, weighted price, the sum
//      over legs of rate x N x i_leg x the futures price scan range;
//   4. spot-month charge per spot rate: of the spot month's delta |sum of its periods' pools before the spreads|,
//      the part the spreads took (from its period pools, else from the first period's intra tier) at sprd,
//      the rest at outr;
//   5. short option minimum per SOM tier: rate x (short calls + short puts) (GROSS) or rate x the larger;
//   6. net option value sum n x price x cvf of premium-style options; risk = max(scan + intra + spot, SOM);
//   7. what the inter-commodity spreads read (when asked): price risk max(scan - TR - VR, 0) with time risk TR the
//      mean loss over the no-move scenarios and volatility risk VR half the gap between the scan's scenario and
//      its paired one, and each inter pool's delta before the spreads and after the intra spreads.
//
// The cross-commodity spreads themselves work on an account's groups together (the bindings' SpanAccount): super
// spreads (and scanning spreads of that level) between the pass's two phases (steps 1-2, then 3-7 on the pools
// they moved), inter-commodity and scanning spreads after it.  No standard-library calls
// (cmake/check_isa_symbols.cmake).
#pragma once

#include "margin/span_spread_count.hpp"

inline double span_abs(double a) { return a < 0 ? -a : a; }

// A group's pools (their deltas now, before the spreads, what the spreads took, whether held) and its loss rows.
struct SpanGroupWork {
  double *pools, *orig, *consumed, *present;
  double* __restrict losses;
  double* __restrict tier_losses;  // max_scan_tiers x n_points
  double* tier_held;               // max_scan_tiers
};
struct SpanScan {
  double scan = 0.0, nov = 0.0;
  std::int64_t active = 0;
};

// Steps 1 and 2 of group g (scan risk and its scenario, net option value, the delta pools before the spreads) and,
// when asked, its price risk.
inline SpanScan span_group_scan(const SpanBook& b, const SpanColumns& out, std::size_t g, const SpanGroupWork& w) {
  const std::size_t m = b.n_points;
  const auto cc = static_cast<std::size_t>(b.group_cc[g]);
  const std::int64_t p0 = b.pool_offset[cc];
  const auto n_pools = static_cast<std::size_t>(b.pool_offset[cc + 1] - p0);
  double *pools = w.pools, *present = w.present;
  double* __restrict losses = w.losses;
  for (std::size_t k = 0; k < n_pools; ++k) pools[k] = 0.0, w.consumed[k] = 0.0, present[k] = 0.0;
  for (std::size_t j = 0; j < m; ++j) losses[j] = 0.0;
  const std::int64_t first = b.group_start[g], last = b.group_start[g + 1];
  const bool star = b.star[cc] != 0;
  const auto n_st = static_cast<std::size_t>(b.n_scan_tiers[cc]);
  for (std::size_t t = 0; t < n_st; ++t) {
    w.tier_held[t] = 0.0;
    for (std::size_t j = 0; j < m; ++j) w.tier_losses[t * m + j] = 0.0;
  }
  SpanScan r;
  // (the CC's losses are also what its time and volatility risk read, with scan tiers too)
  const bool total = n_st == 0 || out.price_risk != nullptr;
  for (std::int64_t p = first; p < last; ++p) {
    const auto i = static_cast<std::size_t>(b.row[p]);
    const double n = b.n[p];
    const double* __restrict a = b.arrays + i * m;
    if (total)
      for (std::size_t j = 0; j < m; ++j) losses[j] += n * a[j];
    for (std::size_t t = 0; t < n_st; ++t) {
      if (!((b.scan_mask[i] >> t) & 1U)) continue;
      w.tier_held[t] = 1.0;
      double* __restrict lt = w.tier_losses + t * m;
      for (std::size_t j = 0; j < m; ++j) lt[j] += n * a[j];
    }
    const double dn = n * b.delta[i];
    pools[static_cast<std::size_t>(b.period_pool[i])] += dn;
    present[static_cast<std::size_t>(b.period_pool[i])] = 1.0;
    if (star) pools[0] += dn;
    if (b.premium[i]) r.nov += n * b.price[i] * b.cvf[i];
  }
  if (!star)
    for (std::size_t k = static_cast<std::size_t>(b.n_tier_pools[cc]); k < n_pools; ++k) {
      const std::int64_t t = b.period_tier[static_cast<std::size_t>(p0) + k];
      if (t >= 0) pools[static_cast<std::size_t>(t)] += pools[k];
    }
  for (std::size_t k = 0; k < n_pools; ++k) w.orig[k] = pools[k];
  // 1. scan risk
  if (n_st == 0) {
    double top = 0.0;
    std::size_t at = 0;
    for (std::size_t j = 0; j < m; ++j)
      if (j == 0 || losses[j] > top) top = losses[j], at = j;
    r.scan = (m && top > 0.0) ? top : 0.0;
    r.active = r.scan > 0.0 ? static_cast<std::int64_t>(at) + 1 : 0;
  } else {
    bool none_yet = true;
    double best = 0.0;
    for (std::size_t t = 0; t < n_st; ++t) {
      if (w.tier_held[t] == 0.0 || m == 0) continue;
      const double* lt = w.tier_losses + t * m;
      double top = lt[0];
      std::size_t at = 0;
      for (std::size_t j = 1; j < m; ++j)
        if (lt[j] > top) top = lt[j], at = j;
      r.scan += top > 0.0 ? top : 0.0;
      if (none_yet || top > best) best = top, r.active = static_cast<std::int64_t>(at) + 1, none_yet = false;
    }
  }
  // what the cross-commodity spreads read: the price risk (scan less time and volatility risk)
  if (out.price_risk) {
    const std::uint8_t* no_move = b.no_move + cc * m;
    const std::int64_t* paired = b.paired + cc * m;
    double time_sum = 0.0;
    std::size_t time_points = 0;
    for (std::size_t j = 0; j < m; ++j)
      if (no_move[j]) time_sum += losses[j], ++time_points;
    const double time_risk = time_points ? time_sum / static_cast<double>(time_points) : 0.0;
    double vol_risk = 0.0;
    if (r.active > 0 && paired[r.active - 1] > 0)
      vol_risk = span_abs(losses[r.active - 1] - losses[paired[r.active - 1] - 1]) / 2.0;
    const double price_risk = r.scan - time_risk - vol_risk;
    out.price_risk[g] = price_risk > 0.0 ? price_risk : 0.0;
  }
  return r;
}

// out.phase 0: every step of groups [begin, end); 1: steps 1 and 2 (and the price risk), the pools kept in
// out.pool_state; 2: the remaining steps on the kept pools (after the caller's super spreads moved them).
void span_groups_kernel(const SpanBook& b, const SpanColumns& out, double* scratch, std::size_t begin,
                        std::size_t end) {
  const std::size_t m = b.n_points;
  SpanGroupWork w{scratch, scratch + b.max_pools, scratch + 2 * b.max_pools, scratch + 3 * b.max_pools,
                  scratch + 4 * b.max_pools, nullptr, nullptr};
  w.tier_losses = w.losses + m;
  w.tier_held = w.tier_losses + b.max_scan_tiers * m;
  for (std::size_t g = begin; g < end; ++g) {
    const auto cc = static_cast<std::size_t>(b.group_cc[g]);
    const std::int64_t p0 = b.pool_offset[cc];
    const std::int64_t first = b.group_start[g], last = b.group_start[g + 1];
    if (out.phase != 0) {  // (the group's pools and losses kept between the phases)
      w.pools = out.pool_state + g * out.pool_stride;
      w.orig = w.pools + b.max_pools, w.consumed = w.pools + 2 * b.max_pools, w.present = w.pools + 3 * b.max_pools;
      w.losses = w.pools + 4 * b.max_pools;
    }
    SpanScan sr;
    if (out.phase == 2) {
      sr.scan = out.scan[g], sr.active = out.active[g], sr.nov = out.nov[g];
    } else {
      sr = span_group_scan(b, out, g, w);
      if (out.phase == 1) {
        out.scan[g] = sr.scan, out.active[g] = sr.active, out.nov[g] = sr.nov;
        continue;
      }
    }
    double* pools = w.pools;
    const double* orig = w.orig;
    double* consumed = w.consumed;
    const double* present = w.present;
    const double scan = sr.scan, nov = sr.nov;
    const std::int64_t active = sr.active;
    // 3. intra-commodity spreads
    double intra = 0.0;
    std::uint8_t formed = 0, unsupported = 0;
    for (std::int64_t s = b.spread_offset[cc]; s < b.spread_offset[cc + 1]; ++s) {
      const auto su = static_cast<std::size_t>(s);
      const std::int64_t l0 = b.leg_offset[su], l1 = b.leg_offset[su + 1];
      const double count = span_spread_count(l0, l1, b.leg_side, b.leg_ratio, [&](std::int64_t l) {
        return pools[static_cast<std::size_t>(b.leg_pool[static_cast<std::size_t>(l)])];
      });
      if (!(count > 0.0)) continue;
      if (b.method[su] == 2) {
        unsupported = 1;
        continue;
      }
      double charge;
      if (b.method[su] == 1) {
        charge = 0.0;
        for (std::int64_t l = l0; l < l1; ++l) {
          const auto lu = static_cast<std::size_t>(l);
          charge += b.leg_rate[lu] * count * b.leg_ratio[lu] * b.amount[su];
        }
      } else {
        charge = count * b.amount[su];
      }
      // every leg reads its pool before any moves (two legs may share one)
      double before[8];
      const std::int64_t n_legs = l1 - l0 < 8 ? l1 - l0 : 8;
      for (std::int64_t l = 0; l < n_legs; ++l) before[l] = pools[static_cast<std::size_t>(b.leg_pool[l0 + l])];
      for (std::int64_t l = 0; l < n_legs; ++l) {
        const auto lu = static_cast<std::size_t>(l0 + l);
        const double moved = before[l] < 0 ? -(count * b.leg_ratio[lu]) : count * b.leg_ratio[lu];
        pools[static_cast<std::size_t>(b.leg_pool[lu])] = before[l] - moved;
        consumed[static_cast<std::size_t>(b.leg_pool[lu])] += moved;
      }
      intra += charge;
      formed |= b.kind[su];
    }
    // 4. spot-month charge
    double spot = 0.0;
    for (std::int64_t r = b.spot_offset[cc]; r < b.spot_offset[cc + 1]; ++r) {
      const auto ru = static_cast<std::size_t>(r);
      double delta_spot = 0.0, used = 0.0;
      std::int64_t first_pool = -1;
      for (std::int64_t q = b.spot_pool_offset[ru]; q < b.spot_pool_offset[ru + 1]; ++q) {
        const auto k = static_cast<std::size_t>(b.spot_pool[static_cast<std::size_t>(q)]);
        if (present[k] == 0.0) continue;
        if (first_pool < 0) first_pool = static_cast<std::int64_t>(k);
        delta_spot += orig[k];
        used += span_abs(consumed[k]);
      }
      if (first_pool < 0) continue;
      delta_spot = span_abs(delta_spot);
      if (used == 0.0) {
        const std::int64_t t = b.period_tier[static_cast<std::size_t>(p0 + first_pool)];
        used = t >= 0 ? span_abs(consumed[static_cast<std::size_t>(t)]) : 0.0;
      }
      const double in_spread = used < delta_spot ? used : delta_spot;
      spot += b.spot_sprd[ru] * in_spread + b.spot_outr[ru] * (delta_spot - in_spread);
    }
    // 5. short option minimum
    double som = 0.0;
    const bool gross = b.som_gross[cc] != 0;
    for (std::int64_t t = b.som_offset[cc]; t < b.som_offset[cc + 1]; ++t) {
      const double rate = b.som_rate[static_cast<std::size_t>(t)];
      const std::uint64_t bit = std::uint64_t{1} << static_cast<unsigned>(t - b.som_offset[cc]);
      double calls = 0.0, puts = 0.0;
      bool any = false;
      for (std::int64_t p = first; p < last; ++p) {
        const auto i = static_cast<std::size_t>(b.row[p]);
        const double n = b.n[p];
        if (!b.option[i] || !(n < 0) || !(b.som_mask[i] & bit)) continue;
        any = true;
        if (b.option[i] == 1) calls += n;
        if (b.option[i] == 2) puts += n;
      }
      if (!any) continue;
      calls = -calls, puts = -puts;
      som += rate * (gross ? calls + puts : (puts > calls ? puts : calls));
    }
    // 7. what the inter-commodity spreads read: each inter pool's delta before the spreads and after them
    if (out.inter_orig) {
      double* inter_orig = out.inter_orig + g * out.inter_stride;
      double* inter_delta = out.inter_delta + g * out.inter_stride;
      const std::int64_t t0 = b.inter_offset[cc];
      for (std::int64_t t = t0; t < b.inter_offset[cc + 1]; ++t) {
        double before = 0.0, moved = 0.0;
        for (std::int64_t q = b.inter_member_offset[t]; q < b.inter_member_offset[t + 1]; ++q) {
          const auto k = static_cast<std::size_t>(b.inter_member_pool[q]);
          if (b.inter_member_use[q] & 1U) before += orig[k];
          if (b.inter_member_use[q] & 2U) moved += consumed[k];
        }
        inter_orig[t - t0] = before;
        inter_delta[t - t0] = out.offset && out.offset[g] ? 0.0 : before - moved;
      }
    }
    const double base = scan + intra + spot;
    out.scan[g] = scan;
    out.active[g] = active;
    out.intra[g] = intra;
    out.spot[g] = spot;
    out.som[g] = som;
    out.nov[g] = nov;
    out.risk[g] = som > base ? som : base;
    out.formed[g] = formed;
    out.unsupported[g] = unsupported;
  }
}
