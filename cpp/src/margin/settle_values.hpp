// The live engine's settle sums taken by a margin pass on its way through an account's positions
// (PmLiveValues): the PM and grid passes call it for every position the settle would read, in the settle's
// order, so a tick reads its positions once and the sums are the settle's own, bit for bit.  Included inside
// each SIMD target's namespace.
#pragma once

// The run of positions of one settle cell: its options' value summed in a scalar, added to the cell when the
// cell changes and at the account's end (summed in the cell, each position waited on the last one's store).
struct SettleRun {
  std::size_t cell = 0;
  double value = 0.0;
};

// Position p (instrument row i, `quantity`) of the account whose cells are `cells`; a futures position is
// listed in `futures` (advanced) for the settle to value, its average price requested meanwhile.
__attribute__((always_inline)) inline void settle_position(const PmLiveValues& values, double* cells, SettleRun& run,
                                                          std::int64_t*& futures, std::int64_t p, std::size_t i,
                                                          double quantity) {
  const std::uint32_t m = values.meta[i];
  const auto c = static_cast<std::size_t>(m & kSettleCellBits);
  if (c != run.cell) cells[run.cell] += run.value, run.cell = c, run.value = 0.0;
  double amount = quantity * values.unit_value[i];
#ifdef __FMA__  // (rounded before the sum, as the settle's own loop, compiled without FMA, rounds it)
  __asm__("" : "+x"(amount));
#endif
  run.value += amount;
  if (m & kSettleFutureBit) *futures++ = p, __builtin_prefetch(values.average + p);
}

// The account's cells before its positions (the cells re-summed set to 0), and its last run after them.
__attribute__((always_inline)) inline void settle_start(const PmLiveValues& values, double* cells) {
  for (std::size_t z = 0; z < values.n_zeroed; ++z) cells[values.zeroed[z]] = 0.0;
}
__attribute__((always_inline)) inline void settle_end(double* cells, const SettleRun& run) { cells[run.cell] += run.value; }
