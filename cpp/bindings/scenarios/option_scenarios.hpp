// Options under a scenario set, as the portfolio margin revalues them: the vols shocked per state, the C++
// scenario kernel with column 0 the unshocked base state, the scenarios that move nothing exactly 0, the
// extended entries weighted, and the delta the roll and delta shocks count.  The bulk binding
// (option_scenarios) and the live engine's one-option reprice (OptionReprice) both run this.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace riskoffset_bindings {

// The vol shocks of a scenario set (riskoffset.margining.scenarios.ScenarioSet): the vol of an option of mark
// vol s in the vol state of shift v, its shocks scaled by f (the set's term factor at its expiry):
// s (1 + v f) relative or s + v f absolute; a shock up floored at floor_up (when > 0), every shocked vol at
// floor; an unshocked state (v = 0) keeps s; never below 0.
struct VolShock {
  const double* shifts = nullptr;
  std::size_t n_states = 0;
  bool relative = true;
  double floor_up = 0.0, floor = 0.0;

  double operator()(double s, double f, std::size_t state) const {
    const double v = shifts[state];
    double shocked = relative ? s * (1.0 + v * f) : s + v * f;
    if (floor_up > 0 && v > 0) shocked = std::max(shocked, floor_up);
    shocked = v != 0 ? std::max(shocked, floor) : s;
    return std::max(shocked, 0.0);
  }
};

// What a scenario set fixes for every option it revalues.  move and vol_state have n_moves entries, column 0
// the base state; identity (flat scenarios), weight and convert (n_moves - 1 - n_standard extended entries)
// and time_shift may be null.
struct ScenarioSetView {
  VolShock shock;
  const std::int32_t* vol_state = nullptr;
  const double* move = nullptr;
  const double* time_shift = nullptr;
  std::size_t n_moves = 0;
  double r = 0.0;
  const std::uint8_t* identity = nullptr;
  std::size_t n_standard = 0;
  const double* weight = nullptr;
  const double* convert = nullptr;
  // Optional, n_moves each: ln(1 + move) and 1 / (1 + move) computed once (riskoffset::ScenarioInputs).
  const double* log_growth = nullptr;
  const double* inv_growth = nullptr;
};

// n options, each column one value per option; expired may be null.
struct OptionRowsView {
  const double *flag, *forward, *strike, *t, *inverse, *term, *sigma;
  const std::uint8_t* expired;
  std::size_t n;
};

// P&L of the options under the scenarios 1..n_moves-1 into values (n x (n_moves - 1), row-major), the base
// state's value and dV/dF into base_value / base_delta (n each), and with delta_out the delta the shocks count
// (dV/dF, minus V / F coin-settled, 0 expired).  Returns -1, or the first bad (option * n_moves + scenario)
// as the scenario kernel reports it (the outputs then hold no meaning).  No Python is touched.
std::int64_t run_option_scenarios(const OptionRowsView& rows, const ScenarioSetView& set, double* values,
                                  double* base_value, double* base_delta, double* delta_out, int threads);

// The delta the totals and the shocks count for an option of value V and dV/dF delta on a forward F: minus
// its coin premium V / F when coin-settled.
inline double premium_adjusted_delta(double delta, double value, double forward, bool inverse) {
  return inverse ? delta - value / forward : delta;
}

}  // namespace riskoffset_bindings
