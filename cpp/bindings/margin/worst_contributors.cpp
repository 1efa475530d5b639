// _core.margin.worst_contributors: per account, the positions losing most in one scenario of one risk group
// (the account's worst), in one pass over its positions.  The live engine's events name them; a crash tick
// moves thousands of accounts at once, so this is one compiled call rather than a sort of all their positions.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "../../src/margin/contributors.hpp"
#include "../common/arrays.hpp"
#include "../common/require.hpp"

namespace py = pybind11;

namespace {

using Ints = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;
using Doubles = riskoffset_bindings::DoubleArray;

// Accounts [0, n): account a's positions ip[a] .. ep[a] - 1 in its group key[a] at column scenario[a]
// (riskoffset::account_contributors), its `top` slots at row a of the outputs; a key of -1 leaves every slot
// unused.  Returns the first position that names an instrument outside the table, or -1.
std::int64_t fill_contributors(const std::int64_t* ip, const std::int64_t* ep, const std::int64_t* ix,
                               const double* quantity, const std::int64_t* instrument_key, std::size_t n_instr,
                               const double* vectors, std::size_t width, const std::int64_t* key,
                               const std::int64_t* scenario, const double* rate, std::size_t n, std::size_t top,
                               std::int64_t* out_i, double* out_q, double* out_pnl) {
  for (std::size_t a = 0; a < n; ++a) {
    std::int64_t* oi = out_i + a * top;
    double* oq = out_q + a * top;
    double* op = out_pnl + a * top;
    const std::int64_t k = key[a];
    if (k < 0) {
      for (std::size_t j = 0; j < top; ++j) oi[j] = -1, oq[j] = 0.0, op[j] = 0.0;
      continue;
    }
    const std::int64_t bad = riskoffset::account_contributors(ix, quantity, ip[a], ep[a], instrument_key, n_instr, vectors,
                                                              width, k, static_cast<std::size_t>(scenario[a]),
                                                              rate[k], top, oi, oq, op);
    if (bad >= 0) return bad;
  }
  return -1;
}

}  // namespace

void register_contributors(py::module_& m) {
  m.def(
      "worst_contributors",
      [](const Ints& starts, const Ints& ends, const Ints& indices, const Doubles& quantity, const Ints& instrument_key,
         const Doubles& vectors, const Ints& key, const Ints& scenario, const Doubles& rate, std::int64_t top) {
        const auto n = static_cast<std::size_t>(starts.size());
        RO_CHECK(starts.ndim() == 1 && ends.ndim() == 1 && key.ndim() == 1 && scenario.ndim() == 1 &&
                     static_cast<std::size_t>(ends.size()) == n && static_cast<std::size_t>(key.size()) == n &&
                     static_cast<std::size_t>(scenario.size()) == n,
                 "starts, ends, key and scenario need one entry per account");
        RO_CHECK(indices.ndim() == 1 && quantity.ndim() == 1 && quantity.size() == indices.size(),
                 "indices and quantity must be vectors of one length");
        RO_CHECK(vectors.ndim() == 2 && instrument_key.ndim() == 1 && instrument_key.size() == vectors.shape(0),
                 "vectors must be instruments x scenarios, with one instrument_key per instrument");
        RO_CHECK(rate.ndim() == 1, "rate must be a vector (one entry per key)");
        RO_CHECK(1 <= top && top <= riskoffset::kMaxContributors, "top must be between 1 and 64");
        const auto n_pool = static_cast<std::int64_t>(indices.size());
        const auto n_instr = static_cast<std::size_t>(vectors.shape(0)), width = static_cast<std::size_t>(vectors.shape(1));
        const auto n_keys = static_cast<std::int64_t>(rate.size());
        for (std::size_t a = 0; a < n; ++a) {
          const std::int64_t s = starts.data()[a], e = ends.data()[a], k = key.data()[a];
          RO_CHECK(0 <= s && s <= e && e <= n_pool, "account " + std::to_string(a) + ": positions outside the pool");
          RO_CHECK(-1 <= k && k < n_keys, "account " + std::to_string(a) + ": key outside the keys");
          RO_CHECK(k < 0 || (0 <= scenario.data()[a] && static_cast<std::size_t>(scenario.data()[a]) < width),
                   "account " + std::to_string(a) + ": scenario outside the scenario columns");
        }
        for (std::size_t i = 0; i < n_instr; ++i)
          RO_CHECK(instrument_key.data()[i] >= -1 && instrument_key.data()[i] < n_keys,
                   "instrument row " + std::to_string(i) + ": key outside the keys");
        const auto rows = static_cast<py::ssize_t>(n), cols = static_cast<py::ssize_t>(top);
        py::array_t<std::int64_t> out_i({rows, cols});
        py::array_t<double> out_q({rows, cols}), out_pnl({rows, cols});
        const Doubles q = riskoffset_bindings::aligned(quantity), v = riskoffset_bindings::aligned(vectors),
                      r = riskoffset_bindings::aligned(rate);
        std::int64_t bad = -1;
        {
          py::gil_scoped_release release;
          bad = fill_contributors(starts.data(), ends.data(), indices.data(), q.data(), instrument_key.data(), n_instr,
                                  v.data(), width, key.data(), scenario.data(), r.data(), n,
                                  static_cast<std::size_t>(top), out_i.mutable_data(), out_q.mutable_data(),
                                  out_pnl.mutable_data());
        }
        RO_CHECK(bad < 0, "position " + std::to_string(bad) + " names an instrument row outside the table");
        return py::make_tuple(out_i, out_q, out_pnl);
      },
      py::arg("starts"), py::arg("ends"), py::arg("indices"), py::arg("quantity"), py::arg("instrument_key"),
      py::arg("vectors"), py::arg("key"), py::arg("scenario"), py::arg("rate"), py::arg("top") = 3,
      "Per account (positions starts[a] .. ends[a] - 1 of indices / quantity), its `top` positions in risk group "
      "key[a] whose P&L in scenario column scenario[a] (quantity x vectors[instrument, scenario] x rate[key]) is "
      "most negative, ties by instrument row: (instrument rows, quantities, P&L), each accounts x top; unused slots "
      "have instrument -1.  key[a] = -1: no group, every slot unused.");
}
