#include <algorithm>
#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "riskoffset/dispatch.hpp"
#include "riskoffset/parallel.hpp"
#include "riskoffset/pricing.hpp"

namespace riskoffset {

const char* const kOutputNames[kOutputCount] = {"price", "delta", "gamma", "vega",     "theta",    "rho",
                                                "vanna", "volga", "charm", "delta_pa", "delta_b76"};

namespace {

constexpr std::size_t kMinOptionsPerThread = 8192;

}  // namespace

std::int64_t price_greeks(const PricingInputs& in, const PricingOutputs& out, std::size_t n, int threads) {
  const KernelTable& kernels = active_kernels();
  if (threads <= 1 || n < 2 * kMinOptionsPerThread) return kernels.price_greeks(in, out, 0, n);  // no set-up
  std::vector<std::int64_t> first_bad(static_cast<std::size_t>(std::max(threads, 1)), -1);
  parallel_rows(n, threads, kMinOptionsPerThread, [&](std::size_t part, std::size_t begin, std::size_t end) {
    first_bad[part] = kernels.price_greeks(in, out, begin, end);
  });
  // Parts are in row order, so the first part with an invalid row holds the first invalid row.
  for (std::int64_t b : first_bad)
    if (b >= 0) return b;
  return -1;
}

void implied_vol(const ImpliedVolInputs& in, double* sigma, std::int8_t* status, std::size_t n, int threads) {
  const KernelTable& kernels = active_kernels();
  parallel_rows(n, threads, kMinOptionsPerThread, [&](std::size_t, std::size_t begin, std::size_t end) {
    kernels.implied_vol(in, sigma, status, begin, end);
  });
}

std::int64_t scenario_values(const ScenarioInputs& in, double* values, std::size_t n_instruments, int threads) {
  const KernelTable& kernels = active_kernels();
  std::vector<std::int64_t> first_bad(static_cast<std::size_t>(std::max(threads, 1)), -1);
  const std::size_t min_instruments = std::max<std::size_t>(1, kMinOptionsPerThread / std::max<std::size_t>(in.n_scenarios, 1));
  parallel_rows(n_instruments, threads, min_instruments, [&](std::size_t part, std::size_t begin, std::size_t end) {
    first_bad[part] = kernels.scenario_values(in, values, begin, end);
  });
  for (std::int64_t b : first_bad)
    if (b >= 0) return b;
  return -1;
}

void csr_product(const CsrProductInputs& in, double* out, std::size_t n_groups, int threads) {
  const KernelTable& kernels = active_kernels();
  const std::size_t min_groups = std::max<std::size_t>(1, kMinOptionsPerThread / std::max<std::size_t>(in.n_columns, 1));
  parallel_rows(n_groups, threads, min_groups, [&](std::size_t, std::size_t begin, std::size_t end) {
    kernels.csr_product(in, out, begin, end);
  });
}

}  // namespace riskoffset
