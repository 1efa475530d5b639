#include "option_scenarios.hpp"

#include <vector>

#include "riskoffset/pricing.hpp"

namespace riskoffset_bindings {

std::int64_t run_option_scenarios(const OptionRowsView& rows, const ScenarioSetView& set, double* values,
                                  double* base_value, double* base_delta, double* delta_out, int threads) {
  const std::size_t n = rows.n, n_states = set.shock.n_states, columns = set.n_moves - 1;
  riskoffset::ScenarioInputs in;
  in.flag = rows.flag, in.forward = rows.forward, in.strike = rows.strike, in.t = rows.t, in.inverse = rows.inverse;
  in.move = set.move, in.time_shift = set.time_shift, in.vol_state = set.vol_state, in.r = set.r;
  in.base_first = true;
  in.n_instruments = n, in.n_scenarios = set.n_moves;
  // Without instruments there is no sigma to read: any vol state index is then acceptable.
  in.n_vol_states = n > 0 ? n_states + 1 : static_cast<std::size_t>(INT32_MAX) + 1;
  in.base_value = base_value, in.base_delta = base_delta;
  in.log_growth = set.log_growth, in.inv_growth = set.inv_growth;
  // State-major vols: states 0..k-1 shocked, state k the mark vol (the kernel's base column).
  // (on the stack for a few options: the live engine reprices one at a time)
  double few[32];
  std::vector<double> many;
  double* sigmas = few;
  if ((n_states + 1) * n > sizeof few / sizeof few[0]) many.resize((n_states + 1) * n), sigmas = many.data();
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t k = 0; k < n_states; ++k) sigmas[k * n + i] = set.shock(rows.sigma[i], rows.term[i], k);
    sigmas[n_states * n + i] = rows.sigma[i];
  }
  in.sigma = sigmas;
  const std::int64_t bad = riskoffset::scenario_values(in, values, n, threads);
  if (bad >= 0) return bad;
  const std::size_t n_extended = columns - set.n_standard;
  for (std::size_t i = 0; i < n; ++i) {
    double* row = values + i * columns;
    if (set.identity)
      for (std::size_t j = 0; j < columns; ++j)
        if (set.identity[j]) row[j] = 0.0;  // the unshocked scenario is exactly flat
    const bool inverse = rows.inverse[i] == 1.0;
    if (set.weight) {
      for (std::size_t e = 0; e < n_extended; ++e) row[set.n_standard + e] *= set.weight[e];
      if (inverse)
        for (std::size_t e = 0; e < n_extended; ++e) row[set.n_standard + e] *= set.convert[e];
    }
    if (delta_out) {
      const double d = premium_adjusted_delta(base_delta[i], base_value[i], rows.forward[i], inverse);
      delta_out[i] = rows.expired && rows.expired[i] ? 0.0 : d;
    }
  }
  return -1;
}

}  // namespace riskoffset_bindings
