// Deribit standard margin of one position (riskoffset.margining.standard, docs/margin.md): no offsets between
// positions, so a position's initial and maintenance margin follow from its quantity and its instrument's unit
// margins on the market.  The one implementation that ro.margin's per-position pass and the live engine's refresh
// and trades run.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace riskoffset {

// Per instrument row (riskoffset.margining.standard.UnitMargins): a short option's IM and MM per unit; a future's
// or perpetual's rates a (initial, maintenance) and b (slope per coin), what divides its quantity into its size in
// coin (its forward inverse, 1 linear) and what turns coin into its settlement currency (1 inverse, the index
// linear); the component: 0 futures, 1 options, 2 none.
struct StandardUnits {
  const double *short_initial = nullptr, *short_maintenance = nullptr;
  const double *initial_base = nullptr, *maintenance_base = nullptr, *slope = nullptr;
  const double *size_divisor = nullptr, *to_currency = nullptr;
  const std::int8_t* component = nullptr;
};

struct PositionMargin {
  double initial, maintenance;
};

// A position of `quantity` in instrument row `i`: futures n (a + b n) in coin on their whole size n, times the
// currency factor; otherwise the short amount times the unit margins (a long option, spot: 0).
inline PositionMargin standard_position_margin(const StandardUnits& u, std::size_t i, double quantity) {
  if (u.component[i] == 0) {
    const double n = std::fabs(quantity / u.size_divisor[i]);
    const double slope = u.slope[i], to_currency = u.to_currency[i];
    return {n * (u.initial_base[i] + slope * n) * to_currency, n * (u.maintenance_base[i] + slope * n) * to_currency};
  }
  const double short_amount = quantity < 0 ? -quantity : 0.0;
  return {short_amount * u.short_initial[i], short_amount * u.short_maintenance[i]};
}

}  // namespace riskoffset
