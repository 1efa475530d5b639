// _core.book.cell_sums: sums per occupied (group, column) cell of a grouped book (cpp/src/book/cell_sums.hpp).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "../common/arrays.hpp"
#include "book/cell_sums.hpp"

namespace py = pybind11;

namespace {

using Ints = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;
using Doubles = py::array_t<double, py::array::c_style | py::array::forcecast>;

void require_vector(const py::array& a, const char* name) {
  if (a.ndim() != 1) throw std::invalid_argument(std::string(name) + " must be 1-D");
}

}  // namespace

void register_cell_sums(py::module_& m) {
  m.def(
      "cell_sums",
      [](const Ints& starts, const Ints& lengths, const py::object& order_in, const Ints& instrument,
         const Doubles& quantity, const Doubles& value, const Ints& column) {
        require_vector(starts, "starts"), require_vector(lengths, "lengths");
        require_vector(instrument, "instrument"), require_vector(quantity, "quantity");
        require_vector(value, "value"), require_vector(column, "column");
        if (starts.size() != lengths.size()) throw std::invalid_argument("starts and lengths differ in length");
        if (instrument.size() != quantity.size()) throw std::invalid_argument("instrument and quantity differ in length");
        if (value.size() != column.size()) throw std::invalid_argument("value and column differ in length");
        const auto n_positions = static_cast<std::int64_t>(instrument.size());
        const auto n_instruments = static_cast<std::int64_t>(value.size());
        const bool ordered = !order_in.is_none();
        Ints order;
        if (ordered) {
          order = Ints::ensure(order_in);
          if (!order || order.ndim() != 1 || order.size() != instrument.size())
            throw std::invalid_argument("order must list every position once (or be None)");
        }
        const std::int64_t *s = starts.data(), *l = lengths.data(), *ins = instrument.data();
        const std::int64_t* o = ordered ? order.data() : nullptr;
        for (py::ssize_t g = 0; g < starts.size(); ++g)  // (l[g] > n - s[g]: no int64 overflow of s + l)
          if (s[g] < 0 || l[g] < 0 || s[g] > n_positions || l[g] > n_positions - s[g])
            throw std::invalid_argument("group " + std::to_string(g) + " lies outside the positions");
        for (std::int64_t k = 0; o && k < n_positions; ++k)
          if (o[k] < 0 || o[k] >= n_positions)
            throw std::invalid_argument("order entry " + std::to_string(k) + " names no position");
        for (std::int64_t p = 0; p < n_positions; ++p)
          if (ins[p] < 0 || ins[p] >= n_instruments)
            throw std::invalid_argument("position " + std::to_string(p) + " names instrument row " +
                                        std::to_string(ins[p]) + ", outside the value column");
        riskoffset::book::CellSums cells;
        {
          py::gil_scoped_release release;  // arrays referenced by this frame; no Python touched
          cells = riskoffset::book::cell_sums(s, l, static_cast<std::size_t>(starts.size()), o, ins, quantity.data(),
                                              value.data(), column.data());
        }
        return py::make_tuple(riskoffset_bindings::vector_array(cells.group), riskoffset_bindings::vector_array(cells.column), riskoffset_bindings::vector_array(cells.total));
      },
      py::arg("starts"), py::arg("lengths"), py::arg("order"), py::arg("instrument"), py::arg("quantity"),
      py::arg("value"), py::arg("column"),
      "Sums of quantity x value[instrument] per occupied (group, column[instrument]) cell: (group, column, total) "
      "arrays, group by group and columns ascending; group g holds positions order[starts[g]] ... (order None: "
      "the identity); a negative column leaves a position out.");
}
