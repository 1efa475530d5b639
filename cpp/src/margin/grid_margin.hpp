// Margin under a scenario grid of every (account, settlement currency) group of a book in one pass over its
// positions (docs/margin.md, scenario grids; python/riskoffset/margining/grid.py).  Included inside each SIMD
// target's namespace (src/simd/target.cpp): the loops over the scenarios vectorise for the target's ISA.
//
//   1. L = Q . P: each group sums quantity x the instrument's scenario P&L, its positions in CSR order, and
//      per underlying its net and gross coin delta (minimum delta requirement);
//   2. scan = max(0, max_j w_j (-L_j)) and its scenario (the first of equal losses);
//   3. minimum delta = sum over underlyings of (net_rate |net| + hedged_rate max(gross - |net|, 0)) x index,
//      in USD for a USD-like currency, else per coin; required = max(scan, minimum delta);
//      IM = required + provisions, MM = maintenance_ratio x required + provisions.
//
// Step 2-3 on one group are `grid_group_kernel`, the one implementation the bulk pass and a one-group call
// share.  No standard-library calls (cmake/check_isa_symbols.cmake).
#pragma once

inline double grid_abs(double a) { return a < 0 ? -a : a; }

// (Inlined into the accounts' pass; `grid_group_kernel` below is its entry for one group.)
__attribute__((always_inline)) inline GridGroupFigures grid_group_figures(const double* pnl, const double* weight,
                                                                          std::size_t n_scenarios, double min_delta,
                                                                          double maintenance_ratio, double provisions) {
  GridGroupFigures out;
  const std::size_t m = n_scenarios, w = static_cast<std::size_t>(W);
  // The weighted loss -pnl_j w_j of a block of scenarios (lanes past m: -inf, never the largest, never NaN).
  const auto losses = [&](std::size_t j) __attribute__((always_inline)) {
    const std::size_t n = m - j;
    const vd loss = -pm_load(pnl + j, n, 0.0) * pm_load(weight + j, n, 0.0);
    return n >= w ? loss : select(first_lanes(n), loss, splat(-__builtin_inf()));
  };
  // The largest weighted loss (a NaN noted, not compared), then its first scenario, a block at a time: the first
  // of equal losses, as a scan in order keeps it (where it lies is random: a scalar scan's exit mispredicts).
  vd top_v = splat(-__builtin_inf());
  vi nan_v = splati(0);
  for (std::size_t j = 0; j < m; j += w) {
    const vd loss = losses(j);
    nan_v |= loss != loss;
    top_v = vmax(top_v, loss);
  }
  const double top = -hmin(-top_v);
  const bool nan = any(nan_v);
  std::size_t at = 0;
  if (m <= 64) {  // every block's hits in one word, the first taken without a branch on which block holds it
    std::uint64_t hits = 0;
    for (std::size_t j = 0; j < m; j += w) {  // (a NaN P&L: the group's figures are NaN, refused by the caller)
      const vd loss = losses(j);
      hits |= static_cast<std::uint64_t>(lane_bits(nan ? loss != loss : loss == top)) << j;
    }
    at = hits ? static_cast<std::size_t>(__builtin_ctzll(hits)) : 0;
  } else {
    for (std::size_t j = 0; j < m; j += w) {
      const vd loss = losses(j);
      const unsigned hit = lane_bits(nan ? loss != loss : loss == top);
      if (hit) {
        at = j + static_cast<std::size_t>(__builtin_ctz(hit));
        break;
      }
    }
  }
  const double scan = nan ? pnl[at] - pnl[at] : (m && top > 0.0 ? top : 0.0);
  out.scan = scan;
  out.worst = (m && (nan || scan > 0.0)) ? static_cast<std::int64_t>(at) : -1;
  out.worst_pnl = m ? pnl[at] : 0.0;
  out.min_delta = min_delta;
  out.required = (min_delta > scan || min_delta != min_delta) ? min_delta : scan;
  out.initial = out.required + provisions;
  out.maintenance = maintenance_ratio * out.required + provisions;
  return out;
}
GridGroupFigures grid_group_kernel(const double* pnl, const double* weight, std::size_t n_scenarios, double min_delta,
                                   double maintenance_ratio, double provisions) {
  return grid_group_figures(pnl, weight, n_scenarios, min_delta, maintenance_ratio, provisions);
}

