// Deribit-style portfolio margin of every (account, risk-vector key) of a book in one pass over its positions
// (docs/margin.md, "Deribit portfolio margin", steps 5-9):
//
//   1. L = Q . P: each group sums quantity x the instrument's scenario vector (standard entries, then the
//      weighted extended ones), its positions in CSR order; and its net coin delta per expiry column;
//   2. the extended entries are dampened toward zero, gains count at pnl_offset capped at max_offsetable_pnl;
//   3. worst case = max(0, -min entry) and its index (a tie inside a bucket goes to the vol-same entry);
//   4. roll shock = sum over expiries of |net delta| x max(min_annualised_move, annualised_move_risk x T),
//      delta shock = |delta| x min(max_delta_shock, m_inc x max(0, |delta| - threshold / index)), in the
//      key's currency; MM = mm_factor x (worst + roll + delta shock), IM = that + the given add-ons.
//
// Step 2-4 on one group is `reduce_group`, the single implementation that the bulk pass, the what-if path and
// the live engine all call.  Parameters are data: Python reads them and passes arrays.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace riskoffset::margin {

// One risk-vector key (``btc_btc``, ``btc_usdc`` ...): the pair's and the settlement currency's parameters.
struct PmKey {
  double price_range = 0;        // R: the standard table spans moves of -R .. +R
  double index = 0;              // the pair's index price (USD)
  double dampener = 0;           // extended_dampener (USD)
  double pnl_offset = 0;         // gains count at this fraction
  double max_offsetable_pnl = 0; // cap on the counted gains (USD)
  double annualised_move_risk = 0;
  double min_annualised_move = 0;
  double delta_threshold = 0;    // delta_total_liq_shock_threshold (USD)
  double m_inc = 0;
  double max_delta_shock = 0;
  double addons = 0;             // open-order, MMP and spot margins given with the parameters (key's currency)
  bool coin = false;             // coin-settled: amounts in coin; linear: in the settlement currency (USD)
};

struct PmShape {
  std::size_t n_standard = 0;    // 3 (2B + 1) standard entries, bucket-major, vol states [up, same, down]
  std::size_t n_extended = 0;
  const double* extended_moves = nullptr;  // n_extended
  double mm_factor = 0;
  std::size_t width() const { return n_standard + n_extended; }
};

struct PmGroupFigures {
  double worst_case = 0, roll_shock = 0, delta_shock = 0, delta = 0;
  double risk_matrix_margin = 0, initial = 0, maintenance = 0;
  std::int64_t worst_index = 0;
};

// Steps 2-4 for one group.  `entries` holds the group's pre-aggregated vector (width() values) and receives
// the aggregated one; `net_by_column` the net coin delta per expiry column, `t_column` each column's T.
inline PmGroupFigures reduce_group(double* entries, const PmShape& shape, const PmKey& key,
                                   const double* net_by_column, const double* t_column, std::size_t n_columns) {
  const std::size_t n_std = shape.n_standard, width = shape.width();
  const double R = key.price_range;
  // Dampener: A_m = (max(|m| / R, 1) - 1) x extended_dampener, per coin at the edge of the range for coin keys.
  for (std::size_t j = 0; j < shape.n_extended; ++j) {
    const double m = shape.extended_moves[j];
    const double sign = m > 0 ? 1.0 : (m < 0 ? -1.0 : 0.0);
    double amount = (std::max(std::fabs(m) / R, 1.0) - 1.0) * key.dampener;
    if (key.coin) amount = amount / ((1.0 + sign * R) * key.index);
    double& e = entries[n_std + j];
    const double shrunk = std::max(std::fabs(e) - amount, 0.0);
    e = (e > 0 ? shrunk : (e < 0 ? -shrunk : 0.0)) + 0.0;  // + 0.0: no -0.0 entries
  }
  // Gains count at pnl_offset, capped (the cap is in USD: coin keys at the index).
  const double cap = key.coin ? key.max_offsetable_pnl / key.index : key.max_offsetable_pnl;
  double lowest = HUGE_VAL;
  std::size_t lowest_at = 0;
  for (std::size_t j = 0; j < width; ++j) {
    double e = entries[j];
    if (e > 0) e = std::min(e * key.pnl_offset, cap);
    else e = std::min(e, 0.0);
    entries[j] = e;
    if (e < lowest) lowest = e, lowest_at = j;
  }
  if (width == 0) lowest = 0.0;
  PmGroupFigures out;
  out.worst_case = std::max(0.0, -lowest);
  // A tie inside a bucket reports the middle (vol same) entry, as Deribit does.
  std::size_t worst = lowest_at;
  if (worst < n_std) {
    const std::size_t middle = 3 * (worst / 3) + 1;
    if (middle < width && entries[middle] == lowest) worst = middle;
  }
  out.worst_index = static_cast<std::int64_t>(worst);
  const double per_coin = key.coin ? 1.0 : key.index;  // coin amounts -> the key's currency
  double roll = 0.0, delta = 0.0;
  for (std::size_t c = 0; c < n_columns; ++c) {
    const double rate = std::max(key.min_annualised_move, key.annualised_move_risk * t_column[c]);
    roll += std::fabs(net_by_column[c]) * rate;
    delta += net_by_column[c];
  }
  out.roll_shock = roll * per_coin;
  out.delta = delta;
  const double size = std::fabs(delta);
  const double threshold = key.delta_threshold / key.index;
  out.delta_shock = size * std::min(key.max_delta_shock, key.m_inc * std::max(0.0, size - threshold)) * per_coin;
  out.risk_matrix_margin = out.worst_case + out.roll_shock + out.delta_shock;
  out.initial = out.risk_matrix_margin + key.addons;
  out.maintenance = shape.mm_factor * out.risk_matrix_margin;
  return out;
}

