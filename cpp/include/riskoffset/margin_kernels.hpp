// Interface of the Deribit portfolio-margin kernels (cpp/src/margin/portfolio_margin.hpp), shared by every
// SIMD target: plain structs of pointers, no Python.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace riskoffset {

// One risk-vector key (``btc_btc``, ``btc_usdc`` ...): the pair's and the settlement currency's parameters.
struct PmKey {
  double price_range = 0;         // R: the standard table spans moves of -R .. +R
  double index = 0;               // the pair's index price (USD)
  double dampener = 0;            // extended_dampener (USD)
  double pnl_offset = 0;          // gains count at this fraction
  double max_offsetable_pnl = 0;  // cap on the counted gains (USD)
  double annualised_move_risk = 0;
  double min_annualised_move = 0;
  double delta_threshold = 0;  // delta_total_liq_shock_threshold (USD)
  double m_inc = 0;
  double max_delta_shock = 0;
  double addons = 0;  // open-order, MMP and spot margins given with the parameters (key's currency)
  bool coin = false;  // coin-settled: amounts in coin; linear: in the settlement currency (USD)
  // From the fields above, once per key rather than per group (`derive`): the gain cap in the key's currency,
  // the delta threshold in coin, and what one coin is worth in the key's currency.
  double gain_cap = 0;
  double threshold_coin = 0;
  double per_coin = 0;
  void derive() {
    gain_cap = (coin ? max_offsetable_pnl / index : max_offsetable_pnl) + 0.0;  // + 0.0: never a -0.0 gain
    pnl_offset += 0.0;
    threshold_coin = delta_threshold / index;
    per_coin = coin ? 1.0 : index;
  }
};

struct PmShape {
  std::size_t n_standard = 0;  // 3 (2B + 1) standard entries, bucket-major, vol states [up, same, down]
  std::size_t n_extended = 0;
  const double* extended_moves = nullptr;  // n_extended
  double mm_factor = 0;
  std::size_t width() const { return n_standard + n_extended; }
};

struct PmGroupFigures {
  double worst_case = 0, roll_shock = 0, delta_shock = 0, delta = 0;
  double risk_matrix_margin = 0, initial = 0, maintenance = 0;
  double worst_pnl = 0;  // the aggregated entry of the worst scenario (a gain when no scenario loses)
  std::int64_t worst_index = 0;
};

// A book in CSR form and the per-instrument inputs of the pass.
struct PmBook {
  // Account a holds positions indptr[a] .. indptr[a + 1] - 1, or indptr[a] .. ends[a] - 1 when `ends` is given
  // (the live engine's segments, in any order in its pool).
  const std::int64_t* indptr = nullptr;   // n_accounts + 1 (n_accounts with ends)
  const std::int64_t* ends = nullptr;
  const std::int64_t* indices = nullptr;  // instrument row of each position
  const double* quantity = nullptr;
  std::size_t n_accounts = 0;
  std::size_t n_instruments = 0;
  const std::int64_t* key = nullptr;     // per instrument: risk-vector key, or -1 (not a risk position: spot)
  const double* vectors = nullptr;       // per instrument, width() entries per unit of amount
  std::size_t vector_stride = 0;         // doubles from one instrument's row of `vectors` to the next (0: width())
  // A stride past width() promises that a row's entries after its width() are 0 (read as whole vectors).
  const double* delta = nullptr;         // per instrument: coin delta per unit counted in the roll/delta shocks
  const std::int64_t* column = nullptr;  // per instrument: expiry column
  const double* t_column = nullptr;      // per column: T in years (0 for perpetuals)
  std::size_t n_columns = 0;
  const PmKey* keys = nullptr;
  std::size_t n_keys = 0;
  const double* collateral = nullptr;  // optional: per (account, key) an extra vector added before the steps
  // Optional coin balances (per account, n_coins each): balance x coin_moves[k] is added to the account's first
  // group of a key k whose coin_col[k] names that coin (-1: the key takes none); n_coins <= 64.
  const double* coins = nullptr;
  const double* coin_moves = nullptr;  // per key, width() entries
  const std::int64_t* coin_col = nullptr;
  // Optional, per coin: the most a balance's scenario gain may count (0: none, +inf: all); losses count in full.
  const double* coin_gain_cap = nullptr;
  std::size_t n_coins = 0;
  // With each account's positions sorted by instrument row (the live engine's segments), the walk of an account
  // starts at its first position at or past start_row and stops at its first at or past stop_row, as no
  // instrument outside [start_row, stop_row) has a key (a tick of one coin reads that coin's positions only).
  // -1: every position is read.
  std::int64_t start_row = -1;
  std::int64_t stop_row = -1;
};

struct PmColumns {  // one row per group; `pre` and `aggregated` (groups x width) may be null
  std::int64_t* account = nullptr;
  std::int64_t* key = nullptr;
  double* worst_case = nullptr;
  std::int64_t* worst_index = nullptr;
  double* worst_pnl = nullptr;
  double* roll_shock = nullptr;
  double* delta_shock = nullptr;
  double* delta = nullptr;
  double* risk_matrix_margin = nullptr;
  double* initial = nullptr;
  double* maintenance = nullptr;
  double* pre = nullptr;
  double* aggregated = nullptr;
};

