// Deribit-style portfolio margin of every (account, risk-vector key) of a book in one pass over its positions
// (docs/margin.md, "Deribit portfolio margin", steps 5-9).  Included inside each SIMD target's namespace
// (src/simd/target.cpp): the loops over the 35 scenario entries vectorise for the target's ISA.
//
//   1. L = Q . P: each group sums quantity x the instrument's scenario vector (standard entries, then the
//      weighted extended ones), its positions in CSR order, and its net coin delta per expiry column;
//   2. the extended entries are dampened toward zero, gains count at pnl_offset capped at max_offsetable_pnl;
//   3. worst case = max(0, -min entry) and its index (a tie inside a bucket goes to the vol-same entry);
//   4. roll shock = sum over expiries of |net delta| x max(min_annualised_move, annualised_move_risk x T),
//      delta shock = |delta| x min(max_delta_shock, m_inc x max(0, |delta| - threshold / index)), in the
//      key's currency; MM = mm_factor x (worst + roll + delta shock), IM = that + the given add-ons.
//
// Steps 2-4 on one group are `pm_group_kernel`: the single implementation that the bulk pass, the what-if
// path and the live engine all run (the same target, so the same bits).  No standard-library calls: every
// function here must belong to this target's namespace (cmake/check_isa_symbols.cmake).
#pragma once

constexpr std::size_t kPmStandardWidth = 35;

inline double pm_max(double a, double b) { return a > b ? a : b; }
inline double pm_min(double a, double b) { return a < b ? a : b; }
inline double pm_abs(double a) { return a < 0 ? -a : a; }

PmGroupFigures pm_group_kernel(double* entries, const PmShape& shape, const PmKey& key, const double* net_by_column,
                               const double* t_column, std::size_t n_columns) {
  const std::size_t n_std = shape.n_standard, width = shape.width();
  const double R = key.price_range;
  // Dampener: A_m = (max(|m| / R, 1) - 1) x extended_dampener (USD), per coin at the edge of the range.
  for (std::size_t j = 0; j < shape.n_extended; ++j) {
    const double m = shape.extended_moves[j];
    const double sign = m > 0 ? 1.0 : (m < 0 ? -1.0 : 0.0);
    double amount = (pm_max(pm_abs(m) / R, 1.0) - 1.0) * key.dampener;
    if (key.coin) amount = amount / ((1.0 + sign * R) * key.index);
    double& e = entries[n_std + j];
    const double shrunk = pm_max(pm_abs(e) - amount, 0.0);
    e = (e > 0 ? shrunk : (e < 0 ? -shrunk : 0.0)) + 0.0;  // + 0.0: no -0.0 entries
  }
  // Gains count at pnl_offset, capped (the cap is in USD: coin keys convert it at the index).
  const double cap = key.coin ? key.max_offsetable_pnl / key.index : key.max_offsetable_pnl;
  for (std::size_t j = 0; j < width; ++j) {
    const double e = entries[j];
    entries[j] = e > 0 ? pm_min(e * key.pnl_offset, cap) : pm_min(e, 0.0) + 0.0;
  }
  double lowest = 0.0;
  std::size_t lowest_at = 0;
  for (std::size_t j = 0; j < width; ++j)
    if (j == 0 || entries[j] < lowest) lowest = entries[j], lowest_at = j;
  PmGroupFigures out;
  out.worst_case = pm_max(0.0, -lowest);
  // A tie inside a bucket reports the middle (vol same) entry, as Deribit does.
  std::size_t worst = lowest_at;
  if (worst < n_std) {
    const std::size_t middle = 3 * (worst / 3) + 1;
    if (middle < width && entries[middle] == lowest) worst = middle;
  }
  out.worst_index = static_cast<std::int64_t>(worst);
  out.worst_pnl = lowest;
  const double per_coin = key.coin ? 1.0 : key.index;  // coin amounts -> the key's currency
  double roll = 0.0, delta = 0.0;
  for (std::size_t c = 0; c < n_columns; ++c) {
    const double rate = pm_max(key.min_annualised_move, key.annualised_move_risk * t_column[c]);
    roll += pm_abs(net_by_column[c]) * rate;
    delta += net_by_column[c];
  }
  out.roll_shock = roll * per_coin;
  out.delta = delta;
  const double size = pm_abs(delta);
  const double threshold = key.delta_threshold / key.index;
  out.delta_shock = size * pm_min(key.max_delta_shock, key.m_inc * pm_max(0.0, size - threshold)) * per_coin;
  out.risk_matrix_margin = out.worst_case + out.roll_shock + out.delta_shock;
  out.initial = out.risk_matrix_margin + key.addons;
  out.maintenance = shape.mm_factor * out.risk_matrix_margin;
  return out;
}

