// The live engine's positions (riskoffset.live.positions): each account's positions are a segment of a pool
// of arrays (instrument row, signed amount, average entry price of futures or NaN), sorted by instrument row.
// A trade writes the account's new segment at the end of the pool; the old one stays until the pool is
// compacted, so an undo only points the account back at it.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>

#include "futures.hpp"

namespace riskoffset {

// Amounts are netted in integer units of 1e-8, as riskoffset.Book nets them: a position that trades back to
// zero disappears exactly.
constexpr double kAmountUnits = 1e8;

struct PositionPool {
  std::int64_t* indices;
  double* quantity;
  double* average;
  std::int64_t capacity;  // entries the arrays hold
};

struct SegmentTrade {
  std::int64_t length;  // of the new segment; -1 when the pool has no room for it (nothing was written)
  double realised;      // futures P&L the fill realises (settlement currency; 0 for anything else)
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

// A fill of `quantity` (signed) at `price` on the account whose positions are [start, end): its new segment
// written at dst.  The amounts net in integer units; a futures position's average price follows futures_fill.
inline SegmentTrade segment_trade(const PositionPool& pool, std::int64_t start, std::int64_t end, std::int64_t dst,
                                  std::int64_t instrument, double quantity, double price, bool is_future, bool inverse) {
  if (dst + (end - start) + 1 > pool.capacity) return {-1, 0.0};
  double held = 0.0, average = std::numeric_limits<double>::quiet_NaN();
  for (std::int64_t p = start; p < end; ++p)
    if (pool.indices[p] == instrument) {
      held = pool.quantity[p], average = pool.average[p];
      break;
    }
  // Each amount rounds to whole units and their sum rounds once: the units of the exact integer sum.
  const double units = std::nearbyint(held * kAmountUnits) + std::nearbyint(quantity * kAmountUnits);
  const double after = units / kAmountUnits;
  double realised = 0.0;
  if (is_future) {
    const FuturesFill fill = futures_fill(held, average, after - held, price, inverse);
    average = fill.average, realised = fill.realised;
  } else {
    average = std::numeric_limits<double>::quiet_NaN();
  }
  return {segment_write(pool, start, end, dst, instrument, units != 0.0, after, average), realised};
}

}  // namespace riskoffset
