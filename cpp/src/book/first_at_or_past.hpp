// Where a coin's positions start in an account's segment: the first position at or past an instrument row, in a
// segment sorted by row.  Shared by the PM pass of each SIMD target and the live engine's settle.
#pragma once
#include <cstdint>

namespace riskoffset {

// The first of positions [p, stop) (sorted by instrument row) at or past instrument row `row`: a binary search
// whose steps select rather than branch (where the row falls is random: each branch mispredicted half the time;
// the ETH tick, which searches every account, -0.6 ms under PM).  Always inline: the SIMD targets' objects may
// not share a symbol (cmake/check_isa_symbols.cmake).
__attribute__((always_inline)) inline std::int64_t first_at_or_past(const std::int64_t* indices, std::int64_t p,
                                                                    std::int64_t stop, std::int64_t row) {
  std::int64_t n = stop - p;
  if (n <= 0) return p;
  const std::int64_t* base = indices + p;
  while (n > 1) {  // the first at or past `row` lies in [base, base + n]
    const std::int64_t half = n / 2;
    base = base[half] < row ? base + half : base;
    n -= half;
  }
  return (base - indices) + (*base < row ? 1 : 0);
}

}  // namespace riskoffset
