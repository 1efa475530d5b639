// The per-instrument unit margins of Deribit standard margin (riskoffset.margining.standard.UnitMargins), read
// from a dict of the caller's arrays by field name, bound as they are (the live engine updates them in place)
// and checked once: what riskoffset::standard_position_margin reads.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "../../src/margin/standard_position.hpp"
#include "../common/arrays.hpp"
#include "../common/require.hpp"

namespace riskoffset_bindings {

class BoundStandardUnits {
 public:
  BoundStandardUnits() = default;
  // `n`: the instrument rows the caller's positions may name.
  BoundStandardUnits(const pybind11::dict& d, std::size_t n) {
    double_field(d, "short_initial", units_.short_initial, short_initial_, n);
    double_field(d, "short_maintenance", units_.short_maintenance, short_maintenance_, n);
    double_field(d, "initial_base", units_.initial_base, initial_base_, n);
    double_field(d, "maintenance_base", units_.maintenance_base, maintenance_base_, n);
    double_field(d, "slope", units_.slope, slope_, n);
    double_field(d, "size_divisor", units_.size_divisor, size_divisor_, n);
    double_field(d, "to_currency", units_.to_currency, to_currency_, n);
    RO_CHECK(d.contains("component"), "no array 'component'");
    component_ = exact_array<std::int8_t>(d["component"], "component", false);
    RO_CHECK(component_.ndim() == 1 && static_cast<std::size_t>(component_.size()) == n,
             "component needs one entry per instrument");
    for (std::size_t i = 0; i < n; ++i)
      RO_CHECK(component_.data()[i] >= 0 && component_.data()[i] <= 2,
               "component of instrument row " + std::to_string(i) + " must be 0, 1 or 2");
    units_.component = component_.data();
    bound_ = true;
  }
  bool bound() const { return bound_; }
  const riskoffset::StandardUnits& units() const { return units_; }

 private:
  static void double_field(const pybind11::dict& d, const char* name, const double*& at, pybind11::array_t<double>& keep,
                           std::size_t n) {
    RO_CHECK(d.contains(name), std::string("no array '") + name + "'");
    keep = exact_array<double>(d[name], name, false);
    RO_CHECK(keep.ndim() == 1 && static_cast<std::size_t>(keep.size()) == n,
             std::string(name) + " needs one entry per instrument");
    at = keep.data();
  }
  riskoffset::StandardUnits units_;
  pybind11::array_t<double> short_initial_, short_maintenance_, initial_base_, maintenance_base_, slope_, size_divisor_,
      to_currency_;
  pybind11::array_t<std::int8_t> component_;
  bool bound_ = false;
};

}  // namespace riskoffset_bindings
