// The live engine's positions (riskoffset.live.positions): each account's positions are a segment of a pool
// of arrays (instrument row, signed amount, average entry price of futures or NaN), sorted by instrument row.
// A trade writes the account's new segment at the end of the pool (segment_write); the old one stays until the
// pool is compacted, so an undo only points the account back at it.  A trade outside an undo that neither opens
// nor closes a position changes its amount where it lies.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>

#include "futures.hpp"

namespace riskoffset {

// Amounts are netted in integer units of 1e-8, as riskoffset.Book nets them: a position that trades back to
// zero disappears exactly.  Exact while amounts stay below 2^53 units (about 9e7 in size); beyond, each fill rounds
// once more.  A position may not reach kMaxAmount, the largest a Book nets (its integer sums stay inside int64).
constexpr double kAmountUnits = 1e8;
constexpr double kMaxAmount = 9.0e10;

struct PositionPool {
  std::int64_t* indices;
  double* quantity;
  double* average;
  std::int64_t capacity;  // entries the arrays hold
};

// Writes segment [start, end) at dst with `instrument` replaced by (quantity, average), or dropped unless
// `keep`, sorted by instrument row (insertion sort: a segment is one account's positions); returns its length.
inline std::int64_t segment_write(const PositionPool& pool, std::int64_t start, std::int64_t end, std::int64_t dst,
                                  std::int64_t instrument, bool keep, double quantity, double average) {
  std::int64_t* ix = pool.indices;
  double* q = pool.quantity;
  double* avg = pool.average;
  std::int64_t n = 0;
  auto put = [&](std::int64_t i, double qq, double aa) {
    std::int64_t at = dst + n;
    while (at > dst && ix[at - 1] > i) ix[at] = ix[at - 1], q[at] = q[at - 1], avg[at] = avg[at - 1], --at;
    ix[at] = i, q[at] = qq, avg[at] = aa, ++n;
  };
  for (std::int64_t p = start; p < end; ++p)
    if (ix[p] != instrument) put(ix[p], q[p], avg[p]);
  if (keep) put(instrument, quantity, average);
  return n;
}

// A position of `held` (average entry price `average`, NaN for none) after a fill of `quantity` (signed) at
// `price`: the amounts net in integer units; a futures position's average price follows futures_fill.
struct PositionFill {
  double amount;    // after the fill (0 exactly when the fill closes it)
  double average;   // after the fill (NaN for anything but futures)
  double realised;  // futures P&L the fill realises (settlement currency; 0 for anything else)
};

inline PositionFill position_fill(double held, double average, double quantity, double price, bool is_future,
                                  bool inverse) {
  // Each amount rounds to whole units and their sum rounds once: the units of the exact integer sum.
  const double units = std::nearbyint(held * kAmountUnits) + std::nearbyint(quantity * kAmountUnits);
  const double after = units / kAmountUnits;
  if (!is_future) return {after, std::numeric_limits<double>::quiet_NaN(), 0.0};
  const FuturesFill fill = futures_fill(held, average, after - held, price, inverse);
  return {after, fill.average, fill.realised};
}

// Where `instrument` lies in the segment [start, end), or -1.
inline std::int64_t segment_find(const PositionPool& pool, std::int64_t start, std::int64_t end, std::int64_t instrument) {
  for (std::int64_t p = start; p < end; ++p)
    if (pool.indices[p] == instrument) return p;
  return -1;
}

}  // namespace riskoffset
