// _core.scenarios: full revaluation of instruments under scenarios (the value or P&L matrix).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "../common/arrays.hpp"
#include "../memory/buffer_pool.hpp"
#include "option_scenarios.hpp"
#include "riskoffset/pricing.hpp"

namespace py = pybind11;
using riskoffset_bindings::DoubleArray;
using StateArray = py::array_t<std::int32_t, py::array::c_style | py::array::forcecast>;
using FlagArray = py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>;

namespace {

void check_size(const py::array& a, std::size_t n, const char* name) {
  if (static_cast<std::size_t>(a.size()) != n)
    throw std::invalid_argument(std::string(name) + " has " + std::to_string(a.size()) + " entries, expected " +
                                std::to_string(n));
}

// An optional array argument of n entries; None gives an array of none, read through a null pointer (a default
// array_t is an empty array, not a null one).
template <typename Array>
Array optional_array(const py::object& value, std::size_t n, const char* name) {
  if (value.is_none()) return Array(0);
  Array a = Array::ensure(value);
  if (!a) throw std::invalid_argument(std::string(name) + " must be an array");
  check_size(a, n, name);
  return a;
}

}  // namespace

void register_option_reprice(py::module_& m);

void register_scenarios(py::module_& m) {
  register_option_reprice(m);
  m.def(
      "premium_adjusted_delta",
      [](const DoubleArray& delta, const DoubleArray& value, const DoubleArray& forward, const FlagArray& inverse) {
        const auto n = static_cast<std::size_t>(delta.size());
        if (delta.ndim() != 1 || value.ndim() != 1 || forward.ndim() != 1 || inverse.ndim() != 1)
          throw std::invalid_argument("delta, value, forward and inverse must be vectors");
        check_size(value, n, "value"), check_size(forward, n, "forward"), check_size(inverse, n, "inverse");
        py::array_t<double> out(static_cast<py::ssize_t>(n));
        double* o = out.mutable_data();
        for (std::size_t i = 0; i < n; ++i)
          o[i] = riskoffset_bindings::premium_adjusted_delta(delta.data()[i], value.data()[i], forward.data()[i],
                                                             inverse.data()[i] != 0);
        return out;
      },
      py::arg("delta"), py::arg("value"), py::arg("forward"), py::arg("inverse"),
      "Per option, the delta the totals and the shocks count: delta minus the coin premium value / forward "
      "where inverse (coin-settled), else delta.");
  m.def(
      "scenario_values",
      [](const DoubleArray& flag_in, const DoubleArray& forward_in, const DoubleArray& strike_in,
         const DoubleArray& t_in, const DoubleArray& inverse_in, const DoubleArray& sigma_in,
         const StateArray& vol_state_in, const DoubleArray& move_in, py::object time_shift, double r, int threads,
         bool base_first, py::object out, py::object base_out) {
        riskoffset::ScenarioInputs in;
        // Inputs read through aligned arrays (copies of unaligned views); index order below is fixed.
        DoubleArray inputs[] = {riskoffset_bindings::aligned(flag_in),    riskoffset_bindings::aligned(forward_in),
                                riskoffset_bindings::aligned(strike_in),  riskoffset_bindings::aligned(t_in),
                                riskoffset_bindings::aligned(inverse_in), riskoffset_bindings::aligned(sigma_in),
                                riskoffset_bindings::aligned(move_in),    riskoffset_bindings::aligned(move_in)};
        enum { kFlag, kForward, kStrike, kT, kInverse, kSigma, kMove, kTimeShift, kInputCount };
        StateArray vol_state = vol_state_in;
        if (reinterpret_cast<std::uintptr_t>(vol_state.data()) % alignof(std::int32_t) != 0)
          vol_state = StateArray::ensure(vol_state.attr("copy")());
        in.base_first = base_first;
        in.n_instruments = static_cast<std::size_t>(inputs[kFlag].size());
        in.n_scenarios = static_cast<std::size_t>(inputs[kMove].size());
        const char* field_names[] = {"forward", "strike", "t", "inverse"};
        for (int k = kForward; k <= kInverse; ++k)
          if (static_cast<std::size_t>(inputs[k].size()) != in.n_instruments)
            throw std::invalid_argument(std::string(field_names[k - kForward]) + " must have one value per instrument");
        if (static_cast<std::size_t>(vol_state.size()) != in.n_scenarios)
          throw std::invalid_argument("vol_state must have one entry per scenario");
        if (in.n_instruments > 0 && inputs[kSigma].size() % static_cast<py::ssize_t>(in.n_instruments) != 0)
          throw std::invalid_argument("sigma must be n_vol_states x n_instruments (state-major)");
        // Without instruments there is no sigma to read: any vol state index is then acceptable.
        in.n_vol_states = in.n_instruments > 0 ? static_cast<std::size_t>(inputs[kSigma].size()) / in.n_instruments
                                               : static_cast<std::size_t>(INT32_MAX) + 1;
        const bool has_shift = !time_shift.is_none();  // else inputs[kTimeShift] is only a placeholder
        if (has_shift) {
          inputs[kTimeShift] = DoubleArray::ensure(time_shift);
          if (!inputs[kTimeShift] || static_cast<std::size_t>(inputs[kTimeShift].size()) != in.n_scenarios)
            throw std::invalid_argument("time_shift must have one value per scenario");
          inputs[kTimeShift] = riskoffset_bindings::aligned(inputs[kTimeShift]);
        }
        if (base_first && in.n_scenarios == 0) throw std::invalid_argument("base_first needs a base scenario");
        const auto columns = static_cast<py::ssize_t>(in.n_scenarios - (base_first ? 1 : 0));
        const auto rows = static_cast<py::ssize_t>(in.n_instruments);
        py::array_t<double> values;
        if (out.is_none()) {
          values = riskoffset_bindings::new_double_array({rows, columns});
        } else {
          if (py::isinstance<py::array>(out)) {
            const auto given = py::reinterpret_borrow<py::array>(out);
            if (given.ndim() != 2 || given.shape(0) != rows || given.shape(1) != columns)
              throw py::value_error("out must be an array of shape (" + std::to_string(rows) + ", " +
                                    std::to_string(columns) + "), got shape " + py::str(out.attr("shape")).cast<std::string>());
          }
          values = riskoffset_bindings::checked_out(out, rows * columns, "out");
          // An input sharing memory with out is read from a copy, as numpy ufuncs do.
          for (auto& a : inputs)
            if (riskoffset_bindings::overlaps(a, values)) a = DoubleArray::ensure(a.attr("copy")());
          if (riskoffset_bindings::overlaps(vol_state, values)) vol_state = StateArray::ensure(vol_state.attr("copy")());
        }
        py::array_t<double> base;
        if (!base_out.is_none()) {
          if (!base_first) throw std::invalid_argument("base_out needs base_first");
          if (py::isinstance<py::array>(base_out)) {
            const auto given = py::reinterpret_borrow<py::array>(base_out);
            if (given.ndim() != 2 || given.shape(0) != 2 || given.shape(1) != rows)
              throw py::value_error("base_out must be an array of shape (2, " + std::to_string(rows) + ")");
          }
          base = riskoffset_bindings::checked_out(base_out, 2 * rows, "base_out");
          if (!out.is_none() && riskoffset_bindings::overlaps(base, values))
            throw std::invalid_argument("base_out and out must not share memory");
          for (auto& a : inputs)
            if (riskoffset_bindings::overlaps(a, base)) a = DoubleArray::ensure(a.attr("copy")());
          if (riskoffset_bindings::overlaps(vol_state, base)) vol_state = StateArray::ensure(vol_state.attr("copy")());
          in.base_value = base.mutable_data();
          in.base_delta = in.base_value + rows;
        }
        in.flag = inputs[kFlag].data(), in.forward = inputs[kForward].data(), in.strike = inputs[kStrike].data();
        in.t = inputs[kT].data(), in.inverse = inputs[kInverse].data(), in.sigma = inputs[kSigma].data();
        in.move = inputs[kMove].data(), in.vol_state = vol_state.data(), in.r = r;
        in.time_shift = has_shift ? inputs[kTimeShift].data() : nullptr;
        double* data = values.mutable_data();
        std::int64_t bad;
        {
          py::gil_scoped_release release;  // arrays referenced by this frame; no Python touched
          bad = riskoffset::scenario_values(in, data, in.n_instruments, threads);
        }
        return py::make_tuple(values, bad);
      },
      py::arg("flag"), py::arg("forward"), py::arg("strike"), py::arg("t"), py::arg("inverse"), py::arg("sigma"),
      py::arg("vol_state"), py::arg("move"), py::arg("time_shift"), py::arg("r"), py::arg("threads"),
      py::arg("base_first") = false, py::arg("out") = py::none(), py::arg("base_out") = py::none());

  m.def(
      "shock_vols",
      [](const DoubleArray& sigma_in, const DoubleArray& term_in, const DoubleArray& shifts_in, bool relative,
         double floor_up, double floor) {
        const auto n = static_cast<std::size_t>(sigma_in.size());
        check_size(term_in, n, "term");
        const DoubleArray sigma = riskoffset_bindings::aligned(sigma_in), term = riskoffset_bindings::aligned(term_in),
                          shifts = riskoffset_bindings::aligned(shifts_in);
        const riskoffset_bindings::VolShock shock{shifts.data(), static_cast<std::size_t>(shifts.size()), relative, floor_up, floor};
        auto states = riskoffset_bindings::new_double_array(
            {static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(shock.n_states)});
        double* out = states.mutable_data();
        const double *s = sigma.data(), *f = term.data();
        for (std::size_t i = 0; i < n; ++i)
          for (std::size_t k = 0; k < shock.n_states; ++k) out[i * shock.n_states + k] = shock(s[i], f[i], k);
        return states;
      },
      py::arg("sigma"), py::arg("term"), py::arg("shifts"), py::arg("relative"), py::arg("floor_up"),
      py::arg("floor"));

  m.def(
      "option_scenarios",
      [](const DoubleArray& flag_in, const DoubleArray& forward_in, const DoubleArray& strike_in,
         const DoubleArray& t_in, const DoubleArray& inverse_in, const DoubleArray& term_in,
         const DoubleArray& sigma_in, const DoubleArray& shifts_in, bool relative, double floor_up, double floor,
         const StateArray& vol_state_in, const DoubleArray& move_in, py::object time_shift, double r, int threads,
         py::handle out_in, py::handle base_in, py::object identity_in, py::ssize_t n_standard,
         py::object weight_in, py::object convert_in, py::object expired_in, py::object delta_in) {
        // Inputs read through aligned arrays; index order below is fixed.
        DoubleArray inputs[] = {riskoffset_bindings::aligned(flag_in),    riskoffset_bindings::aligned(forward_in),
                                riskoffset_bindings::aligned(strike_in),  riskoffset_bindings::aligned(t_in),
                                riskoffset_bindings::aligned(inverse_in), riskoffset_bindings::aligned(term_in),
                                riskoffset_bindings::aligned(sigma_in),   riskoffset_bindings::aligned(shifts_in),
                                riskoffset_bindings::aligned(move_in),    riskoffset_bindings::aligned(move_in)};
        enum { kFlag, kForward, kStrike, kT, kInverse, kTerm, kSigma, kShifts, kMove, kTimeShift };
        const auto n = static_cast<std::size_t>(inputs[kFlag].size());
        const char* names[] = {"flag", "forward", "strike", "t", "inverse", "term", "sigma"};
        for (int k = kForward; k <= kSigma; ++k) check_size(inputs[k], n, names[k]);
        const auto n_moves = static_cast<std::size_t>(inputs[kMove].size());
        if (n_moves == 0) throw std::invalid_argument("move needs the base state (column 0)");
        StateArray vol_state = vol_state_in;
        if (reinterpret_cast<std::uintptr_t>(vol_state.data()) % alignof(std::int32_t) != 0)
          vol_state = StateArray::ensure(vol_state.attr("copy")());
        check_size(vol_state, n_moves, "vol_state");
        if (!time_shift.is_none()) {
          inputs[kTimeShift] = DoubleArray::ensure(time_shift);
          if (!inputs[kTimeShift]) throw std::invalid_argument("time_shift must be an array");
          check_size(inputs[kTimeShift], n_moves, "time_shift");
          inputs[kTimeShift] = riskoffset_bindings::aligned(inputs[kTimeShift]);
        }
        const std::size_t columns = n_moves - 1;
        auto out = riskoffset_bindings::checked_out(out_in, static_cast<py::ssize_t>(n * columns), "out");
        auto base = riskoffset_bindings::checked_out(base_in, static_cast<py::ssize_t>(2 * n), "base");
        if (riskoffset_bindings::overlaps(out, base)) throw std::invalid_argument("base and out must not share memory");
        const auto identity = optional_array<FlagArray>(identity_in, columns, "identity");
        const bool weighted = !weight_in.is_none();
        if (n_standard < 0 || static_cast<std::size_t>(n_standard) > columns)
          throw std::invalid_argument("n_standard must lie in [0, " + std::to_string(columns) + "]");
        const std::size_t n_extended = columns - static_cast<std::size_t>(n_standard);
        const auto weight = optional_array<DoubleArray>(weight_in, n_extended, "weight");
        const auto convert = optional_array<DoubleArray>(weighted ? convert_in : py::none(), n_extended, "convert");
        if (weighted && convert_in.is_none()) throw std::invalid_argument("weight needs convert");
        const auto expired = optional_array<FlagArray>(expired_in, n, "expired");
        py::array_t<double> delta(0);
        const bool has_delta = !delta_in.is_none();
        if (has_delta) {
          delta = riskoffset_bindings::checked_out(delta_in, static_cast<py::ssize_t>(n), "delta");
          if (riskoffset_bindings::overlaps(delta, out) || riskoffset_bindings::overlaps(delta, base))
            throw std::invalid_argument("delta must not share memory with out or base");
        }
        // An input sharing memory with an output is read from a copy, as numpy ufuncs do.
        for (auto& a : inputs)
          if (riskoffset_bindings::overlaps(a, out) || riskoffset_bindings::overlaps(a, base) ||
              (has_delta && riskoffset_bindings::overlaps(a, delta)))
            a = DoubleArray::ensure(a.attr("copy")());
        const std::size_t n_states = static_cast<std::size_t>(inputs[kShifts].size());
        riskoffset_bindings::ScenarioSetView set;
        set.shock = riskoffset_bindings::VolShock{inputs[kShifts].data(), n_states, relative, floor_up, floor};
        set.vol_state = vol_state.data(), set.move = inputs[kMove].data(), set.n_moves = n_moves, set.r = r;
        set.time_shift = time_shift.is_none() ? nullptr : inputs[kTimeShift].data();
        set.identity = identity_in.is_none() ? nullptr : identity.data();
        set.n_standard = static_cast<std::size_t>(n_standard);
        set.weight = weighted ? weight.data() : nullptr;
        set.convert = weighted ? convert.data() : nullptr;
        const riskoffset_bindings::OptionRowsView rows{
            inputs[kFlag].data(), inputs[kForward].data(), inputs[kStrike].data(), inputs[kT].data(),
            inputs[kInverse].data(), inputs[kTerm].data(), inputs[kSigma].data(),
            expired_in.is_none() ? nullptr : expired.data(), n};
        double* values = out.mutable_data();
        double* base_value = base.mutable_data();
        double* delta_out = has_delta ? delta.mutable_data() : nullptr;
        std::int64_t bad;
        {
          py::gil_scoped_release release;  // arrays referenced by this frame; no Python touched
          bad = riskoffset_bindings::run_option_scenarios(rows, set, values, base_value, base_value + n, delta_out,
                                                          threads);
        }
        return bad;
      },
      py::arg("flag"), py::arg("forward"), py::arg("strike"), py::arg("t"), py::arg("inverse"), py::arg("term"),
      py::arg("sigma"), py::arg("shifts"), py::arg("relative"), py::arg("floor_up"), py::arg("floor"),
      py::arg("vol_state"), py::arg("move"), py::arg("time_shift"), py::arg("r"), py::arg("threads"), py::arg("out"),
      py::arg("base"), py::arg("identity") = py::none(), py::arg("n_standard") = 0, py::arg("weight") = py::none(),
      py::arg("convert") = py::none(), py::arg("expired") = py::none(), py::arg("delta") = py::none());
}
