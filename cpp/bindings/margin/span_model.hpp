// The arrays a SPAN risk-parameter file compiles to for one rate class (riskoffset.margining.span.bulk,
// `compile_model`), bound and checked once with the field named; `book()` points the SIMD pass's SpanBook at
// them, the caller filling in its groups of positions.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "riskoffset/grid_span_kernels.hpp"

namespace riskoffset_bindings {

template <typename T>
using SpanArray = pybind11::array_t<T, pybind11::array::c_style | pybind11::array::forcecast>;

// A compiled SPAN dict (the model's or the routing's; `what` names it in errors): `array<T>(name, size)` is its
// array `name`, checked to have `size` entries (any number when size < 0), aligned.
struct SpanDict {
  const pybind11::dict& d;
  const char* what;
  template <typename T>
  SpanArray<T> array(const char* name, pybind11::ssize_t size) const;
};

// Delta spreads across combined commodities of a model in the order they form (compile_model's "super_*" and
// "inter_*" arrays): super spreads' legs name a CC's delta pool (before the intra spreads), inter spreads' legs its
// inter pool (after them).  Per CC how its price risk turns into a leg's weighted futures price risk, and which
// spreads it is a leg of.
struct SpanCrossSpreads {
  std::int64_t n = 0;
  const std::int64_t* leg_offset = nullptr;  // n + 1
  // 0: count x amount shared by the spread's CCs, 1: W, 2: a delta spread the full path computes, 3: a scanning
  // spread (legs: leg_side 1 for the target, 0 for the others; leg_rate 1 for a required leg), 4: a scanning spread
  // the full path computes
  const std::int8_t* method = nullptr;
  const double* amount = nullptr;            // method 0: per spread; 3: the gain allowance (fraction)
  const std::uint8_t* kind = nullptr;        // bit reported when it forms
  const std::int64_t* leg_cc = nullptr;
  const std::int64_t* leg_pool = nullptr;  // the pool (super) or inter pool (inter) of the leg's CC
  const double* leg_side = nullptr;        // +1 side A, -1 side B
  const double* leg_ratio = nullptr;
  const double* leg_rate = nullptr;         // W: the leg's credit rate (fraction)
  const std::int8_t* wfpr_mode = nullptr;  // per CC: 0 price risk per delta, 1 capped at psr, 2 psr
  const double* psr = nullptr;             // per CC: its futures price scan range
  const std::vector<std::vector<std::int64_t>>* of_cc = nullptr;  // per CC: the spreads it is a leg of, in order
  const std::vector<std::int64_t>* n_ccs = nullptr;               // per spread: how many CCs it spans
};

class SpanModel {
 public:
  explicit SpanModel(const pybind11::dict& model);

  // The model's fields of a SpanBook (group_start, group_cc, n_groups, row and n left empty).
  riskoffset::SpanBook book() const;
  // Doubles of scratch the pass needs (SpanGroupsKernel).
  std::size_t scratch_size() const;
  // Raises (ValueError naming the field and row) unless contract row i may be read by the pass as a position of
  // CC c: a row of the file, in c, its period pool inside c, its risk array, delta and premium price finite.
  void check_row(std::int64_t i, std::int64_t c) const;

  std::int64_t n_rows = 0, n_points = 0, n_cc = 0;
  const std::int64_t* cc_of_row = nullptr;
  SpanCrossSpreads inter() const { return cross(inter_); }
  SpanCrossSpreads super_spreads() const { return cross(super_); }
  std::size_t max_inter_pools() const { return max_inter_pools_; }
  std::size_t max_pools() const { return max_pools_; }
  // Whether the pass runs in two phases: super spreads move the pools in between, scanning spreads read the losses.
  bool two_phases() const { return super_.method.size() > 0 || inter_.scanning; }

 private:
  SpanArray<double> arrays_, delta_, price_, cvf_, spot_sprd_, spot_outr_, som_rate_, amount_, leg_side_, leg_ratio_,
      leg_rate_;
  SpanArray<std::int64_t> period_pool_, cc_of_row_, pool_offset_, n_tier_pools_, n_scan_tiers_, spread_offset_,
      som_offset_, spot_offset_, spot_pool_offset_, spot_pool_, period_tier_, leg_offset_, leg_pool_;
  SpanArray<std::uint64_t> som_mask_, scan_mask_;
  SpanArray<std::int8_t> option_, method_;
  SpanArray<std::uint8_t> premium_, star_, som_gross_, kind_;
  std::size_t max_pools_ = 1, max_scan_tiers_ = 0;
  struct CrossArrays {  // one kind of cross-commodity delta spreads, bound
    SpanArray<std::int64_t> leg_offset, leg_cc, leg_pool;
    SpanArray<std::int8_t> method;
    SpanArray<std::uint8_t> kind;
    SpanArray<double> amount, leg_side, leg_ratio, leg_rate;
    std::vector<std::vector<std::int64_t>> of_cc;
    std::vector<std::int64_t> n_ccs;
    bool scanning = false;  // some are scanning spreads
  };
  void bind_inter(const SpanDict& model);
  // `prefix` "inter_" or "super_"; a leg's pool of CC c lies below pools_of(c)
  CrossArrays bind_cross(const SpanDict& model, const std::string& prefix,
                         const std::function<std::int64_t(std::int64_t)>& pools_of) const;
  SpanCrossSpreads cross(const CrossArrays& a) const;
  // what the cross-commodity spreads read of a group
  SpanArray<std::int64_t> inter_offset_, inter_member_offset_, inter_member_pool_, paired_;
  SpanArray<std::uint8_t> inter_member_use_, no_move_;
  SpanArray<std::int8_t> wfpr_mode_;
  SpanArray<double> psr_;
  std::size_t max_inter_pools_ = 1;
  CrossArrays inter_, super_;
};

}  // namespace riskoffset_bindings
