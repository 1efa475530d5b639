// Kernel interface shared by every SIMD target: plain structs of pointers, no Python.
#pragma once
#include <cstddef>
#include <cstdint>

namespace riskoffset {

// One input column: either a full array (stride 1) or one value broadcast to every row (stride 0).
struct Column {
  const double* data = nullptr;
  std::size_t stride = 0;
  double at(std::size_t i) const { return data[i * stride]; }
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
struct PricingInputs {
  Column flag, underlying, strike, t, r, sigma, q;
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
  Column price, flag, underlying, strike, t, r, q;
  Model model = Model::black76;
  Settlement settlement = Settlement::linear;
};

// Rows [begin, end).  Returns the first row whose inputs are invalid, or -1.
using PricingKernel = std::int64_t (*)(const PricingInputs&, const PricingOutputs&, std::size_t begin,
                                       std::size_t end);
using ImpliedVolKernel = void (*)(const ImpliedVolInputs&, double* sigma, std::int8_t* status,
                                  std::size_t begin, std::size_t end);

struct KernelTable {
  const char* name;
  PricingKernel price_greeks;
  ImpliedVolKernel implied_vol;
  // The vector maths evaluated on one value, for accuracy tests against mpmath.
  double (*exp)(double);
  double (*log)(double);
  double (*erfcx)(double);
};

// One accessor per compiled target (defined in src/simd/target.cpp).
const KernelTable& kernels_generic();
const KernelTable& kernels_avx2();
const KernelTable& kernels_avx512();

}  // namespace riskoffset
