// The live engine's one-option reprice (OptionReprice, bound once per scenario set to the engine's arrays), for
// its binding and for the live refresh, which runs it as the first step of an option's vol tick.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../common/arrays.hpp"
#include "option_scenarios.hpp"

namespace riskoffset_bindings {

class OptionReprice {
 public:
  static constexpr std::size_t kMaxColumns = 256;  // scenario columns of one vector (Deribit's: 35)
  using Int32s = pybind11::array_t<std::int32_t, pybind11::array::c_style | pybind11::array::forcecast>;
  using Bytes = pybind11::array_t<std::uint8_t, pybind11::array::c_style | pybind11::array::forcecast>;

  OptionReprice(pybind11::handle flag, pybind11::handle forward, pybind11::handle strike, pybind11::handle t,
                pybind11::handle inverse, pybind11::handle term, pybind11::handle expired, const DoubleArray& shifts,
                bool relative, double floor_up, double floor, const Int32s& vol_state, const DoubleArray& move,
                pybind11::object time_shift, double r, const Bytes& identity, pybind11::ssize_t n_standard,
                const DoubleArray& weight, const DoubleArray& convert, bool shock_delta, pybind11::handle unit_value,
                pybind11::handle unit_delta, pybind11::handle vectors, pybind11::handle delta);

  // Reprices the option at `row` at vol `sigma`.  True when written; false, with nothing written, when the
  // kernels refuse an input (the caller's general path then reports it).
  bool operator()(pybind11::ssize_t row, double sigma);

  // What a reprice of a row overwrites (value, premium-adjusted delta, vector, shock delta), to put back.
  struct Saved {
    std::size_t row = 0;
    double unit_value = 0.0, unit_delta = 0.0, delta = 0.0;
    std::array<double, kMaxColumns> vector{};
  };
  Saved save(std::size_t row) const;
  void restore(const Saved& saved);
  std::size_t size() const { return n_; }

 private:
  pybind11::array_t<double> columns_[6];
  pybind11::array_t<bool> expired_;
  pybind11::array_t<double> unit_value_, unit_delta_, delta_, vectors_;
  DoubleArray shifts_;
  Int32s vol_state_;
  DoubleArray move_, time_shift_;
  Bytes identity_;
  DoubleArray weight_, convert_;
  double r_;
  bool shock_delta_;
  std::size_t n_ = 0, n_moves_ = 0, n_standard_ = 0;
  std::vector<double> growth_;  // ln(1 + move), then 1 / (1 + move): the same every call
  ScenarioSetView set_;
};

}  // namespace riskoffset_bindings
