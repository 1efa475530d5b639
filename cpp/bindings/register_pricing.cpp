#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>

#include "buffer_pool.hpp"
#include "riskoffset/pricing.hpp"

namespace py = pybind11;
using riskoffset::Column;
using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;

namespace {

Column column(const Array& a, std::size_t n, const char* name) {
  const auto size = static_cast<std::size_t>(a.size());
  if (size != 1 && size != n)
    throw std::invalid_argument(std::string(name) + " has " + std::to_string(size) + " rows, expected 1 or " +
                                std::to_string(n));
  return Column{a.data(), size == 1 ? 0u : 1u};
}

// Flags as +1/-1 float64, or a numpy bool array read in place (no conversion pass).  `keep` holds a
// converted copy alive for the duration of the call.
riskoffset::FlagColumn flag_column(const py::array& flag, std::size_t n, py::array& keep) {
  const auto size = static_cast<std::size_t>(flag.size());
  if (size != 1 && size != n)
    throw std::invalid_argument("flag has " + std::to_string(size) + " rows, expected 1 or " + std::to_string(n));
  const std::size_t stride = size == 1 ? 0u : 1u;
  if (flag.dtype().is(py::dtype::of<bool>())) {
    keep = py::array_t<bool, py::array::c_style | py::array::forcecast>::ensure(flag);
    return riskoffset::FlagColumn{nullptr, static_cast<const std::uint8_t*>(keep.data()), stride};
  }
  keep = Array::ensure(flag);
  if (!keep) throw py::error_already_set();
  return riskoffset::FlagColumn{static_cast<const double*>(keep.data()), nullptr, stride};
}

riskoffset::Model model_of(int m) {
  if (m != 0 && m != 1) throw std::invalid_argument("model code must be 0 (black76) or 1 (bsm)");
  return static_cast<riskoffset::Model>(m);
}
riskoffset::Settlement settlement_of(int s) {
  if (s != 0 && s != 1) throw std::invalid_argument("settlement code must be 0 (linear) or 1 (inverse)");
  return static_cast<riskoffset::Settlement>(s);
}

}  // namespace