// A book in CSR form and the per-instrument inputs of the pass.
struct PmBook {
  const std::int64_t* indptr = nullptr;  // n_accounts + 1
  const std::int64_t* indices = nullptr; // instrument row of each position
  const double* quantity = nullptr;
  std::size_t n_accounts = 0;
  std::size_t n_instruments = 0;
  const std::int64_t* key = nullptr;     // per instrument: risk-vector key, or -1 (not a risk position: spot)
  const double* vectors = nullptr;       // per instrument, width() entries per unit of amount
  const double* delta = nullptr;         // per instrument: coin delta per unit counted in the roll/delta shocks
  const std::int64_t* column = nullptr;  // per instrument: expiry column
  const double* t_column = nullptr;      // per column: T in years (0 for perpetuals)
  std::size_t n_columns = 0;
  const PmKey* keys = nullptr;
  std::size_t n_keys = 0;
};

struct PmColumns {  // one row per group; `pre` and `aggregated` (groups x width) may be null
  std::int64_t* account = nullptr;
  std::int64_t* key = nullptr;
  double* worst_case = nullptr;
  std::int64_t* worst_index = nullptr;
  double* roll_shock = nullptr;
  double* delta_shock = nullptr;
  double* delta = nullptr;
  double* risk_matrix_margin = nullptr;
  double* initial = nullptr;
  double* maintenance = nullptr;
  double* pre = nullptr;
  double* aggregated = nullptr;
};

// Number of groups (distinct risk keys) of each account in [begin, end) into `count`.
inline void count_groups(const PmBook& book, std::int64_t* count, std::size_t begin, std::size_t end) {
  std::vector<std::uint8_t> seen(book.n_keys, 0);
  for (std::size_t a = begin; a < end; ++a) {
    std::int64_t n = 0;
    for (std::int64_t p = book.indptr[a]; p < book.indptr[a + 1]; ++p) {
      const std::int64_t k = book.key[book.indices[p]];
      if (k >= 0 && !seen[static_cast<std::size_t>(k)]) seen[static_cast<std::size_t>(k)] = 1, ++n;
    }
    for (std::int64_t p = book.indptr[a]; p < book.indptr[a + 1]; ++p) {
      const std::int64_t k = book.key[book.indices[p]];
      if (k >= 0) seen[static_cast<std::size_t>(k)] = 0;
    }
    count[a] = n;
  }
}

// Accounts [begin, end): their groups land at rows first_group[a] ... in key order.  Each group sums its
// positions in CSR order, so the figures do not depend on how accounts are split across threads.
inline void portfolio_margin_accounts(const PmBook& book, const PmShape& shape, const std::int64_t* first_group,
                                      const PmColumns& out, std::size_t begin, std::size_t end) {
  const std::size_t width = shape.width(), n_keys = book.n_keys, n_cols = book.n_columns;
  std::vector<double> acc(n_keys * width), net(n_keys * n_cols);
  std::vector<std::uint8_t> used(n_keys, 0);
  for (std::size_t a = begin; a < end; ++a) {
    for (std::int64_t p = book.indptr[a]; p < book.indptr[a + 1]; ++p) {
      const auto i = static_cast<std::size_t>(book.indices[p]);
      const std::int64_t k = book.key[i];
      if (k < 0) continue;
      const auto ku = static_cast<std::size_t>(k);
      double* __restrict row = acc.data() + ku * width;
      if (!used[ku]) {
        used[ku] = 1;
        std::fill(row, row + width, 0.0);
        std::fill(net.begin() + static_cast<std::ptrdiff_t>(ku * n_cols),
                  net.begin() + static_cast<std::ptrdiff_t>((ku + 1) * n_cols), 0.0);
      }
      const double q = book.quantity[p];
      const double* __restrict v = book.vectors + i * width;
      for (std::size_t j = 0; j < width; ++j) row[j] += q * v[j];
      net[ku * n_cols + static_cast<std::size_t>(book.column[i])] += q * book.delta[i];
    }
    auto g = static_cast<std::size_t>(first_group[a]);
    for (std::size_t k = 0; k < n_keys; ++k) {
      if (!used[k]) continue;
      used[k] = 0;
      double* row = acc.data() + k * width;
      if (out.pre) std::copy(row, row + width, out.pre + g * width);
      const PmGroupFigures f =
          reduce_group(row, shape, book.keys[k], net.data() + k * n_cols, book.t_column, n_cols);
      if (out.aggregated) std::copy(row, row + width, out.aggregated + g * width);
      out.account[g] = static_cast<std::int64_t>(a);
      out.key[g] = static_cast<std::int64_t>(k);
      out.worst_case[g] = f.worst_case;
      out.worst_index[g] = f.worst_index;
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

}  // namespace riskoffset::margin
