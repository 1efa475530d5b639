// Splitting a loop over rows across threads: the one helper the pricing run and the live refresh share.
#pragma once
#include <algorithm>
#include <cstddef>
#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace riskoffset {

// Runs body(part, begin, end) over [0, n) in up to `threads` contiguous chunks; chunk bounds are
// multiples of 64 rows so no two threads write the same cache line of an output.
// min_chunk: rows below which starting a thread costs more than it saves.
// Every started thread is joined on every path (a std::thread destroyed unjoined calls std::terminate);
// the first exception, from a thread that failed to start or from any part, is rethrown afterwards.
// Returns the number of parts used (bodies see part < that number).
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

}  // namespace riskoffset
