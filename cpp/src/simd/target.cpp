// The generic kernel source, compiled once per SIMD target (RO_TARGET, RO_WIDTH and -m flags come from
// CMakeLists.txt).  Everything lives in namespace riskoffset::RO_TARGET so targets never share symbols.
#include <cstddef>
#include <cstdint>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#include "book/first_at_or_past.hpp"
#include "margin/position_prefetch.hpp"
#include "riskoffset/kernels.hpp"

#ifndef RO_TARGET
#error "RO_TARGET must name the SIMD target"
#endif

namespace riskoffset {
namespace RO_TARGET {

#include "simd/vec.hpp"
#include "simd/vmath.hpp"
#include "pricing/flag_decode.hpp"
#include "pricing/black_kernel.hpp"
#include "pricing/implied_vol_kernel.hpp"
#include "pricing/scenario_kernel.hpp"
#include "book/csr_product.hpp"
#include "book/positions_order.hpp"
#include "margin/settle_values.hpp"
#include "margin/portfolio_margin.hpp"
#include "margin/grid_margin.hpp"
#include "margin/span_margin.hpp"

// Scalar views of the vector maths for tests (W lanes computed, first used).
double exp_one(double v) { return vexp(splat(v))[0]; }
double log_one(double v) { return vlog(splat(v))[0]; }
double erfcx_one(double v) { return verfcx(splat(v))[0]; }

}  // namespace RO_TARGET

#define RO_STR2(x) #x
#define RO_STR(x) RO_STR2(x)
#define RO_CAT2(a, b) a##b
#define RO_CAT(a, b) RO_CAT2(a, b)

const KernelTable& RO_CAT(kernels_, RO_TARGET)() {
  static const KernelTable table{RO_STR(RO_TARGET),
                                 &RO_TARGET::price_greeks_kernel,
                                 &RO_TARGET::implied_vol_kernel,
                                 &RO_TARGET::scenario_values_kernel,
                                 &RO_TARGET::csr_product_kernel,
                                 &RO_TARGET::pm_accounts_kernel,
                                 &RO_TARGET::pm_group_kernel,
                                 &RO_TARGET::pm_live_kernel,
                                 &RO_TARGET::exp_one,
                                 &RO_TARGET::log_one,
                                 &RO_TARGET::erfcx_one,
                                 &RO_TARGET::grid_accounts_kernel,
                                 &RO_TARGET::grid_group_kernel,
                                 &RO_TARGET::span_groups_kernel,
                                 &RO_TARGET::first_unsorted_kernel,
                                 &RO_TARGET::accounts_in_order_kernel,
                                 &RO_TARGET::decode_flags_kernel};
  return table;
}

}  // namespace riskoffset
