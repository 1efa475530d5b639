// The live engine's one-option reprice: after an option's own ticker (a new mark IV), its value, premium-adjusted
// delta, portfolio-margin scenario vector and shock delta, written straight into the engine's arrays at its
// row, from what its last full pricing kept (forward, strike, time, shock scale).  Bound once per scenario set
// (a pair of the portfolio margin): a call is two kernel runs on one option, no argument conversion.  The same
// kernels and the same scenario code (run_option_scenarios) as the bulk revaluation, so the figures are those
// of the full path bit for bit.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "../common/arrays.hpp"
#include "option_reprice.hpp"
#include "riskoffset/dispatch.hpp"
#include "riskoffset/kernels.hpp"

namespace py = pybind11;

namespace riskoffset_bindings {

namespace {

template <typename Array>
void check(const Array& a, std::size_t n, const char* name) {
  if (static_cast<std::size_t>(a.size()) != n)
    throw std::invalid_argument(std::string(name) + " has " + std::to_string(a.size()) + " entries, expected " +
                                std::to_string(n));
}

}  // namespace

OptionReprice::OptionReprice(py::handle flag, py::handle forward, py::handle strike, py::handle t, py::handle inverse,
                             py::handle term, py::handle expired, const DoubleArray& shifts, bool relative,
                             double floor_up, double floor, const Int32s& vol_state, const DoubleArray& move,
                             py::object time_shift, double r, const Bytes& identity, py::ssize_t n_standard,
                             const DoubleArray& weight, const DoubleArray& convert, bool shock_delta,
                             py::handle unit_value, py::handle unit_delta, py::handle vectors, py::handle delta)
    : shifts_(shifts), vol_state_(vol_state), move_(move), identity_(identity), weight_(weight),
      convert_(convert), r_(r), shock_delta_(shock_delta) {
  // The engine's arrays, bound as they are (it updates them in place; a copy would go stale).
  py::handle kept[] = {flag, forward, strike, t, inverse, term};
  const char* names[] = {"flag", "forward", "strike", "t", "inverse", "term"};
  for (int k = 0; k < 6; ++k) columns_[k] = exact_array<double>(kept[k], names[k], false);
  n_ = static_cast<std::size_t>(columns_[0].size());
  for (int k = 1; k < 6; ++k) check(columns_[k], n_, names[k]);
  expired_ = exact_array<bool>(expired, "expired", false);
  check(expired_, n_, "expired");
  unit_value_ = exact_array<double>(unit_value, "unit_value", true);
  unit_delta_ = exact_array<double>(unit_delta, "unit_delta", true);
  delta_ = exact_array<double>(delta, "delta", true);
  vectors_ = exact_array<double>(vectors, "vectors", true);
  check(unit_value_, n_, "unit_value"), check(unit_delta_, n_, "unit_delta"), check(delta_, n_, "delta");
  n_moves_ = static_cast<std::size_t>(move_.size());
  if (n_moves_ < 2 || n_moves_ - 1 > kMaxColumns)
    throw std::invalid_argument("move needs the base state and 1 to " + std::to_string(kMaxColumns) + " scenarios");
  const std::size_t columns = n_moves_ - 1;
  if (vectors_.ndim() != 2 || static_cast<std::size_t>(vectors_.shape(0)) != n_ ||
      static_cast<std::size_t>(vectors_.shape(1)) != columns)
    throw std::invalid_argument("vectors must have shape (" + std::to_string(n_) + ", " + std::to_string(columns) +
                                ")");
  check(vol_state_, n_moves_, "vol_state");
  check(identity_, columns, "identity");
  if (n_standard < 0 || static_cast<std::size_t>(n_standard) > columns)
    throw std::invalid_argument("n_standard must lie in [0, " + std::to_string(columns) + "]");
  n_standard_ = static_cast<std::size_t>(n_standard);
  check(weight_, columns - n_standard_, "weight"), check(convert_, columns - n_standard_, "convert");
  for (std::size_t j = 0; j < n_moves_; ++j)
    if (vol_state_.data()[j] < 0 || static_cast<std::size_t>(vol_state_.data()[j]) > static_cast<std::size_t>(shifts_.size()))
      throw std::invalid_argument("vol_state entries must lie in [0, " + std::to_string(shifts_.size()) + "]");
  if (!time_shift.is_none()) {
    time_shift_ = DoubleArray::ensure(time_shift);
    if (!time_shift_) throw std::invalid_argument("time_shift must be an array");
    check(time_shift_, n_moves_, "time_shift");
  }
  set_.shock = riskoffset_bindings::VolShock{shifts_.data(), static_cast<std::size_t>(shifts_.size()), relative,
                                             floor_up, floor};
  set_.vol_state = vol_state_.data(), set_.move = move_.data(), set_.n_moves = n_moves_, set_.r = r;
  set_.time_shift = time_shift.is_none() ? nullptr : time_shift_.data();
  set_.identity = identity_.data(), set_.n_standard = n_standard_;
  set_.weight = weight_.data(), set_.convert = convert_.data();
  growth_.resize(2 * n_moves_);
  for (std::size_t j = 0; j < n_moves_; ++j) {
    growth_[j] = std::log1p(move_.data()[j]);
    growth_[n_moves_ + j] = 1.0 / (1.0 + move_.data()[j]);
  }
  set_.log_growth = growth_.data(), set_.inv_growth = growth_.data() + n_moves_;
}

bool OptionReprice::operator()(py::ssize_t row, double sigma) {
  if (row < 0 || static_cast<std::size_t>(row) >= n_) throw py::index_error("row out of range");
  const auto i = static_cast<std::size_t>(row);
  const double* c[6];
  for (int k = 0; k < 6; ++k) c[k] = columns_[k].data() + i;
  const bool expired = expired_.data()[i];
  double value = 0.0, dv = 0.0, unused[3];
  {
    // Value and dV/dF from the pricing kernel, with the outputs the full pricing asks for (the same kernel
    // instance, so the same bits): price, delta, gamma, vega, theta.
    const double q = 0.0;
    riskoffset::PricingInputs in;
    in.flag = riskoffset::FlagColumn{c[0], nullptr, 0}, in.underlying = riskoffset::Column{c[1], 0};
    in.strike = riskoffset::Column{c[2], 0}, in.t = riskoffset::Column{c[3], 0};
    in.r = riskoffset::Column{&r_, 0}, in.sigma = riskoffset::Column{&sigma, 0}, in.q = riskoffset::Column{&q, 0};
    in.model = riskoffset::Model::black76, in.settlement = riskoffset::Settlement::linear;
    riskoffset::PricingOutputs out;
    out.out[0] = &value, out.out[1] = &dv, out.out[2] = &unused[0], out.out[3] = &unused[1], out.out[4] = &unused[2];
    if (riskoffset::active_kernels().price_greeks(in, out, 0, 1) >= 0) return false;
  }
  double row_values[kMaxColumns], base[2], shock_delta = 0.0;
  const std::uint8_t expired_flag = expired ? 1 : 0;
  const riskoffset_bindings::OptionRowsView one{c[0], c[1], c[2], c[3], c[4], c[5], &sigma, &expired_flag, 1};
  if (riskoffset_bindings::run_option_scenarios(one, set_, row_values, &base[0], &base[1],
                                                shock_delta_ ? &shock_delta : nullptr, 1) >= 0)
    return false;
  const bool inverse = *c[4] == 1.0;
  unit_value_.mutable_data()[i] = inverse ? value / *c[1] : value;
  unit_delta_.mutable_data()[i] = riskoffset_bindings::premium_adjusted_delta(dv, value, *c[1], inverse);
  double* vector = vectors_.mutable_data() + i * (n_moves_ - 1);
  for (std::size_t j = 0; j + 1 < n_moves_; ++j) vector[j] = row_values[j];
  delta_.mutable_data()[i] = shock_delta;
  return true;
}

OptionReprice::Saved OptionReprice::save(std::size_t row) const {
  Saved s;
  s.row = row;
  s.unit_value = unit_value_.data()[row], s.unit_delta = unit_delta_.data()[row], s.delta = delta_.data()[row];
  const double* vector = vectors_.data() + row * (n_moves_ - 1);
  std::copy(vector, vector + (n_moves_ - 1), s.vector.begin());
  return s;
}

void OptionReprice::restore(const Saved& s) {
  unit_value_.mutable_data()[s.row] = s.unit_value, unit_delta_.mutable_data()[s.row] = s.unit_delta;
  delta_.mutable_data()[s.row] = s.delta;
  std::copy(s.vector.begin(), s.vector.begin() + static_cast<std::ptrdiff_t>(n_moves_ - 1),
            vectors_.mutable_data() + s.row * (n_moves_ - 1));
}

}  // namespace riskoffset_bindings

