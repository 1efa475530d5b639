// The positions of one account losing most in one scenario of one risk group (its worst): what the live
// engine's events name.  One implementation for _core.margin.worst_contributors (any accounts, after the fact)
// and the live refresh (the accounts whose level it changed, while their positions are in cache).  Plain
// scalar code, no SIMD target.
#pragma once
#include <cstddef>
#include <cstdint>

namespace riskoffset {

// The most positions a call ranks per account (the slots are kept sorted by insertion).
constexpr std::int64_t kMaxContributors = 64;

// Positions [s, e) of (ix, quantity) whose instrument belongs to group `key` valued at column `scenario` of
// their instrument's scenario row (`vectors`, `width` entries a row), times `rate` (the group's currency in
// USD); the `top` most negative kept in order, ties by instrument row: slot j is the j-th largest loss (out_i,
// out_q, out_pnl: instrument row, quantity, P&L); unused slots have instrument -1 and zero quantity and P&L.
// Returns the first position that names an instrument outside the table (n_instr rows), or -1.
inline std::int64_t account_contributors(const std::int64_t* ix, const double* quantity, std::int64_t s,
                                         std::int64_t e, const std::int64_t* instrument_key, std::size_t n_instr,
                                         const double* vectors, std::size_t width, std::int64_t key,
                                         std::size_t scenario, double rate, std::size_t top, std::int64_t* out_i,
                                         double* out_q, double* out_pnl) {
  for (std::size_t j = 0; j < top; ++j) out_i[j] = -1, out_q[j] = 0.0, out_pnl[j] = 0.0;
  std::size_t filled = 0;
  for (std::int64_t p = s; p < e; ++p) {
    const std::int64_t i = ix[p];
    if (i < 0 || static_cast<std::size_t>(i) >= n_instr) return p;
    if (instrument_key[i] != key) continue;
    const double pnl = quantity[p] * vectors[static_cast<std::size_t>(i) * width + scenario] * rate;
    if (!(pnl < 0.0)) continue;  // only losses contribute
    // Insert (pnl, i) into the sorted slots if it ranks among the top: by P&L, then instrument row.
    std::size_t at = filled;
    while (at > 0 && (pnl < out_pnl[at - 1] || (pnl == out_pnl[at - 1] && i < out_i[at - 1]))) --at;
    if (at >= top) continue;
    const std::size_t last = filled < top ? filled : top - 1;
    for (std::size_t j = last; j > at; --j) out_i[j] = out_i[j - 1], out_q[j] = out_q[j - 1], out_pnl[j] = out_pnl[j - 1];
    out_i[at] = i, out_q[at] = quantity[p], out_pnl[at] = pnl;
    if (filled < top) ++filled;
  }
  return -1;
}

}  // namespace riskoffset