void register_pricing(py::module_& m) {
  py::list names;
  for (const char* name : riskoffset::kOutputNames) names.append(name);
  m.attr("OUTPUT_NAMES") = names;

  m.def(
      "greeks",
      [](const py::array& flag, const Array& underlying, const Array& strike, const Array& t, const Array& r,
         const Array& sigma, const Array& q, int model, int settlement, unsigned mask, std::size_t n,
         int threads, py::object out_arrays) {
        riskoffset::PricingInputs in;
        py::array flag_keep;
        in.flag = flag_column(flag, n, flag_keep);
        in.underlying = column(underlying, n, "underlying");
        in.strike = column(strike, n, "strike");
        in.t = column(t, n, "t");
        in.r = column(r, n, "r");
        in.sigma = column(sigma, n, "sigma");
        in.q = column(q, n, "q");
        in.model = model_of(model);
        in.settlement = settlement_of(settlement);
        riskoffset::PricingOutputs out;
        py::list arrays;
        // out_arrays: None, or one preallocated array per requested output (in OUTPUT_NAMES order), each
        // a writeable C-contiguous float64 array of n elements (checked by the Python layer).
        py::list given = out_arrays.is_none() ? py::list() : py::list(out_arrays);
        std::size_t next = 0;
        for (int k = 0; k < riskoffset::kOutputCount; ++k) {
          if (!(mask & (1u << k))) continue;
          if (!out_arrays.is_none()) {
            if (next >= given.size()) throw std::invalid_argument("too few out arrays");
            py::array_t<double> a = py::reinterpret_borrow<py::array_t<double>>(given[next++]);
            if (static_cast<std::size_t>(a.size()) != n || !(a.flags() & py::array::c_style) || !a.writeable())
              throw std::invalid_argument("out arrays must be writeable C-contiguous float64 of the result size");
            out.out[k] = a.mutable_data();
            arrays.append(a);
          } else {
            Array a = riskoffset_bindings::new_double_array({static_cast<py::ssize_t>(n)});
            out.out[k] = a.mutable_data();
            arrays.append(a);
          }
        }
        std::int64_t bad;
        {
          // Safe without the GIL: every array is referenced by this frame and nothing touches Python.
          py::gil_scoped_release release;
          bad = riskoffset::price_greeks(in, out, n, threads);
        }
        std::string field = bad >= 0 ? riskoffset::invalid_pricing_field(in, static_cast<std::size_t>(bad)) : "";
        return py::make_tuple(arrays, bad, field);
      },
      py::arg("flag"), py::arg("underlying"), py::arg("strike"), py::arg("t"), py::arg("r"), py::arg("sigma"),
      py::arg("q"), py::arg("model"), py::arg("settlement"), py::arg("mask"), py::arg("n"),
      py::arg("threads"), py::arg("out") = py::none());

  m.def(
      "implied_vol",
      [](const Array& price, const py::array& flag, const Array& underlying, const Array& strike, const Array& t,
         const Array& r, const Array& q, int model, int settlement, std::size_t n, int threads) {
        riskoffset::ImpliedVolInputs in;
        in.price = column(price, n, "price");
        py::array flag_keep;
        in.flag = flag_column(flag, n, flag_keep);
        in.underlying = column(underlying, n, "underlying");
        in.strike = column(strike, n, "strike");
        in.t = column(t, n, "t");
        in.r = column(r, n, "r");
        in.q = column(q, n, "q");
        in.model = model_of(model);
        in.settlement = settlement_of(settlement);
        Array sigma = riskoffset_bindings::new_double_array({static_cast<py::ssize_t>(n)});
        py::array_t<std::int8_t> status(static_cast<py::ssize_t>(n));
        double* sigma_out = sigma.mutable_data();
        std::int8_t* status_out = status.mutable_data();
        {
          py::gil_scoped_release release;  // outputs owned here, inputs kept alive by the caller's frame
          riskoffset::implied_vol(in, sigma_out, status_out, n, threads);
        }
        return py::make_tuple(sigma, status);
      },
      py::arg("price"), py::arg("flag"), py::arg("underlying"), py::arg("strike"), py::arg("t"), py::arg("r"),
      py::arg("q"), py::arg("model"), py::arg("settlement"), py::arg("n"), py::arg("threads"));

  m.def(
      "scenario_values",
      [](const Array& flag, const Array& forward, const Array& strike, const Array& t, const Array& inverse,
         const Array& sigma, const py::array_t<std::int32_t, py::array::c_style | py::array::forcecast>& vol_state,
         const Array& move, py::object time_shift, double r, int threads, bool base_first, py::object out) {
        riskoffset::ScenarioInputs in;
        in.base_first = base_first;
        in.n_instruments = static_cast<std::size_t>(flag.size());
        in.n_scenarios = static_cast<std::size_t>(move.size());
        const char* field_names[] = {"forward", "strike", "t", "inverse"};
        const Array* per_instrument[] = {&forward, &strike, &t, &inverse};
        for (int k = 0; k < 4; ++k)
          if (static_cast<std::size_t>(per_instrument[k]->size()) != in.n_instruments)
            throw std::invalid_argument(std::string(field_names[k]) + " must have one value per instrument");
        if (static_cast<std::size_t>(vol_state.size()) != in.n_scenarios)
          throw std::invalid_argument("vol_state must have one entry per scenario");
        if (in.n_instruments > 0 && sigma.size() % static_cast<py::ssize_t>(in.n_instruments) != 0)
          throw std::invalid_argument("sigma must be n_vol_states x n_instruments (state-major)");
        in.n_vol_states = in.n_instruments > 0 ? static_cast<std::size_t>(sigma.size()) / in.n_instruments : 1;
        Array shift;
        if (!time_shift.is_none()) {
          shift = Array::ensure(time_shift);
          if (!shift || static_cast<std::size_t>(shift.size()) != in.n_scenarios)
            throw std::invalid_argument("time_shift must have one value per scenario");
          in.time_shift = shift.data();
        }
        in.flag = flag.data(), in.forward = forward.data(), in.strike = strike.data(), in.t = t.data();
        in.inverse = inverse.data(), in.sigma = sigma.data(), in.vol_state = vol_state.data();
        in.move = move.data(), in.r = r;
        if (base_first && in.n_scenarios == 0) throw std::invalid_argument("base_first needs a base scenario");
        const auto columns = static_cast<py::ssize_t>(in.n_scenarios - (base_first ? 1 : 0));
        Array values;
        if (out.is_none()) {
          values = riskoffset_bindings::new_double_array({static_cast<py::ssize_t>(in.n_instruments), columns});
        } else {
          values = py::reinterpret_borrow<Array>(out);
          if (!py::isinstance<Array>(out) || values.ndim() != 2 || values.shape(0) != static_cast<py::ssize_t>(in.n_instruments) ||
              values.shape(1) != columns || !values.writeable() || !(values.flags() & py::array::c_style))
            throw std::invalid_argument("out must be a writeable C-contiguous float64 array of the result shape");
        }
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
      py::arg("base_first") = false, py::arg("out") = py::none());
  m.def(
      "csr_product",
      [](const py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>& starts,
         const py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>& lengths,
         const py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>& instrument,
         const Array& quantity, const Array& pnl, int threads) {
        if (pnl.ndim() != 2) throw std::invalid_argument("pnl must be a 2-D array (instruments x columns)");
        if (starts.size() != lengths.size()) throw std::invalid_argument("starts and lengths differ in length");
        if (instrument.size() != quantity.size())
          throw std::invalid_argument("instrument and quantity differ in length");
        const auto n_positions = static_cast<std::int64_t>(instrument.size());
        const auto n_instruments = static_cast<std::int64_t>(pnl.shape(0));
        const std::int64_t* s = starts.data();
        const std::int64_t* l = lengths.data();
        for (py::ssize_t g = 0; g < starts.size(); ++g)
          if (s[g] < 0 || l[g] < 0 || s[g] + l[g] > n_positions)
            throw std::invalid_argument("group " + std::to_string(g) + " lies outside the positions");
        const std::int64_t* ins = instrument.data();
        for (std::int64_t p = 0; p < n_positions; ++p)
          if (ins[p] < 0 || ins[p] >= n_instruments)
            throw std::invalid_argument("position " + std::to_string(p) + " names instrument row " +
                                        std::to_string(ins[p]) + ", outside the P&L matrix");
        riskoffset::CsrProductInputs in;
        in.starts = s, in.lengths = l, in.instrument = ins, in.quantity = quantity.data(), in.pnl = pnl.data();
        in.n_columns = static_cast<std::size_t>(pnl.shape(1));
        const auto n_groups = static_cast<std::size_t>(starts.size());
        Array out = riskoffset_bindings::new_double_array(
            {static_cast<py::ssize_t>(n_groups), static_cast<py::ssize_t>(in.n_columns)});
        double* data = out.mutable_data();
        {
          py::gil_scoped_release release;  // arrays referenced by this frame; no Python touched
          riskoffset::csr_product(in, data, n_groups, threads);
        }
        return out;
      },
      py::arg("starts"), py::arg("lengths"), py::arg("instrument"), py::arg("quantity"), py::arg("pnl"),
      py::arg("threads"));

  m.def("release_pooled_memory", &riskoffset_bindings::release_pooled_memory);
  m.def("pooled_bytes", &riskoffset_bindings::pooled_bytes);

  // The scalar fast paths (value_scalar, greeks_scalar, implied_vol_scalar) are in fast_scalar.cpp.
}
