// SpanModel: the compiled SPAN arrays checked once (their layout: offsets, pools, spreads, spot rates); the rows a
// pass reads are checked as positions name them (check_row), so a large file costs nothing for the rows no
// account holds.
#include "span_model.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "../common/require.hpp"

namespace py = pybind11;

namespace riskoffset_bindings {
namespace {

template <typename T>
void check_offsets(const SpanArray<T>& offsets, std::int64_t total, const char* name) {
  RO_CHECK(offsets.size() >= 1 && offsets.data()[0] == 0 && offsets.data()[offsets.size() - 1] == total,
           std::string("SPAN model: '") + name + "' must run from 0 to " + std::to_string(total));
  for (py::ssize_t j = 0; j + 1 < offsets.size(); ++j)
    RO_CHECK(offsets.data()[j] <= offsets.data()[j + 1],
             std::string("SPAN model: '") + name + "' decreases at " + std::to_string(j));
}

}  // namespace

template <typename T>
SpanArray<T> SpanDict::array(const char* name, py::ssize_t size) const {
  RO_CHECK(d.contains(name), std::string(what) + ": no '" + name + "' array");
  SpanArray<T> a = SpanArray<T>::ensure(d[name]);
  RO_CHECK(a, std::string(what) + ": '" + name + "' is not a numeric array");
  if (reinterpret_cast<std::uintptr_t>(a.data()) % alignof(T) != 0) a = SpanArray<T>::ensure(a.attr("copy")());
  RO_CHECK(size < 0 || a.size() == size, std::string(what) + ": '" + name + "' has " + std::to_string(a.size()) +
                                             " entries, expected " + std::to_string(size));
  return a;
}
template SpanArray<double> SpanDict::array(const char*, py::ssize_t) const;
template SpanArray<std::int64_t> SpanDict::array(const char*, py::ssize_t) const;
template SpanArray<std::uint64_t> SpanDict::array(const char*, py::ssize_t) const;
template SpanArray<std::int8_t> SpanDict::array(const char*, py::ssize_t) const;
template SpanArray<std::uint8_t> SpanDict::array(const char*, py::ssize_t) const;

SpanModel::SpanModel(const py::dict& model_in) {
  const SpanDict model{model_in, "SPAN model"};
  arrays_ = model.array<double>("arrays", -1);
  RO_CHECK(arrays_.ndim() == 2, "SPAN model: 'arrays' must be (contracts, points)");
  n_rows = arrays_.shape(0), n_points = arrays_.shape(1);
  delta_ = model.array<double>("delta", n_rows);
  period_pool_ = model.array<std::int64_t>("period_pool", n_rows);
  som_mask_ = model.array<std::uint64_t>("som_mask", n_rows);
  scan_mask_ = model.array<std::uint64_t>("scan_mask", n_rows);
  option_ = model.array<std::int8_t>("option", n_rows);
  premium_ = model.array<std::uint8_t>("premium", n_rows);
  price_ = model.array<double>("price", n_rows);
  cvf_ = model.array<double>("cvf", n_rows);
  cc_of_row_ = model.array<std::int64_t>("cc_of_row", n_rows);
  cc_of_row = cc_of_row_.data();
  pool_offset_ = model.array<std::int64_t>("pool_offset", -1);
  n_cc = pool_offset_.size() - 1;
  RO_CHECK(n_cc >= 0, "SPAN model: 'pool_offset' needs n_cc + 1 entries");
  n_tier_pools_ = model.array<std::int64_t>("n_tier_pools", n_cc);
  star_ = model.array<std::uint8_t>("star", n_cc);
  n_scan_tiers_ = model.array<std::int64_t>("n_scan_tiers", n_cc);
  spread_offset_ = model.array<std::int64_t>("spread_offset", n_cc + 1);
  som_offset_ = model.array<std::int64_t>("som_offset", n_cc + 1);
  spot_offset_ = model.array<std::int64_t>("spot_offset", n_cc + 1);
  const std::int64_t n_spot = spot_offset_.data()[n_cc];
  spot_sprd_ = model.array<double>("spot_sprd", n_spot);
  spot_outr_ = model.array<double>("spot_outr", n_spot);
  spot_pool_offset_ = model.array<std::int64_t>("spot_pool_offset", n_spot + 1);
  spot_pool_ = model.array<std::int64_t>("spot_pool", spot_pool_offset_.data()[n_spot]);
  som_gross_ = model.array<std::uint8_t>("som_gross", n_cc);
  period_tier_ = model.array<std::int64_t>("period_tier", pool_offset_.data()[n_cc]);
  som_rate_ = model.array<double>("som_rate", som_offset_.data()[n_cc]);
  const std::int64_t n_spreads = spread_offset_.data()[n_cc];
  leg_offset_ = model.array<std::int64_t>("leg_offset", n_spreads + 1);
  method_ = model.array<std::int8_t>("method", n_spreads);
  amount_ = model.array<double>("amount", n_spreads);
  kind_ = model.array<std::uint8_t>("kind", n_spreads);
  const std::int64_t n_legs = leg_offset_.data()[n_spreads];
  leg_pool_ = model.array<std::int64_t>("leg_pool", n_legs);
  leg_side_ = model.array<double>("leg_side", n_legs);
  leg_ratio_ = model.array<double>("leg_ratio", n_legs);
  leg_rate_ = model.array<double>("leg_rate", n_legs);

  const std::int64_t* pool_offset = pool_offset_.data();
  check_offsets(pool_offset_, pool_offset[n_cc], "pool_offset");
  check_offsets(spread_offset_, n_spreads, "spread_offset");
  check_offsets(som_offset_, som_rate_.size(), "som_offset");
  check_offsets(leg_offset_, n_legs, "leg_offset");
  check_offsets(spot_offset_, n_spot, "spot_offset");
  check_offsets(spot_pool_offset_, spot_pool_.size(), "spot_pool_offset");
  for (std::int64_t r = 0; r < n_spot; ++r)
    RO_CHECK(std::isfinite(spot_sprd_.data()[r]) && std::isfinite(spot_outr_.data()[r]),
             "SPAN model: spot rate " + std::to_string(r) + " is not finite");
  for (std::int64_t c = 0; c < n_cc; ++c) {
    const std::int64_t scan_tiers = n_scan_tiers_.data()[c];
    RO_CHECK(scan_tiers >= 0 && scan_tiers <= 64, "SPAN model: CC " + std::to_string(c) + ": scan tiers outside 0..64");
    max_scan_tiers_ = std::max<std::size_t>(max_scan_tiers_, static_cast<std::size_t>(scan_tiers));
    const std::int64_t size = pool_offset[c + 1] - pool_offset[c], tiers = n_tier_pools_.data()[c];
    const bool star = star_.data()[c] != 0;
    RO_CHECK(size >= 1 && tiers >= 0 && tiers < size, "SPAN model: CC " + std::to_string(c) + ": bad pool layout");
    RO_CHECK(!star || tiers == 0, "SPAN model: CC " + std::to_string(c) + ": a '*' CC has no tier pools");
    for (std::int64_t k = 0; k < size; ++k) {
      const std::int64_t t = period_tier_.data()[pool_offset[c] + k];
      RO_CHECK(t >= -1 && t < std::max<std::int64_t>(tiers, 1) && (k >= tiers || t == -1),
               "SPAN model: CC " + std::to_string(c) + ": pool " + std::to_string(k) + " names a tier outside its pools");
    }
    RO_CHECK(som_offset_.data()[c + 1] - som_offset_.data()[c] <= 64,
             "SPAN model: CC " + std::to_string(c) + ": more than 64 SOM tiers");
    for (std::int64_t s = spread_offset_.data()[c]; s < spread_offset_.data()[c + 1]; ++s) {
      const std::int8_t method = method_.data()[s];
      RO_CHECK(method >= 0 && method <= 2, "SPAN model: spread " + std::to_string(s) + ": method outside 0..2");
      const std::int64_t legs = leg_offset_.data()[s + 1] - leg_offset_.data()[s];
      RO_CHECK(method == 2 || legs <= 8, "SPAN model: spread " + std::to_string(s) + ": more than 8 legs");
      for (std::int64_t l = leg_offset_.data()[s]; l < leg_offset_.data()[s + 1]; ++l) {
        RO_CHECK(leg_pool_.data()[l] >= 0 && leg_pool_.data()[l] < size,
                 "SPAN model: spread " + std::to_string(s) + ": a leg names a pool outside its CC");
        RO_CHECK(std::isfinite(leg_ratio_.data()[l]) && leg_ratio_.data()[l] > 0,
                 "SPAN model: spread " + std::to_string(s) + ": leg ratio must be finite and > 0");
      }
    }
    for (std::int64_t r = spot_offset_.data()[c]; r < spot_offset_.data()[c + 1]; ++r)
      for (std::int64_t q = spot_pool_offset_.data()[r]; q < spot_pool_offset_.data()[r + 1]; ++q)
        RO_CHECK(spot_pool_.data()[q] >= tiers + (star ? 1 : 0) && spot_pool_.data()[q] < size - 1,
                 "SPAN model: spot rate " + std::to_string(r) + " names a pool that is not one of its CC's periods");
    max_pools_ = std::max<std::size_t>(max_pools_, static_cast<std::size_t>(size));
  }
  bind_inter(model);
}

void SpanModel::bind_inter(const SpanDict& model) {
  const std::int64_t* pool_offset = pool_offset_.data();
  inter_offset_ = model.array<std::int64_t>("inter_offset", n_cc + 1);
  const std::int64_t n_pools = inter_offset_.data()[n_cc];
  inter_member_offset_ = model.array<std::int64_t>("inter_member_offset", n_pools + 1);
  const std::int64_t n_members = inter_member_offset_.data()[n_pools];
  inter_member_pool_ = model.array<std::int64_t>("inter_member_pool", n_members);
  inter_member_use_ = model.array<std::uint8_t>("inter_member_use", n_members);
  no_move_ = model.array<std::uint8_t>("no_move", n_cc * n_points);
  paired_ = model.array<std::int64_t>("paired", n_cc * n_points);
  wfpr_mode_ = model.array<std::int8_t>("wfpr_mode", n_cc);
  psr_ = model.array<double>("psr", n_cc);
  check_offsets(inter_offset_, n_pools, "inter_offset");
  check_offsets(inter_member_offset_, n_members, "inter_member_offset");
  for (std::int64_t c = 0; c < n_cc; ++c) {
    const std::int64_t size = pool_offset[c + 1] - pool_offset[c];
    const std::int64_t t0 = inter_offset_.data()[c], t1 = inter_offset_.data()[c + 1];
    RO_CHECK(t1 > t0, "SPAN model: CC " + std::to_string(c) + ": no inter pool");
    max_inter_pools_ = std::max<std::size_t>(max_inter_pools_, static_cast<std::size_t>(t1 - t0));
    for (std::int64_t q = inter_member_offset_.data()[t0]; q < inter_member_offset_.data()[t1]; ++q)
      RO_CHECK(inter_member_pool_.data()[q] >= 0 && inter_member_pool_.data()[q] < size,
               "SPAN model: CC " + std::to_string(c) + ": an inter pool names a pool outside its CC");
    for (std::int64_t j = 0; j < n_points; ++j) {
      const std::int64_t p = paired_.data()[c * n_points + j];
      RO_CHECK(p >= 0 && p <= n_points, "SPAN model: CC " + std::to_string(c) + ": paired scenario outside the points");
    }
    const std::int8_t mode = wfpr_mode_.data()[c];
    RO_CHECK(mode >= 0 && mode <= 2, "SPAN model: CC " + std::to_string(c) + ": wfpr_mode outside 0..2");
  }
  inter_ = bind_cross(model, "inter_", [this](std::int64_t c) {
    return inter_offset_.data()[c + 1] - inter_offset_.data()[c];
  });
  super_ = bind_cross(model, "super_", [this](std::int64_t c) {
    return pool_offset_.data()[c + 1] - pool_offset_.data()[c];
  });
}

SpanModel::CrossArrays SpanModel::bind_cross(const SpanDict& model, const std::string& prefix,
                                             const std::function<std::int64_t(std::int64_t)>& pools_of) const {
  CrossArrays a;
  const auto name = [&prefix](const char* field) { return prefix + field; };
  a.leg_offset = model.array<std::int64_t>(name("leg_offset").c_str(), -1);
  const std::int64_t n_spreads = a.leg_offset.size() - 1;
  RO_CHECK(n_spreads >= 0, "SPAN model: '" + name("leg_offset") + "' needs n_spreads + 1 entries");
  a.method = model.array<std::int8_t>(name("method").c_str(), n_spreads);
  a.amount = model.array<double>(name("amount").c_str(), n_spreads);
  a.kind = model.array<std::uint8_t>(name("kind").c_str(), n_spreads);
  const std::int64_t n_legs = a.leg_offset.data()[n_spreads];
  a.leg_cc = model.array<std::int64_t>(name("leg_cc").c_str(), n_legs);
  a.leg_pool = model.array<std::int64_t>(name("leg_pool").c_str(), n_legs);
  a.leg_side = model.array<double>(name("leg_side").c_str(), n_legs);
  a.leg_ratio = model.array<double>(name("leg_ratio").c_str(), n_legs);
  a.leg_rate = model.array<double>(name("leg_rate").c_str(), n_legs);
  check_offsets(a.leg_offset, n_legs, name("leg_offset").c_str());
  a.of_cc.assign(static_cast<std::size_t>(n_cc), {});
  a.n_ccs.assign(static_cast<std::size_t>(n_spreads), 0);
  for (std::int64_t s = 0; s < n_spreads; ++s) {
    const std::int8_t method = a.method.data()[s];
    const std::string which = "SPAN model: " + prefix.substr(0, prefix.size() - 1) + " spread " + std::to_string(s);
    RO_CHECK(method >= 0 && method <= 4, which + ": method outside 0..4");
    const std::int64_t l0 = a.leg_offset.data()[s], l1 = a.leg_offset.data()[s + 1];
    RO_CHECK(l1 > l0 && (method == 2 || method == 4 || l1 - l0 <= 8), which + ": 1 to 8 legs");
    RO_CHECK((method != 0 && method != 3) || std::isfinite(a.amount.data()[s]), which + ": amount not finite");
    a.scanning |= method >= 3;
    for (std::int64_t l = l0; l < l1; ++l) {
      const std::int64_t c = a.leg_cc.data()[l];
      RO_CHECK(c >= 0 && c < n_cc, which + ": a leg names a CC outside the file");
      RO_CHECK(a.leg_pool.data()[l] >= 0 && a.leg_pool.data()[l] < pools_of(c), which + ": a leg names a pool outside its CC");
      RO_CHECK(std::isfinite(a.leg_ratio.data()[l]) && a.leg_ratio.data()[l] > 0,
               which + ": leg ratio must be finite and > 0");
      RO_CHECK(method != 1 || (std::isfinite(a.leg_rate.data()[l]) &&
                               (wfpr_mode_.data()[c] == 0 || std::isfinite(psr_.data()[c]))),
               which + ": a leg's rate or its CC's price scan range is not finite");
      auto& list = a.of_cc[static_cast<std::size_t>(c)];
      if (list.empty() || list.back() != s) list.push_back(s), ++a.n_ccs[static_cast<std::size_t>(s)];
    }
  }
  return a;
}

SpanCrossSpreads SpanModel::cross(const CrossArrays& a) const {
  SpanCrossSpreads x;
  x.n = a.method.size();
  x.leg_offset = a.leg_offset.data(), x.method = a.method.data(), x.amount = a.amount.data();
  x.kind = a.kind.data(), x.leg_cc = a.leg_cc.data(), x.leg_pool = a.leg_pool.data();
  x.leg_side = a.leg_side.data(), x.leg_ratio = a.leg_ratio.data(), x.leg_rate = a.leg_rate.data();
  x.wfpr_mode = wfpr_mode_.data(), x.psr = psr_.data(), x.of_cc = &a.of_cc, x.n_ccs = &a.n_ccs;
  return x;
}

void SpanModel::check_row(std::int64_t i, std::int64_t c) const {
  RO_CHECK(i >= 0 && i < n_rows, "contract row " + std::to_string(i) + " is outside the file");
  RO_CHECK(cc_of_row[i] == c,
           "contract row " + std::to_string(i) + " is not in its group's combined commodity");
  const std::int64_t pp = period_pool_.data()[i];
  RO_CHECK(pp >= n_tier_pools_.data()[c] + (star_.data()[c] ? 1 : 0) &&
               pp < pool_offset_.data()[c + 1] - pool_offset_.data()[c],
           "SPAN model: contract row " + std::to_string(i) + ": period pool outside its CC");
  const double* a = arrays_.data() + i * n_points;
  for (std::int64_t j = 0; j < n_points; ++j)
    RO_CHECK(std::isfinite(a[j]), "contract row " + std::to_string(i) + ": risk array not finite");
  RO_CHECK(std::isfinite(delta_.data()[i]), "contract row " + std::to_string(i) + ": delta not finite");
  RO_CHECK(!premium_.data()[i] || (std::isfinite(price_.data()[i]) && std::isfinite(cvf_.data()[i])),
           "contract row " + std::to_string(i) + ": price or cvf not finite");
}

std::size_t SpanModel::scratch_size() const {
  return 4 * max_pools_ + (1 + max_scan_tiers_) * (static_cast<std::size_t>(n_points) + 1);
}

riskoffset::SpanBook SpanModel::book() const {
  riskoffset::SpanBook b;
  b.arrays = arrays_.data(), b.n_points = static_cast<std::size_t>(n_points);
  b.delta = delta_.data(), b.period_pool = period_pool_.data(), b.som_mask = som_mask_.data();
  b.option = option_.data(), b.scan_mask = scan_mask_.data(), b.n_scan_tiers = n_scan_tiers_.data();
  b.max_scan_tiers = max_scan_tiers_, b.premium = premium_.data(), b.price = price_.data(), b.cvf = cvf_.data();
  b.pool_offset = pool_offset_.data(), b.n_tier_pools = n_tier_pools_.data(), b.period_tier = period_tier_.data();
  b.star = star_.data(), b.spread_offset = spread_offset_.data(), b.som_offset = som_offset_.data();
  b.som_gross = som_gross_.data(), b.som_rate = som_rate_.data(), b.leg_offset = leg_offset_.data();
  b.method = method_.data(), b.amount = amount_.data(), b.kind = kind_.data(), b.leg_pool = leg_pool_.data();
  b.leg_side = leg_side_.data(), b.leg_ratio = leg_ratio_.data(), b.leg_rate = leg_rate_.data();
  b.max_pools = max_pools_;
  b.spot_offset = spot_offset_.data(), b.spot_sprd = spot_sprd_.data(), b.spot_outr = spot_outr_.data();
  b.spot_pool_offset = spot_pool_offset_.data(), b.spot_pool = spot_pool_.data();
  b.inter_offset = inter_offset_.data(), b.inter_member_offset = inter_member_offset_.data();
  b.inter_member_pool = inter_member_pool_.data(), b.inter_member_use = inter_member_use_.data();
  b.no_move = no_move_.data(), b.paired = paired_.data();
  return b;
}

}  // namespace riskoffset_bindings