// Grids of up to this many scenarios keep a group's running sums in registers while the next positions share its
// key (they usually do: an account's positions are ordered by instrument, and instruments by settlement
// currency); summed in the row, each position waited for the last one's stores.
constexpr std::size_t kGridRegisterScenarios = 32;

// Account a's positions [begin, stop) summed into the scratch rows of the keys they hold (used[k] set): quantity
// x the instrument's scenario P&L, in CSR order; with the minimum delta requirement, per (key, underlying) the
// net and gross coin delta.
// kFixedBlocks: the vectors of the scenarios when known at compile time (the last partial when kPartial), so the
// unrolled block loops carry no test of a block's kind; 0 reads it from the book.
// With book.values, also the live settle's sums of the positions it reads (settle_values.hpp) into `cells`, its
// futures positions listed from `futures`; returns one past the last listed.
template <std::size_t kFixedBlocks = 0, bool kPartial = false>
std::int64_t* grid_sum_account(const GridBook& book, const GridScratch& scratch, std::int64_t begin, std::int64_t stop,
                               double* cells, std::int64_t* futures) {
  const std::size_t m = book.n_scenarios, n_u = book.n_underlyings;
  constexpr std::size_t kBlocks = kFixedBlocks ? kFixedBlocks : (kGridRegisterScenarios + W - 1) / W;
  const std::size_t full = kFixedBlocks ? kFixedBlocks - (kPartial ? 1 : 0) : m / W;
  const std::size_t blocks = kFixedBlocks ? kFixedBlocks : (m + W - 1) / W;
  const std::size_t last = m - full * W;  // (lanes of a partial block)
  const bool in_registers = kFixedBlocks || m <= kGridRegisterScenarios;
  const std::int64_t* __restrict indices = book.indices;
  const std::int64_t* __restrict key = book.key;
  const double* __restrict quantity = book.quantity;
  const double* __restrict pnl = book.pnl;
  const double* __restrict delta = book.delta;
  vd acc[kBlocks] = {};
  std::int64_t held = -1;  // the key whose sums are in the registers
  double* __restrict row = nullptr;
  const auto store_held = [&] {
    if (held < 0 || !in_registers) return;
#pragma GCC unroll 32
    for (std::size_t b = 0; b < kBlocks; ++b) {
      if (b < full) store(row + b * W, acc[b]);
      else if (b < blocks) store_part(row + b * W, last, acc[b]);
    }
  };
  constexpr std::size_t kNoCell = ~std::size_t{0};
  std::size_t cell_at = kNoCell;  // the delta cell whose running net and gross are in registers
  double net = 0.0, gross = 0.0;
  const auto store_cell = [&] {
    if (cell_at != kNoCell) scratch.net[cell_at] = net, scratch.gross[cell_at] = gross;
  };
  const PmLiveValues* values = book.values;
  SettleRun run;
  for (std::int64_t p = begin; p < stop; ++p) {
    // (the positions' columns are read once per pass, from memory: the pass requests them an account ahead)
    const auto i = static_cast<std::size_t>(indices[p]);
    if (values && indices[p] >= book.values_first_row && indices[p] < book.values_stop_row)
      settle_position(*values, cells, run, futures, p, i, quantity[p]);  // keyed or not
    const std::int64_t k = key[i];
    if (k < 0) continue;  // (a group the call does not recompute)
    if (k != held) {
      store_held();
      held = k;
      const auto ku = static_cast<std::size_t>(k);
      row = scratch.sums + ku * m;
      const bool first = !scratch.used[ku];
      scratch.used[ku] = 1;
      if (in_registers) {
#pragma GCC unroll 32
        for (std::size_t b = 0; b < kBlocks; ++b)
          acc[b] = first || b >= blocks ? splat(0.0) : b < full ? load(row + b * W) : load_part(row + b * W, last, 0.0);
      } else if (first) {
        for (std::size_t j = 0; j < m; ++j) row[j] = 0.0;
      }
    }
    const double q = quantity[p];
    const double* __restrict v = pnl + i * m;
    if (in_registers) {
#pragma GCC unroll 32
      for (std::size_t b = 0; b < kBlocks; ++b) {
        if (b < full) acc[b] += q * load(v + b * W);
        else if (b < blocks) acc[b] += q * load_part(v + b * W, last, 0.0);
      }
    } else {
      for (std::size_t j = 0; j < m; ++j) row[j] += q * v[j];
    }
    if (delta) {  // (the running net and gross of one (key, underlying) cell in registers, as the sums above)
      const std::size_t cell = static_cast<std::size_t>(k) * n_u + static_cast<std::size_t>(book.underlying[i]);
      if (cell != cell_at) {
        store_cell();
        cell_at = cell;
        const bool first = !scratch.held[cell];
        scratch.held[cell] = 1;
        net = first ? 0.0 : scratch.net[cell], gross = first ? 0.0 : scratch.gross[cell];
      }
      const double d = q * delta[i];
      net += d;
      gross += grid_abs(d);
    }
  }
  store_held();
  store_cell();
  if (values) settle_end(cells, run);
  return futures;
}

