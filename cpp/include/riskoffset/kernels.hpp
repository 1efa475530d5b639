// Kernel interface shared by every SIMD target: plain structs of pointers, no Python.
#pragma once
#include <cstddef>
#include <cstdint>

#include "riskoffset/grid_span_kernels.hpp"
#include "riskoffset/margin_kernels.hpp"

namespace riskoffset {

// The supported input range.  Beyond it 1/x, F/K or exp(r t) leave double range and the formulas would give
// wrong finite numbers, so the kernels refuse the row instead (the binding names the field and row).
constexpr double kMinMagnitude = 1e-100;  // underlying, forward and strike in [1e-100, 1e100]
constexpr double kMaxMagnitude = 1e100;
constexpr double kMaxRateTime = 300.0;    // |r t| and |q t|: discount and carry factors within e^300


// One input column: either a full array (stride 1) or one value broadcast to every row (stride 0).
struct Column {
  const double* data = nullptr;
  std::size_t stride = 0;
  double at(std::size_t i) const { return data[i * stride]; }
};

// Call/put flags: +1 / -1 doubles, or booleans (true = call) read as bytes, so that a numpy bool column
// crosses the boundary without a conversion pass.
struct FlagColumn {
  const double* data = nullptr;           // +1 call, -1 put
  const std::uint8_t* is_call = nullptr;  // used instead of data when set: 1 call, 0 put
  std::size_t stride = 0;
  double at(std::size_t i) const { return is_call ? (is_call[i * stride] ? 1.0 : -1.0) : data[i * stride]; }
};

enum class Model : int { black76 = 0, bsm = 1 };
enum class Settlement : int { linear = 0, inverse = 1 };

// Output selection: a bit per quantity, in the order of kOutputNames.
enum Output : unsigned {
  kPrice = 1u << 0,
  kDelta = 1u << 1,
  kGamma = 1u << 2,
  kVega = 1u << 3,
  kTheta = 1u << 4,
  kRho = 1u << 5,
  kVanna = 1u << 6,
  kVolga = 1u << 7,
  kCharm = 1u << 8,
  kDeltaPremiumAdjusted = 1u << 9,  // inverse only: F * dc/dF = delta_b76 - c
  kDeltaB76 = 1u << 10,             // inverse only: dC/dF of the USD value
};
constexpr int kOutputCount = 11;
extern const char* const kOutputNames[kOutputCount];

// flag: +1 call, -1 put.  underlying: forward (black76) or spot (bsm).  t in years (ACT/365),
// r and q continuously compounded, sigma decimal.  t <= 0 prices at intrinsic.
// Call/put flags as a column of strings ("c", "p", "call", "put" in any case, NUL-padded to `width` characters:
// UCS4 code units when `unicode`, else bytes), which the pricing kernel decodes a chunk at a time in its own pass
// over the rows: numpy's 'U4' holds 16 bytes an option, so a decoding pass of its own would read them from
// memory while nothing else runs.
struct FlagStrings {
  const void* data = nullptr;
  bool unicode = false;
  std::size_t width = 0;
  const void* row(std::size_t i) const {
    return static_cast<const char*>(data) + i * width * (unicode ? 4 : 1);
  }
};

struct PricingInputs {
  FlagColumn flag;
  FlagStrings flag_strings;  // read instead of `flag` when its data is set (one value per row)
  Column underlying, strike, t, r, sigma, q;
  Model model = Model::black76;
  Settlement settlement = Settlement::linear;
};

struct PricingOutputs {
  double* out[kOutputCount] = {};  // nullptr where not requested
};

// Status of one implied-volatility solve (never an exception per element).
enum class IvStatus : std::int8_t {
  ok = 0,
  below_intrinsic = 1,  // price below the discounted intrinsic value on the forward
  above_maximum = 2,    // price at or above the discounted forward (call) / strike (put)
  no_convergence = 3,
  bad_input = 4,        // NaN/inf, non-positive underlying or strike, t <= 0
};

struct ImpliedVolInputs {
  Column price;
  FlagColumn flag;
  Column underlying, strike, t, r, q;
  Model model = Model::black76;
  Settlement settlement = Settlement::linear;
};

// Rows [begin, end).  Returns the first row whose inputs are invalid, or -1.
using PricingKernel = std::int64_t (*)(const PricingInputs&, const PricingOutputs&, std::size_t begin,
                                       std::size_t end);
using ImpliedVolKernel = void (*)(const ImpliedVolInputs&, double* sigma, std::int8_t* status,
                                  std::size_t begin, std::size_t end);

// Full revaluation of instruments under scenarios (each instrument revalued once per scenario).
// Black-76 on the forward: instrument i in scenario j is priced with forward F_i (1 + move_j), vol
// sigma[vol_state_j * n_instruments + i] (vol states are stored state-major, e.g. Deribit's up / same /
// down, or one state per scenario) and time max(t_i - time_shift_j, 0).  flag: +1 call, -1 put, 0 a
// forward-like position whose value is the scenario forward (1 coin if inverse).  inverse: 1 for the coin
// value V / F_ij, 0 for the quote-currency value.
struct ScenarioInputs {
  const double* flag = nullptr;        // n_instruments
  const double* forward = nullptr;     // n_instruments
  const double* strike = nullptr;      // n_instruments (ignored where flag == 0)
  const double* t = nullptr;           // n_instruments, years
  const double* inverse = nullptr;     // n_instruments, 0 or 1
  const double* sigma = nullptr;       // n_vol_states x n_instruments
  const std::int32_t* vol_state = nullptr;  // n_scenarios, each in [0, n_vol_states)
  const double* move = nullptr;        // n_scenarios, relative forward move (> -1)
  const double* time_shift = nullptr;  // n_scenarios (years) or nullptr for none
  double r = 0.0;
  std::size_t n_instruments = 0, n_scenarios = 0, n_vol_states = 0;
  // When set, scenario 0 is the base state and the output holds P&L: values has n_scenarios - 1 columns,
  // values[i][j - 1] = V_ij - V_i0 (one pass, no second matrix).
  bool base_first = false;
  // With base_first, optional outputs (n_instruments each): the base state's value in the quote currency
  // (before any coin conversion) and its delta dV/dF, so the margin's delta steps need no second pricing pass.
  double* base_value = nullptr;
  double* base_delta = nullptr;
  // Optional, n_scenarios each: ln(1 + move) (std::log1p) and 1 / (1 + move), as the kernel would compute them
  // (a caller that runs the same scenarios many times computes them once).
  const double* log_growth = nullptr;
  const double* inv_growth = nullptr;
};

// Rows [begin, end) of the instrument x scenario value matrix.  Returns the first invalid flat index
// (i * n_scenarios + j) or -1.
using ScenarioKernel = std::int64_t (*)(const ScenarioInputs&, double* values, std::size_t begin, std::size_t end);

// L = Q . P: groups (accounts, or (account, risk group)) of positions in CSR-like form.  Group g holds the
// positions starts[g] .. starts[g] + lengths[g] - 1 of instrument / quantity; pnl is n_instruments x
// n_columns (row-major).  Indices are validated by the caller.
struct CsrProductInputs {
  const std::int64_t* starts = nullptr;
  const std::int64_t* lengths = nullptr;
  const std::int64_t* instrument = nullptr;
  const double* quantity = nullptr;
  const double* pnl = nullptr;
  std::size_t n_columns = 0;
};
using CsrProductKernel = void (*)(const CsrProductInputs&, double* out, std::size_t begin, std::size_t end);

// The first of accounts [begin, end) (positions ip[a] .. ep[a] - 1 of ix, inside the pool) whose instrument
// rows are not in ascending order, or end.
using FirstUnsortedKernel = std::size_t (*)(const std::int64_t* ip, const std::int64_t* ep, const std::int64_t* ix,
                                            std::size_t begin, std::size_t end);

// Whether accounts [begin, end) all lie as the live engine keeps them, checked in one pass: engine row r[a] in
// [0, n_rows), positions ip[a] .. ep[a] - 1 inside [0, n_pool), their instrument rows ascending and in
// [0, n_instr).  False says only that something is not so (the caller finds what).
using AccountsInOrderKernel = bool (*)(const std::int64_t* ip, const std::int64_t* ep, const std::int64_t* r,
                                       const std::int64_t* ix, std::int64_t n_pool, std::int64_t n_rows,
                                       std::size_t n_instr, std::size_t begin, std::size_t end);

// Call/put flag strings (n values of `width` characters: UCS4 code units when `unicode`, else bytes) to call
// bytes (1 call, 0 put) in out[0, n).  Returns n, or the first row whose value is not c, p, call or put.
using FlagDecodeKernel = std::size_t (*)(const void* data, bool unicode, std::size_t width, std::size_t n,
                                         std::uint8_t* out);

struct KernelTable {
  const char* name;
  PricingKernel price_greeks;
  ImpliedVolKernel implied_vol;
  ScenarioKernel scenario_values;
  CsrProductKernel csr_product;
  PmAccountsKernel pm_accounts;  // Deribit portfolio margin of a book's account groups
  PmGroupKernel pm_group;        // its steps after the sum, for one group
  PmLiveKernel pm_live;          // the same on the live engine's dense per-(account, key) arrays
  // The vector maths evaluated on one value, for accuracy tests against mpmath.
  double (*exp)(double);
  double (*log)(double);
  double (*erfcx)(double);
  GridAccountsKernel grid_accounts;  // scenario-grid margin of a book's account groups
  GridGroupKernel grid_group;        // its steps after the sum, for one group
  SpanGroupsKernel span_groups;      // SPAN per (account, combined commodity) in one rate class
  FirstUnsortedKernel first_unsorted;  // the first account whose positions' instrument rows descend
  AccountsInOrderKernel accounts_in_order;
  FlagDecodeKernel decode_flags;       // call/put strings to call bytes
};

// One accessor per compiled target (defined in src/simd/target.cpp).
const KernelTable& kernels_generic();
const KernelTable& kernels_avx2();
const KernelTable& kernels_avx512();

}  // namespace riskoffset
