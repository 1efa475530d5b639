// Positions of the outputs in kOutputNames (and bits of the Output mask), by name.  Python sees the same
// names as _core.pricing.OUTPUT_NAMES / OUTPUT_INDEX.
#pragma once
#include "riskoffset/kernels.hpp"

namespace riskoffset_bindings {

enum OutputIndex : int {
  kPriceIndex = 0,
  kDeltaIndex,
  kGammaIndex,
  kVegaIndex,
  kThetaIndex,
  kRhoIndex,
  kVannaIndex,
  kVolgaIndex,
  kCharmIndex,
  kDeltaPremiumAdjustedIndex,  // inverse settlement only
  kDeltaB76Index,              // inverse settlement only
};
// Linear settlement has the outputs up to charm; inverse adds delta_pa and delta_b76.
constexpr int kLinearOutputCount = kCharmIndex + 1;

static_assert(kDeltaB76Index + 1 == riskoffset::kOutputCount, "one index per output");
static_assert((1u << kCharmIndex) == riskoffset::kCharm && (1u << kDeltaB76Index) == riskoffset::kDeltaB76,
              "indices follow the output bits");

}  // namespace riskoffset_bindings
