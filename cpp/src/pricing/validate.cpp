#include <cmath>

#include "riskoffset/pricing.hpp"

namespace riskoffset {

// Scalar re-check of one row, used only to word the error after a kernel reported the row invalid.
std::string invalid_pricing_field(const PricingInputs& in, std::size_t i) {
  // (flags given as strings were checked as the kernel decoded them: only a flag column is re-read here)
  const bool flag_column = in.flag.data != nullptr || in.flag.is_call != nullptr;
  const double flag = flag_column ? in.flag.at(i) : 1.0, u = in.underlying.at(i), k = in.strike.at(i), t = in.t.at(i),
               r = in.r.at(i), sigma = in.sigma.at(i), q = in.q.at(i);
  if (!(flag == 1.0 || flag == -1.0)) return "flag";
  if (!(u >= kMinMagnitude && u <= kMaxMagnitude)) return "underlying";
  if (!(k >= kMinMagnitude && k <= kMaxMagnitude)) return "strike";
  if (!(std::isfinite(t) && t <= kMaxMagnitude)) return "t";
  if (!std::isfinite(r)) return "r";
  if (!(sigma >= 0.0 && sigma <= kMaxMagnitude)) return "sigma";
  if (!std::isfinite(q)) return "q";
  const double years = t > 0.0 ? t : 0.0;
  if (!(std::fabs(r * years) <= kMaxRateTime)) return "r";
  if (!(std::fabs(q * years) <= kMaxRateTime)) return "q";
  return "";
}

}  // namespace riskoffset
