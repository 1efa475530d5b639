// _core.book.net_positions: position rows -> a netted CSR book (cpp/src/book/netting.hpp).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>

#include "../common/arrays.hpp"
#include "book/netting.hpp"

namespace py = pybind11;

namespace {

using Ints = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

}  // namespace

void register_netting(py::module_& m) {
  m.def(
      "net_positions",
      [](const Ints& account, const Ints& row, const Ints& units, std::int64_t n_accounts, std::int64_t n_instruments) {
        if (account.ndim() != 1 || row.ndim() != 1 || units.ndim() != 1)
          throw std::invalid_argument("account, row and units must be 1-D");
        if (account.size() != row.size() || row.size() != units.size())
          throw std::invalid_argument("account, row and units differ in length");
        if (n_accounts < 0 || n_instruments < 0) throw std::invalid_argument("counts must be >= 0");
        const auto n = static_cast<std::size_t>(account.size());
        const std::int64_t *a = account.data(), *r = row.data();
        for (std::size_t p = 0; p < n; ++p) {
          if (a[p] < 0 || a[p] >= n_accounts)
            throw std::invalid_argument("position " + std::to_string(p) + ": account code " + std::to_string(a[p]) +
                                        " outside [0, " + std::to_string(n_accounts) + ")");
          if (r[p] < 0 || r[p] >= n_instruments)
            throw std::invalid_argument("position " + std::to_string(p) + ": instrument row " + std::to_string(r[p]) +
                                        " outside [0, " + std::to_string(n_instruments) + ")");
        }
        riskoffset::book::NettedBook netted;
        {
          py::gil_scoped_release release;  // reads the input arrays held by this frame, writes C++ vectors
          netted = riskoffset::book::net_positions(a, r, units.data(), n, static_cast<std::size_t>(n_accounts),
                                                   static_cast<std::size_t>(n_instruments));
        }
        return py::make_tuple(riskoffset_bindings::vector_array(netted.indptr), riskoffset_bindings::vector_array(netted.indices), riskoffset_bindings::vector_array(netted.units));
      },
      py::arg("account"), py::arg("row"), py::arg("units"), py::arg("n_accounts"), py::arg("n_instruments"),
      "Net positions: (account code, instrument row, integer units) -> (indptr, indices, units), exact.");
}
