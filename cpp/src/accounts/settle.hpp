// Equity against margin for one account (docs/collateral.md): the one implementation that the account view
// (through _core.margin.settle) and the live engine's refresh both run.  Plain scalar code, no SIMD target.
//
//   IM and MM in USD = sum over currencies of amount x USD price (left to right);
//   cross collateral (haircuts given): margin balance = sum of equity x price x (1 - IM haircut) for a positive
//     equity (a debt counts in full), available = margin balance - IM, below initial when available < 0,
//     below maintenance when the collateral after MM haircuts < MM;
//   segregated: margin balance = sum of equity x price, available = sum of (equity - IM) x price, below
//     initial (maintenance) when any one currency's equity is below its IM (MM);
//   MM ratio = MM / margin balance (0 with no MM, infinite with no margin balance).
#pragma once
#include <cstddef>
#include <limits>

namespace riskoffset {

// USD collateral value of an amount: a positive amount counts after its haircut, a debt in full (no haircut
// helps a debt).
inline double collateral_value(double amount, double price, double haircut) {
  return amount * price * (amount > 0.0 ? 1.0 - haircut : 1.0);
}

struct SettledAccount {
  double margin_balance = 0, initial_usd = 0, maintenance_usd = 0, available = 0, ratio = 0;
  bool below_initial = false, below_maintenance = false;
};

inline SettledAccount settle_account(const double* equity, const double* initial, const double* maintenance,
                                     const double* price, const double* cut_im, const double* cut_mm,
                                     std::size_t n) {
  SettledAccount s;
  for (std::size_t c = 0; c < n; ++c) s.initial_usd += initial[c] * price[c];
  for (std::size_t c = 0; c < n; ++c) s.maintenance_usd += maintenance[c] * price[c];
  if (cut_im) {
    double coll_im = 0.0, coll_mm = 0.0;
    for (std::size_t c = 0; c < n; ++c) {
      coll_im += collateral_value(equity[c], price[c], cut_im[c]);
      coll_mm += collateral_value(equity[c], price[c], cut_mm[c]);
    }
    s.margin_balance = coll_im;
    s.available = coll_im - s.initial_usd;
    s.below_initial = s.available < 0.0;
    s.below_maintenance = coll_mm < s.maintenance_usd;
  } else {
    for (std::size_t c = 0; c < n; ++c) {
      s.margin_balance += equity[c] * price[c];
      s.available += (equity[c] - initial[c]) * price[c];
      s.below_initial = s.below_initial || equity[c] < initial[c];
      s.below_maintenance = s.below_maintenance || equity[c] < maintenance[c];
    }
  }
  if (s.maintenance_usd == 0.0)
    s.ratio = 0.0;
  else
    s.ratio = s.margin_balance > 0.0 ? s.maintenance_usd / s.margin_balance : std::numeric_limits<double>::infinity();
  return s;
}

}  // namespace riskoffset
