// L = Q . P for a book: out[g, :] = sum over the positions p of group g (in order) of quantity[p] *
// pnl[instrument[p], :].  Included inside the per-target namespace; the inner loop over the columns is
// vectorised by the compiler for the target's ISA.  Deterministic: each group sums its positions in the
// given order, whatever the thread split (threads split groups, never a group).
#pragma once

inline void csr_product_kernel(const CsrProductInputs& in, double* out, std::size_t begin, std::size_t end) {
  const std::size_t m = in.n_columns;
  for (std::size_t g = begin; g < end; ++g) {
    double* __restrict acc = out + g * m;
    for (std::size_t j = 0; j < m; ++j) acc[j] = 0.0;
    const std::int64_t first = in.starts[g], count = in.lengths[g];
    for (std::int64_t p = first; p < first + count; ++p) {
      const double q = in.quantity[p];
      const double* __restrict row = in.pnl + static_cast<std::size_t>(in.instrument[p]) * m;
      for (std::size_t j = 0; j < m; ++j) acc[j] += q * row[j];
    }
  }
}