// The sums' instance for m scenarios: a fixed block count on the wide targets (up to kGridRegisterScenarios), else
// the general one.
using GridSumAccount = std::int64_t* (*)(const GridBook&, const GridScratch&, std::int64_t, std::int64_t, double*,
                                         std::int64_t*);
template <std::size_t... kBlocks>
inline GridSumAccount grid_sum_fixed(std::size_t m, std::index_sequence<kBlocks...>) {
  const std::size_t blocks = (m + W - 1) / W;
  const bool partial = m % W != 0;
  GridSumAccount chosen = &grid_sum_account<>;
  ((blocks == kBlocks + 1 ? (chosen = partial ? &grid_sum_account<kBlocks + 1, true> : &grid_sum_account<kBlocks + 1, false>)
                          : chosen),
   ...);
  return chosen;
}
inline GridSumAccount grid_sum_of(std::size_t m) {
  if constexpr (W >= 4) {
    if (m >= 1 && m <= kGridRegisterScenarios)
      return grid_sum_fixed(m, std::make_index_sequence<kGridRegisterScenarios / W>{});
  }
  return &grid_sum_account<>;
}

void grid_accounts_kernel(const GridBook& book, const std::int64_t* first_group, const GridColumns& out,
                          const GridScratch& scratch, std::size_t begin, std::size_t end) {
  const std::size_t m = book.n_scenarios, n_keys = book.n_keys, n_u = book.n_underlyings;
  const bool with_delta = book.delta != nullptr;
  double* sums = scratch.sums;
  const auto sum_account = grid_sum_of(m);
  const PmLiveValues* values = book.values;
  std::int64_t* futures = values ? values->futures : nullptr;
  for (std::size_t a = begin; a < end; ++a) {
    if (a + 2 < end)
      prefetch_account(book, a + 2);
    double* cells = nullptr;
    if (values) cells = values->cells + static_cast<std::size_t>(book.rows[a]) * values->n_cells, settle_start(*values, cells);
    futures = sum_account(book, scratch, book.indptr[a], book.ends ? book.ends[a] : book.indptr[a + 1], cells, futures);
    if (values) values->futures_end[a] = futures - values->futures;
    auto g = static_cast<std::size_t>(first_group[a]);
    for (std::size_t k = 0; k < n_keys; ++k) {
      if (!scratch.used[k]) continue;
      scratch.used[k] = 0;
      double min_delta = 0.0;
      if (with_delta) {
        for (std::size_t u = 0; u < n_u; ++u) {
          const std::size_t cell = k * n_u + u;
          if (!scratch.held[cell]) continue;
          scratch.held[cell] = 0;
          const double net = grid_abs(scratch.net[cell]), excess = scratch.gross[cell] - net;
          const double usd = (book.net_rate * net + book.hedged_rate * (excess > 0.0 ? excess : 0.0)) * book.index[u];
          min_delta += book.usd_like[k] ? usd : usd / book.index[u];
        }
      }
      const double* row = sums + k * m;
      const GridGroupFigures f =
          grid_group_figures(row, book.weight, m, min_delta, book.maintenance_ratio, book.provisions);
      if (out.pnl)
        for (std::size_t j = 0; j < m; ++j) out.pnl[g * m + j] = row[j];
      out.account[g] = static_cast<std::int64_t>(a);
      out.key[g] = static_cast<std::int64_t>(k);
      out.scan[g] = f.scan;
      out.worst[g] = f.worst;
      out.worst_pnl[g] = f.worst_pnl;
      out.min_delta[g] = f.min_delta;
      out.required[g] = f.required;
      out.initial[g] = f.initial;
      out.maintenance[g] = f.maintenance;
      ++g;
    }
  }
}