// Scratch of one pass, owned by a PmScratchBuffers: per key a row of sums (width entries, the row padded to a
// multiple of the widest SIMD vector and starting on a cache line, so the passes store and load whole vectors,
// never a masked part), a row of n_columns net deltas, a byte (zeroed) and a dampener row (computed once per
// pass).
struct PmScratch {
  double* sums = nullptr;
  double* net = nullptr;
  std::uint8_t* used = nullptr;
  double* dampener = nullptr;
  // The dampener rows already hold this pass's values (an earlier call of the pass on the same keys wrote them):
  // a pass run in slices of accounts computes them once.
  bool dampener_ready = false;
};
// Doubles from one key's row of sums (or of dampener, or of net deltas by expiry column) to the next: width
// rounded up to 8, so whole vectors can be loaded and stored.
inline std::size_t pm_scratch_row(std::size_t width) { return (width + 7) / 8 * 8; }
class PmScratchBuffers {
 public:
  PmScratchBuffers(std::size_t n_keys, std::size_t width, std::size_t n_columns)
      : rows_(2 * n_keys * pm_scratch_row(width) + 8, 0.0), net_(n_keys * pm_scratch_row(n_columns)), used_(n_keys, 0) {}
  PmScratch view() {
    const auto at = reinterpret_cast<std::uintptr_t>(rows_.data());
    double* sums = rows_.data() + ((64 - at % 64) % 64) / sizeof(double);
    return PmScratch{sums, net_.data(), used_.data(), sums + (rows_.size() - 8) / 2};
  }

 private:
  std::vector<double> rows_;  // the sums' rows, then the dampener's
  std::vector<double> net_;
  std::vector<std::uint8_t> used_;
};

// The live engine's settle words: per instrument, its settle cell in the low bits, and whether it is a future
// (a futures P&L to value) and inverse.
constexpr std::uint32_t kSettleFutureBit = 1U << 30, kSettleInverseBit = 1U << 31, kSettleCellBits = kSettleFutureBit - 1U;

// Part of the live engine's settle done by the PM pass while it reads an account's positions (a tick's
// positions read once, not again by the settle): the options' value per settle cell, summed in runs of
// positions of one cell (each run in a scalar, added to its cell when the cell changes), and the futures
// positions listed, in order, for the settle to value.  The settle reads these positions in the same order
// (the same first and stop rows), so its sums are the same, bit for bit, with or without the pass's help.
struct PmLiveValues {
  const std::uint32_t* meta = nullptr;      // per instrument: settle word (kSettle*)
  const double* unit_value = nullptr;       // per instrument: value of one unit (0 but for options)
  double* cells = nullptr;                  // per engine row, n_cells options' values
  std::size_t n_cells = 0;
  const std::uint32_t* zeroed = nullptr;    // the cells re-summed, set to 0 before the account's sums
  std::size_t n_zeroed = 0;
  const double* average = nullptr;          // per position: a listed one's is requested for the settle
  std::int64_t* futures = nullptr;          // out: the futures positions read (room for every position read)
  std::int64_t* futures_end = nullptr;      // out: per account a, one past its last in `futures` (a - first)
  std::size_t first = 0;                    // the first account of the call
};

// The live engine's dense per-(account row, key) figures: rows[a] is the engine row of CSR account a; only
// keys with key_on[k] are written (n_rows x n_keys arrays, row-major).  Without find_worst, worst_index is
// left as it was: the lowest entry (worst_pnl, and so the margin) is found, not where it lies, which a bulk
// update of many accounts leaves to the engine's queries (the search is about 8 % of an index tick).
struct PmLiveKeys {
  const std::int64_t* rows = nullptr;
  const std::uint8_t* key_on = nullptr;
  double* initial = nullptr;
  double* maintenance = nullptr;
  std::int64_t* worst_index = nullptr;
  double* worst_pnl = nullptr;
  bool find_worst = true;
  const PmLiveValues* values = nullptr;  // optional: the settle's sums of the same positions
  // Optional, per [row, key]: whether its worst_index awaits a search.  Set where a key is recomputed without
  // find_worst, cleared where it is searched (the engine's queries search the marked ones).
  bool* stale = nullptr;
};

using PmLiveKernel = void (*)(const PmBook&, const PmShape&, const PmLiveKeys&, const PmScratch&,
                              std::size_t begin, std::size_t end);
using PmAccountsKernel = void (*)(const PmBook&, const PmShape&, const std::int64_t* first_group,
                                  const PmColumns&, const PmScratch&, std::size_t begin, std::size_t end);
using PmGroupKernel = PmGroupFigures (*)(double* entries, const PmShape&, const PmKey&,
                                         const double* net_by_column, const double* t_column,
                                         std::size_t n_columns);

}  // namespace riskoffset
