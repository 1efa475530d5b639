// How many of one SPAN delta spread form (riskoffset.margining.span.spreads.spread_count): 0 unless every leg's
// pool is non-zero, the A legs (side +1) have one sign and the B legs (side -1) the other; else N = min over the
// legs of |delta| / ratio.  The intra spreads of the per-commodity pass and the spreads across combined
// commodities count with it.  Included inside a namespace (each SIMD target's, and the bindings'), so no
// standard-library calls.
#pragma once

// Legs [l0, l1) of the spread; `delta(l)` reads leg l's pool.
template <class Delta>
inline double span_spread_count(std::int64_t l0, std::int64_t l1, const double* side, const double* ratio,
                                Delta delta) {
  double count = 0.0, sign = 0.0;
  for (std::int64_t l = l0; l < l1; ++l) {
    const double d = delta(l);
    if (d == 0.0) return 0.0;
    const double s = (d < 0 ? -1.0 : 1.0) * side[l];
    if (sign == 0.0) sign = s;
    else if (s != sign) return 0.0;
    const double n = (d < 0 ? -d : d) / ratio[l];
    if (l == l0 || n < count) count = n;
  }
  return count;
}
