// _core.book: the CSR product L = Q . P (per-group P&L of a book's positions).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>

#include "../common/arrays.hpp"
#include "../memory/buffer_pool.hpp"
#include "riskoffset/pricing.hpp"

namespace py = pybind11;
using riskoffset_bindings::DoubleArray;
using IndexArray = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

void register_netting(py::module_& m);  // netting.cpp

namespace {
IndexArray aligned_index(const IndexArray& a) {
  if (reinterpret_cast<std::uintptr_t>(a.data()) % alignof(std::int64_t) == 0) return a;
  return IndexArray::ensure(a.attr("copy")());
}
}  // namespace

void register_book(py::module_& m) {
  m.def(
      "csr_product",
      [](const IndexArray& starts_in, const IndexArray& lengths_in, const IndexArray& instrument_in,
         const DoubleArray& quantity_in, const DoubleArray& pnl_in, int threads) {
        const IndexArray starts = aligned_index(starts_in), lengths = aligned_index(lengths_in);
        const IndexArray instrument = aligned_index(instrument_in);
        const DoubleArray quantity = riskoffset_bindings::aligned(quantity_in), pnl = riskoffset_bindings::aligned(pnl_in);
        if (pnl.ndim() != 2) throw std::invalid_argument("pnl must be a 2-D array (instruments x columns)");
        if (starts.size() != lengths.size()) throw std::invalid_argument("starts and lengths differ in length");
        if (instrument.size() != quantity.size())
          throw std::invalid_argument("instrument and quantity differ in length");
        const auto n_positions = static_cast<std::int64_t>(instrument.size());
        const auto n_instruments = static_cast<std::int64_t>(pnl.shape(0));
        const std::int64_t* s = starts.data();
        const std::int64_t* l = lengths.data();
        // l[g] > n - s[g], not s[g] + l[g] > n: the sum of two int64 can overflow.
        for (py::ssize_t g = 0; g < starts.size(); ++g)
          if (s[g] < 0 || l[g] < 0 || s[g] > n_positions || l[g] > n_positions - s[g])
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
        py::array_t<double> out = riskoffset_bindings::new_double_array(
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
  register_netting(m);
}
