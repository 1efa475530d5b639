// _core.pricing: the general array entry points (greeks, implied_vol) behind riskoffset's Python argument
// handling, plus the raw CPython fast paths (array_calls.cpp, scalar_calls.cpp, scalar_function.cpp).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "../common/arrays.hpp"
#include "../memory/buffer_pool.hpp"
#include "flags.hpp"
#include "output_index.hpp"
#include "riskoffset/pricing.hpp"

namespace py = pybind11;
using riskoffset::Column;
using riskoffset_bindings::DoubleArray;

bool register_array_calls(PyObject* module);
bool register_scalar_calls(PyObject* module);
bool register_scalar_function(PyObject* module);

namespace {

std::size_t checked_rows(py::ssize_t size, std::size_t n, const char* name) {
  const auto rows = static_cast<std::size_t>(size);
  if (rows != 1 && rows != n)
    throw std::invalid_argument(std::string(name) + " has " + std::to_string(rows) + " rows, expected 1 or " +
                                std::to_string(n));
  return rows;
}

// The arrays one call reads: aligned (copied when not) and never sharing memory with an output (copied when
// they do, as numpy ufuncs do), kept alive here for the length of the call.
struct Inputs {
  std::vector<DoubleArray> arrays;
  py::array flag;
  riskoffset_bindings::FlagStorage flag_storage;

  Column column(const DoubleArray& a, std::size_t n, const char* name) {
    // Stride is 0 (one value for every row) or 1 (a full column), nothing else.
    const std::size_t stride = checked_rows(a.size(), n, name) == 1 ? 0u : 1u;
    arrays.push_back(riskoffset_bindings::aligned(a));
    return Column{arrays.back().data(), stride};
  }

  // Flags as bool / 'c' 'p' 'call' 'put' strings (read by flags.cpp) or +1/-1 float64.
  riskoffset::FlagColumn flag_column(const py::array& f, std::size_t n) {
    const std::size_t stride = checked_rows(f.size(), n, "flag") == 1 ? 0u : 1u;
    if (riskoffset_bindings::is_flag_dtype(f)) {
      flag = py::array::ensure(f, py::array::c_style);
      if (!flag) throw py::error_already_set();
      return riskoffset::FlagColumn{nullptr, riskoffset_bindings::flag_bytes(flag, flag_storage), stride};
    }
    DoubleArray values = riskoffset_bindings::aligned(DoubleArray::ensure(f));
    if (!values) throw py::error_already_set();
    flag = values;
    return riskoffset::FlagColumn{values.data(), nullptr, stride};
  }

  // Replaces every input column that shares memory with `out` by a copy.
  void separate_from(const py::array& out, std::vector<Column*> columns) {
    for (std::size_t k = 0; k < arrays.size(); ++k)
      if (riskoffset_bindings::overlaps(arrays[k], out)) {
        arrays[k] = DoubleArray::ensure(arrays[k].attr("copy")());
        columns[k]->data = arrays[k].data();
      }
  }
};

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
  py::dict index;
  for (int k = 0; k < riskoffset::kOutputCount; ++k) {
    names.append(riskoffset::kOutputNames[k]);
    index[py::str(riskoffset::kOutputNames[k])] = k;
  }
  m.attr("OUTPUT_NAMES") = names;
  m.attr("OUTPUT_INDEX") = index;
  m.attr("LINEAR_OUTPUT_COUNT") = static_cast<int>(riskoffset_bindings::kLinearOutputCount);

