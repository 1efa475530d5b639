#include <algorithm>
#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "riskoffset/dispatch.hpp"
#include "riskoffset/pricing.hpp"

namespace riskoffset {

const char* const kOutputNames[kOutputCount] = {"price", "delta", "gamma", "vega",     "theta",    "rho",
                                                "vanna", "volga", "charm", "delta_pa", "delta_b76"};

namespace {

constexpr std::size_t kMinOptionsPerThread = 8192;

// Runs body(part, begin, end) over [0, n) in up to `threads` contiguous chunks; chunk bounds are
// multiples of 64 rows so no two threads write the same cache line of an output.
// min_chunk: rows below which starting a thread costs more than it saves.
// Every started thread is joined on every path (a std::thread destroyed unjoined calls std::terminate);
// the first exception, from a thread that failed to start or from any part, is rethrown afterwards.
template <class Body>
std::size_t parallel_rows(std::size_t n, int threads, std::size_t min_chunk, Body body) {
  std::size_t parts = threads > 1 ? static_cast<std::size_t>(threads) : 1;
  parts = std::min(parts, std::max<std::size_t>(1, n / min_chunk));
  if (parts <= 1) {
    body(0, 0, n);
    return 1;
  }
  const std::size_t chunk = ((n + parts - 1) / parts + 63) / 64 * 64;
  std::vector<std::exception_ptr> errors(parts);
  std::vector<std::thread> pool;
  std::exception_ptr start_error;
  try {
    pool.reserve(parts);
    for (std::size_t p = 1; p < parts && p * chunk < n; ++p)
      pool.emplace_back([&body, &errors, p, chunk, n] {
        try {
          body(p, p * chunk, std::min(n, (p + 1) * chunk));
        } catch (...) {
          errors[p] = std::current_exception();
        }
      });
  } catch (const std::system_error& e) {  // the system refused another thread
    start_error = std::make_exception_ptr(
        std::runtime_error(std::string("could not start a worker thread (") + e.what() + "); use fewer threads"));
  } catch (...) {
    start_error = std::current_exception();
  }
  if (!start_error) {
    try {
      body(0, 0, std::min(n, chunk));
    } catch (...) {
      errors[0] = std::current_exception();
    }
  }
  for (auto& t : pool) t.join();
  if (start_error) std::rethrow_exception(start_error);
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  return parts;
}

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
