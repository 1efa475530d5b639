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

GridGroupFigures grid_group_kernel(const double* pnl, const double* weight, std::size_t n_scenarios, double min_delta,
                                   double maintenance_ratio, double provisions) {
  GridGroupFigures out;
  double top = 0.0;
  std::size_t at = 0;
  bool nan = false;
  for (std::size_t j = 0; j < n_scenarios; ++j) {
    const double loss = -pnl[j] * weight[j];
    if (loss != loss) {  // a NaN P&L: the group's figures are NaN (refused by the caller, never output)
      nan = true, at = j;
      break;
    }
    if (j == 0 || loss > top) top = loss, at = j;
  }
  const double scan = nan ? pnl[at] - pnl[at] : (n_scenarios && top > 0.0 ? top : 0.0);
  out.scan = scan;
  out.worst = (n_scenarios && (nan || scan > 0.0)) ? static_cast<std::int64_t>(at) : -1;
  out.worst_pnl = n_scenarios ? pnl[at] : 0.0;
  out.min_delta = min_delta;
  out.required = (min_delta > scan || min_delta != min_delta) ? min_delta : scan;
  out.initial = out.required + provisions;
  out.maintenance = maintenance_ratio * out.required + provisions;
  return out;
}

void grid_accounts_kernel(const GridBook& book, const std::int64_t* first_group, const GridColumns& out,
                          const GridScratch& scratch, std::size_t begin, std::size_t end) {
  const std::size_t m = book.n_scenarios, n_keys = book.n_keys, n_u = book.n_underlyings;
  const bool with_delta = book.delta != nullptr;
  double* sums = scratch.sums;
  for (std::size_t a = begin; a < end; ++a) {
    const std::int64_t stop = book.ends ? book.ends[a] : book.indptr[a + 1];
    for (std::int64_t p = book.indptr[a]; p < stop; ++p) {
      const auto i = static_cast<std::size_t>(book.indices[p]);
      const auto k = static_cast<std::size_t>(book.key[i]);
      double* __restrict row = sums + k * m;
      if (!scratch.used[k]) {
        scratch.used[k] = 1;
        for (std::size_t j = 0; j < m; ++j) row[j] = 0.0;
      }
      const double q = book.quantity[p];
      const double* __restrict v = book.pnl + i * m;
      for (std::size_t j = 0; j < m; ++j) row[j] += q * v[j];
      if (with_delta) {
        const std::size_t cell = k * n_u + static_cast<std::size_t>(book.underlying[i]);
        if (!scratch.held[cell]) scratch.held[cell] = 1, scratch.net[cell] = 0.0, scratch.gross[cell] = 0.0;
        const double d = q * book.delta[i];
        scratch.net[cell] += d;
        scratch.gross[cell] += grid_abs(d);
      }
    }
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
          grid_group_kernel(row, book.weight, m, min_delta, book.maintenance_ratio, book.provisions);
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