  m.def(
      "greeks",
      [](const py::array& flag, const DoubleArray& underlying, const DoubleArray& strike, const DoubleArray& t,
         const DoubleArray& r, const DoubleArray& sigma, const DoubleArray& q, int model, int settlement,
         unsigned mask, std::size_t n, int threads, py::object out_arrays) {
        riskoffset::PricingInputs in;
        Inputs keep;
        in.flag = keep.flag_column(flag, n);
        in.underlying = keep.column(underlying, n, "underlying");
        in.strike = keep.column(strike, n, "strike");
        in.t = keep.column(t, n, "t");
        in.r = keep.column(r, n, "r");
        in.sigma = keep.column(sigma, n, "sigma");
        in.q = keep.column(q, n, "q");
        in.model = model_of(model);
        in.settlement = settlement_of(settlement);
        // out_arrays: None, or a list/tuple with one array per requested output in OUTPUT_NAMES order.
        py::sequence given;
        if (!out_arrays.is_none()) {
          if (!py::isinstance<py::list>(out_arrays) && !py::isinstance<py::tuple>(out_arrays))
            throw py::type_error("out must be None or a list of float64 arrays, one per requested output");
          given = py::reinterpret_borrow<py::sequence>(out_arrays);
        }
        riskoffset::PricingOutputs out;
        py::list arrays;
        std::size_t next = 0;
        for (int k = 0; k < riskoffset::kOutputCount; ++k) {
          if (!(mask & (1u << k))) continue;
          py::array_t<double> a;
          if (!out_arrays.is_none()) {
            if (next >= given.size()) throw py::value_error("out has fewer arrays than requested outputs");
            const std::string name = std::string("out[") + std::to_string(next) + "] (" + riskoffset::kOutputNames[k] + ")";
            a = riskoffset_bindings::checked_out(given[next++], static_cast<py::ssize_t>(n), name);
            keep.separate_from(a, {&in.underlying, &in.strike, &in.t, &in.r, &in.sigma, &in.q});
            if (riskoffset_bindings::overlaps(keep.flag, a)) throw py::value_error(name + " shares memory with flag");
            for (std::size_t j = 0; j < arrays.size(); ++j)
              if (riskoffset_bindings::overlaps(py::reinterpret_borrow<py::array>(arrays[j]), a))
                throw py::value_error(name + " shares memory with another output array");
          } else {
            a = riskoffset_bindings::new_double_array({static_cast<py::ssize_t>(n)});
          }
          out.out[k] = a.mutable_data();
          arrays.append(a);
        }
        if (!out_arrays.is_none() && next != given.size())
          throw py::value_error("out has more arrays than requested outputs");
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
      [](const DoubleArray& price, const py::array& flag, const DoubleArray& underlying, const DoubleArray& strike,
         const DoubleArray& t, const DoubleArray& r, const DoubleArray& q, int model, int settlement, std::size_t n,
         int threads) {
        riskoffset::ImpliedVolInputs in;
        Inputs keep;
        in.price = keep.column(price, n, "price");
        in.flag = keep.flag_column(flag, n);
        in.underlying = keep.column(underlying, n, "underlying");
        in.strike = keep.column(strike, n, "strike");
        in.t = keep.column(t, n, "t");
        in.r = keep.column(r, n, "r");
        in.q = keep.column(q, n, "q");
        in.model = model_of(model);
        in.settlement = settlement_of(settlement);
        DoubleArray sigma = riskoffset_bindings::new_double_array({static_cast<py::ssize_t>(n)});
        py::array_t<std::int8_t> status(static_cast<py::ssize_t>(n));
        double* sigma_out = sigma.mutable_data();
        std::int8_t* status_out = status.mutable_data();
        {
          py::gil_scoped_release release;  // outputs owned here, inputs kept alive by this frame
          riskoffset::implied_vol(in, sigma_out, status_out, n, threads);
        }
        return py::make_tuple(sigma, status);
      },
      py::arg("price"), py::arg("flag"), py::arg("underlying"), py::arg("strike"), py::arg("t"), py::arg("r"),
      py::arg("q"), py::arg("model"), py::arg("settlement"), py::arg("n"), py::arg("threads"));

  if (!register_array_calls(m.ptr()) || !register_scalar_calls(m.ptr()) || !register_scalar_function(m.ptr()))
    throw py::error_already_set();
}
