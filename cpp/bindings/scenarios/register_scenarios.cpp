// _core.scenarios: full revaluation of instruments under scenarios (the value or P&L matrix).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "../common/arrays.hpp"
#include "../memory/buffer_pool.hpp"
#include "riskoffset/pricing.hpp"

namespace py = pybind11;
using riskoffset_bindings::DoubleArray;
using StateArray = py::array_t<std::int32_t, py::array::c_style | py::array::forcecast>;

void register_scenarios(py::module_& m) {
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
}
