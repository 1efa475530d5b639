// Interface of the scenario-grid and SPAN reductions (cpp/src/margin/grid_margin.hpp, span_margin.hpp), shared
// by every SIMD target: plain structs of pointers, no Python.
#pragma once
#include <cstddef>
#include <cstdint>

namespace riskoffset {

// ---------------------------------------------------------------------------------------------- scenario grid
// A book in CSR form and the per-instrument inputs of a grid pass: every (account, group key) group sums
// quantity x the instrument's scenario P&L, in CSR order.
struct GridBook {
  const std::int64_t* indptr = nullptr;   // n_accounts + 1
  const std::int64_t* indices = nullptr;  // instrument row of each position
  const double* quantity = nullptr;
  std::size_t n_accounts = 0;
  const std::int64_t* key = nullptr;  // per instrument: group key (settlement currency code)
  std::size_t n_keys = 0;
  const double* pnl = nullptr;     // per instrument, n_scenarios P&Ls per unit of amount
  std::size_t n_scenarios = 0;
  const double* weight = nullptr;  // n_scenarios, >= 0
  // Minimum delta requirement (used when delta is set): per instrument its coin delta per unit and its
  // underlying; per underlying its index; per key 1 when its currency is USD-like (amount in USD, else coin).
  const double* delta = nullptr;
  const std::int64_t* underlying = nullptr;
  std::size_t n_underlyings = 0;
  const double* index = nullptr;
  const std::uint8_t* usd_like = nullptr;
  double net_rate = 0, hedged_rate = 0;
  double maintenance_ratio = 1, provisions = 0;  // provisions: funding + fee, added to IM and MM
};

struct GridGroupFigures {
  double scan = 0;         // max(0, worst weighted loss)
  std::int64_t worst = 0;  // its scenario, -1 when no scenario loses
  double worst_pnl = 0;    // the group's P&L in the scenario of the largest weighted loss
  double min_delta = 0, required = 0, initial = 0, maintenance = 0;
};

struct GridColumns {  // one row per group; `pnl` (groups x n_scenarios) may be null
  std::int64_t* account = nullptr;
  std::int64_t* key = nullptr;
  double* scan = nullptr;
  std::int64_t* worst = nullptr;
  double* worst_pnl = nullptr;
  double* min_delta = nullptr;
  double* required = nullptr;
  double* initial = nullptr;
  double* maintenance = nullptr;
  double* pnl = nullptr;
};

// Caller-owned scratch of one pass: n_keys x n_scenarios, 2 x n_keys x n_underlyings doubles, n_keys and
// n_keys x n_underlyings bytes (zeroed).
struct GridScratch {
  double* sums = nullptr;
  double* net = nullptr;
  double* gross = nullptr;
  std::uint8_t* used = nullptr;
  std::uint8_t* held = nullptr;
};

// Accounts [begin, end): their groups land at rows first_group[a] ... in key order.
using GridAccountsKernel = void (*)(const GridBook&, const std::int64_t* first_group, const GridColumns&,
                                    const GridScratch&, std::size_t begin, std::size_t end);
// The steps after the sum for one group: scan (weights applied), the requirement from the minimum delta amount.
using GridGroupKernel = GridGroupFigures (*)(const double* pnl, const double* weight, std::size_t n_scenarios,
                                             double min_delta, double maintenance_ratio, double provisions);

}  // namespace riskoffset