// Accounts [begin, end): their groups land at rows first_group[a] ... in key order.  Each group sums its
// positions in CSR order, so the figures do not depend on how accounts are split across threads.
void pm_accounts_kernel(const PmBook& book, const PmShape& shape, const std::int64_t* first_group,
                        const PmColumns& out, const PmScratch& scratch, std::size_t begin, std::size_t end) {
  const std::size_t width = shape.width(), n_keys = book.n_keys, n_cols = book.n_columns;
  double* sums = scratch.sums;
  double* net = scratch.net;
  std::uint8_t* used = scratch.used;
  for (std::size_t a = begin; a < end; ++a) {
    for (std::int64_t p = book.indptr[a]; p < book.indptr[a + 1]; ++p) {
      const auto i = static_cast<std::size_t>(book.indices[p]);
      const std::int64_t k = book.key[i];
      if (k < 0) continue;
      const auto ku = static_cast<std::size_t>(k);
      double* __restrict row = sums + ku * width;
      double* __restrict net_row = net + ku * n_cols;
      if (!used[ku]) {
        used[ku] = 1;
        for (std::size_t j = 0; j < width; ++j) row[j] = 0.0;
        for (std::size_t c = 0; c < n_cols; ++c) net_row[c] = 0.0;
      }
      const double q = book.quantity[p];
      const double* __restrict v = book.vectors + i * width;
      if (width == kPmStandardWidth)  // Deribit's 27 + 8 entries: a trip count the compiler can unroll
        for (std::size_t j = 0; j < kPmStandardWidth; ++j) row[j] += q * v[j];
      else
        for (std::size_t j = 0; j < width; ++j) row[j] += q * v[j];
      net_row[static_cast<std::size_t>(book.column[i])] += q * book.delta[i];
    }
    auto g = static_cast<std::size_t>(first_group[a]);
    std::uint64_t taken = 0;  // coins already placed in an earlier group of this account
    for (std::size_t k = 0; k < n_keys; ++k) {
      if (!used[k]) continue;
      used[k] = 0;
      double* row = sums + k * width;
      if (book.collateral)
        for (std::size_t j = 0; j < width; ++j) row[j] += book.collateral[g * width + j];
      if (book.coins && book.coin_col[k] >= 0 && !((taken >> book.coin_col[k]) & 1U)) {
        const auto cc = static_cast<std::size_t>(book.coin_col[k]);
        taken |= std::uint64_t{1} << cc;
        const double amount = book.coins[a * book.n_coins + cc];
        const double* move = book.coin_moves + k * width;
        if (book.coin_gain_cap) {  // an offset currency's gains count up to its cap, a loss always in full
          const double cap = book.coin_gain_cap[cc];
          for (std::size_t j = 0; j < width; ++j) row[j] += pm_min(amount * move[j], cap);
        } else {
          for (std::size_t j = 0; j < width; ++j) row[j] += amount * move[j];
        }
      }
      if (out.pre)
        for (std::size_t j = 0; j < width; ++j) out.pre[g * width + j] = row[j];
      const PmGroupFigures f = pm_group_kernel(row, shape, book.keys[k], net + k * n_cols, book.t_column, n_cols);
      if (out.aggregated)
        for (std::size_t j = 0; j < width; ++j) out.aggregated[g * width + j] = row[j];
      out.account[g] = static_cast<std::int64_t>(a);
      out.key[g] = static_cast<std::int64_t>(k);
      out.worst_case[g] = f.worst_case;
      out.worst_index[g] = f.worst_index;
      out.worst_pnl[g] = f.worst_pnl;
      out.roll_shock[g] = f.roll_shock;
      out.delta_shock[g] = f.delta_shock;
      out.delta[g] = f.delta;
      out.risk_matrix_margin[g] = f.risk_matrix_margin;
      out.initial[g] = f.initial;
      out.maintenance[g] = f.maintenance;
      ++g;
    }
  }
}