void register_option_reprice(py::module_& m) {
  using riskoffset_bindings::DoubleArray;
  using riskoffset_bindings::OptionReprice;
  py::class_<OptionReprice>(m, "OptionReprice",
                            "One option repriced after its own ticker, written into the live engine's arrays "
                            "(bound once per scenario set).")
      .def(py::init<py::handle, py::handle, py::handle, py::handle, py::handle, py::handle, py::handle,
                    const DoubleArray&, bool, double, double, const OptionReprice::Int32s&, const DoubleArray&,
                    py::object, double, const OptionReprice::Bytes&, py::ssize_t, const DoubleArray&,
                    const DoubleArray&, bool, py::handle, py::handle, py::handle, py::handle>(),
           py::arg("flag"), py::arg("forward"), py::arg("strike"), py::arg("t"), py::arg("inverse"), py::arg("term"),
           py::arg("expired"), py::arg("shifts"), py::arg("relative"), py::arg("floor_up"), py::arg("floor"),
           py::arg("vol_state"), py::arg("move"), py::arg("time_shift"), py::arg("r"), py::arg("identity"),
           py::arg("n_standard"), py::arg("weight"), py::arg("convert"), py::arg("shock_delta"),
           py::arg("unit_value"), py::arg("unit_delta"), py::arg("vectors"), py::arg("delta"))
      .def("__call__", &OptionReprice::operator(), py::arg("row"), py::arg("sigma"),
           "Reprice the option at `row` at vol `sigma`: True when written, False (nothing written) when the "
           "kernels refuse an input.");
}
