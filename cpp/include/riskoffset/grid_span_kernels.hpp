// Interface of the scenario-grid and SPAN reductions (cpp/src/margin/grid_margin.hpp, span_margin.hpp), shared
// by every SIMD target: plain structs of pointers, no Python.
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>

#include "riskoffset/margin_kernels.hpp"  // (PmLiveValues)

namespace riskoffset {

// ---------------------------------------------------------------------------------------------- scenario grid
// A book in CSR form and the per-instrument inputs of a grid pass: every (account, group key) group sums
// quantity x the instrument's scenario P&L, in CSR order.
struct GridBook {
  const std::int64_t* indptr = nullptr;   // n_accounts + 1
  const std::int64_t* ends = nullptr;     // when set, account a's positions end at ends[a] (not indptr[a + 1])
  const std::int64_t* indices = nullptr;  // instrument row of each position
  const double* quantity = nullptr;
  std::size_t n_accounts = 0;
  const std::int64_t* key = nullptr;  // per instrument: group key (settlement currency code; -1: skipped)
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
  // Optional, the live engine's settle sums of the same positions (PmLiveValues, its `first` 0: the pass's
  // accounts counted from 0): account a's positions of rows [values_first_row, values_stop_row) summed into the
  // cells of its engine row rows[a].
  const PmLiveValues* values = nullptr;
  const std::int64_t* rows = nullptr;
  std::int64_t values_first_row = 0, values_stop_row = std::numeric_limits<std::int64_t>::max();
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

namespace riskoffset {

// ---------------------------------------------------------------------------------------------- SPAN
// SPAN in one rate class, per (account, combined commodity) group of netted positions (contract rows of the
// file, ascending within a group).  Parameters are data compiled from the file by Python: per contract row,
// per combined commodity (CC), per intra-commodity spread and leg.
//
// Delta pools of a CC (local indices): its intra tiers (or one pool "*" for the whole CC when it has none),
// then one pool per period of its contracts in ascending period order, then one pool that stays 0 (legs on a
// period the CC has no contract in).  What the spreads take from each pool is kept for the spot-month charge.
struct SpanBook {
  const std::int64_t* group_start = nullptr;  // n_groups + 1 offsets into the positions
  const std::int64_t* group_cc = nullptr;     // n_groups
  std::size_t n_groups = 0;
  const std::int64_t* row = nullptr;  // per position: contract row
  const double* n = nullptr;          // per position: signed contracts
  // per contract row
  const double* arrays = nullptr;  // n_points risk-array values (losses positive; weighted when asked)
  std::size_t n_points = 0;
  const double* delta = nullptr;         // composite delta
  const std::int64_t* period_pool = nullptr;
  const std::uint64_t* scan_mask = nullptr;  // bit t: the CC's scan tier t holds the row's period
  const std::uint64_t* som_mask = nullptr;   // bit t: the CC's SOM tier t holds the row's period
  const std::int8_t* option = nullptr;      // 0 not an option, 1 call, 2 put, 3 another option
  const std::uint8_t* premium = nullptr;    // premium-style option: counts in the net option value
  const double* price = nullptr;
  const double* cvf = nullptr;
  // per CC
  const std::int64_t* pool_offset = nullptr;   // into period_tier (n_cc + 1)
  const std::int64_t* n_tier_pools = nullptr;  // tier pools first; 0 with the "*" pool (index 0)
  const std::int64_t* period_tier = nullptr;   // per pool: for a period pool its tier pool, else -1
  const std::uint8_t* star = nullptr;          // 1: no intra tiers, pool 0 is the whole CC
  const std::int64_t* n_scan_tiers = nullptr;  // 0: one scan over the CC, else a scan per tier (<= 64), summed
  const std::int64_t* spread_offset = nullptr;  // into the spreads (n_cc + 1), priority order
  const std::int64_t* spot_offset = nullptr;    // into the spot rates (n_cc + 1), those of the class
  const std::int64_t* som_offset = nullptr;     // into som_rate (n_cc + 1)
  const std::uint8_t* som_gross = nullptr;      // somMeth GROSS: short calls + puts, else the larger
  const double* som_rate = nullptr;
  // per spread
  const std::int64_t* leg_offset = nullptr;  // into the legs (n_spreads + 1)
  const std::int8_t* method = nullptr;       // 0: count x amount, 1: weighted price (W), 2: not computable here
  const double* amount = nullptr;            // 0: per spread; 1: the CC's futures price scan range
  const std::uint8_t* kind = nullptr;        // bit reported when the spread forms (the charge method's)
  // per leg
  const std::int64_t* leg_pool = nullptr;
  const double* leg_side = nullptr;  // +1 side A, -1 side B
  const double* leg_ratio = nullptr;
  const double* leg_rate = nullptr;  // W: the leg's credit rate (fraction)
  // per spot rate: charge per spot-month delta in spreads (sprd) and outright (outr), its period pools
  const double* spot_sprd = nullptr;
  const double* spot_outr = nullptr;
  const std::int64_t* spot_pool_offset = nullptr;  // into spot_pool (n_spot + 1)
  const std::int64_t* spot_pool = nullptr;         // the CC's period pools whose period is the spot month, in order
  std::size_t max_pools = 0;
  std::size_t max_scan_tiers = 0;
  // What the inter-commodity spreads read of a group (SpanColumns' price_risk and inter pools), per CC: its
  // inter pools (one per inter tier, or one for the whole CC) from inter_offset (n_cc + 1), each summing its
  // members' pools from inter_member_offset: bit 0 of inter_member_use adds the pool's delta before the spreads
  // (a period inside the tier), bit 1 what the spreads took from it (a pool whose first period is inside it);
  // n_points entries per CC of no_move (1: a scenario of time risk, no price move at full weight) and paired
  // (the 1-based scenario of opposite vol, 0 none).
  const std::int64_t* inter_offset = nullptr;
  const std::int64_t* inter_member_offset = nullptr;
  const std::int64_t* inter_member_pool = nullptr;
  const std::uint8_t* inter_member_use = nullptr;
  const std::uint8_t* no_move = nullptr;
  const std::int64_t* paired = nullptr;
};

struct SpanColumns {  // one row per group
  double* scan = nullptr;
  std::int64_t* active = nullptr;  // 1-based scenario of the scan risk, 0 when none (no loss, or no tier held)
  double* intra = nullptr;
  double* spot = nullptr;
  double* som = nullptr;
  double* nov = nullptr;
  double* risk = nullptr;                // max(scan + intra + spot, som)
  std::uint8_t* formed = nullptr;        // OR of the kinds of the spreads that formed
  std::uint8_t* unsupported = nullptr;   // 1: a spread of method 2 would form (the caller computes the group)
  // With price_risk set (and the SpanBook's inter fields): the group's price risk max(scan - time risk - volatility
  // risk, 0), and per inter pool (inter_stride apart per group) its delta before the spreads and what the intra
  // spreads left of it.
  double* price_risk = nullptr;
  double* inter_orig = nullptr;
  double* inter_delta = nullptr;
  std::size_t inter_stride = 0;
  // 0: every step; 1: scan, net option value and price risk, the group's pools and losses kept in pool_state (the
  // pools, their deltas before the spreads, what the spreads took, whether held, max_pools each; the losses); 2:
  // the other steps on the kept pools (the super spreads move them in between).
  int phase = 0;
  double* pool_state = nullptr;  // (then its losses follow: pool_stride = 4 x max_pools + n_points)
  std::size_t pool_stride = 0;
  const std::uint8_t* offset = nullptr;  // per group (may be null): a scanning spread took it, its inter pools are 0
};

// Groups [begin, end); scratch: 4 x max_pools + (1 + max_scan_tiers) x (n_points + 1) doubles.
using SpanGroupsKernel = void (*)(const SpanBook&, const SpanColumns&, double* scratch, std::size_t begin,
                                  std::size_t end);

}  // namespace riskoffset
