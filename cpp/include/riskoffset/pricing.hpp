// Array entry points: split rows over threads and run the active SIMD kernels.  Thread-safe: kernels
// only read their inputs and write disjoint slices of the outputs.
#pragma once
#include <cstdint>
#include <string>

#include "riskoffset/kernels.hpp"

namespace riskoffset {

// Returns the first invalid row or -1.  threads <= 1 runs on the calling thread.
std::int64_t price_greeks(const PricingInputs& in, const PricingOutputs& out, std::size_t n, int threads);
void implied_vol(const ImpliedVolInputs& in, double* sigma, std::int8_t* status, std::size_t n, int threads);
// Fills values[n_instruments x n_scenarios]; returns the first invalid flat index or -1.
std::int64_t scenario_values(const ScenarioInputs& in, double* values, std::size_t n_instruments, int threads);

// out[n_groups x n_columns] = Q . P (see CsrProductInputs).
void csr_product(const CsrProductInputs& in, double* out, std::size_t n_groups, int threads);

// Name of the first invalid field of row i ("underlying", "strike", ...), or "" when the row is valid.
std::string invalid_pricing_field(const PricingInputs& in, std::size_t i);

}  // namespace riskoffset
