// _core.margin (grid part): the scenario-grid pass over a whole book and its steps for one group
// (cpp/src/margin/grid_margin.hpp), run by the active SIMD target.  Inputs are checked here, once, with the
// field and row named; the passes run without the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "group_starts.hpp"
#include "../common/arrays.hpp"
#include "../common/require.hpp"
#include "../memory/buffer_pool.hpp"
#include "riskoffset/dispatch.hpp"

namespace py = pybind11;

namespace {

using Doubles = riskoffset_bindings::DoubleArray;
using Ints = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

Ints aligned_ints(const Ints& a) {
  if (reinterpret_cast<std::uintptr_t>(a.data()) % alignof(std::int64_t) == 0) return a;
  return Ints::ensure(a.attr("copy")());
}

py::array_t<double> doubles(std::size_t n) {
  return riskoffset_bindings::new_double_array({static_cast<py::ssize_t>(n)});
}
py::array_t<std::int64_t> ints(std::size_t n) { return py::array_t<std::int64_t>(static_cast<py::ssize_t>(n)); }

void check_finite(const Doubles& a, const char* name, bool non_negative = false) {
  const double* d = a.data();
  for (py::ssize_t j = 0; j < a.size(); ++j)
    RO_CHECK(std::isfinite(d[j]) && (!non_negative || d[j] >= 0),
             std::string(name) + " entry " + std::to_string(j) + " is " + std::to_string(d[j]) +
                 (non_negative ? ": must be finite and >= 0" : ": must be finite"));
}

// A CSR book (indptr over accounts, instrument row and quantity per position) checked against n_instruments.
struct Csr {
  Ints indptr, indices;
  Doubles quantity;
  std::size_t n_accounts = 0;
};

Csr checked_csr(const Ints& indptr_in, const Ints& indices_in, const Doubles& quantity_in, std::size_t n_instruments) {
  Csr c{aligned_ints(indptr_in), aligned_ints(indices_in), riskoffset_bindings::aligned(quantity_in), 0};
  RO_CHECK(c.indptr.ndim() == 1 && c.indptr.size() >= 1, "indptr needs n_accounts + 1 entries");
  RO_CHECK(c.indices.ndim() == 1 && c.indices.size() == c.quantity.size(), "indices and quantity differ in length");
  c.n_accounts = static_cast<std::size_t>(c.indptr.size()) - 1;
  const std::int64_t* ip = c.indptr.data();
  RO_CHECK(ip[0] == 0 && ip[c.n_accounts] == c.indices.size(), "indptr must run from 0 to the number of positions");
  for (std::size_t a = 0; a < c.n_accounts; ++a)
    RO_CHECK(ip[a] <= ip[a + 1], "indptr decreases at account " + std::to_string(a));
  const std::int64_t* ix = c.indices.data();
  for (py::ssize_t p = 0; p < c.indices.size(); ++p)
    RO_CHECK(ix[p] >= 0 && static_cast<std::size_t>(ix[p]) < n_instruments,
             "position " + std::to_string(p) + " names instrument row " + std::to_string(ix[p]) + ", outside the table");
  const double* q = c.quantity.data();
  for (py::ssize_t p = 0; p < c.quantity.size(); ++p)
    RO_CHECK(std::isfinite(q[p]), "position " + std::to_string(p) + ": quantity is not finite");
  return c;
}

// Row of each account's first group (n_accounts + 1 entries): one group per distinct key of its positions.
std::vector<std::int64_t> group_starts(const Csr& c, const std::int64_t* key, std::size_t n_keys) {
  return riskoffset_bindings::group_starts(c.indptr.data(), c.indices.data(), key, c.n_accounts, n_keys);
}

py::dict grid_accounts(const Ints& indptr, const Ints& indices, const Doubles& quantity, const Ints& key_in,
                       std::int64_t n_keys, const Doubles& pnl_in, const Doubles& weight_in, double maintenance_ratio,
                       double provisions, const std::optional<Doubles>& delta_in,
                       const std::optional<Ints>& underlying_in, const std::optional<Doubles>& index_in,
                       const std::optional<py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>>& usd_like_in,
                       double net_rate, double hedged_rate, bool keep_vectors) {
  const Doubles pnl = riskoffset_bindings::aligned(pnl_in), weight = riskoffset_bindings::aligned(weight_in);
  const Ints key = aligned_ints(key_in);
  RO_CHECK(pnl.ndim() == 2, "pnl must be a (instruments, scenarios) matrix");
  const auto n_instruments = static_cast<std::size_t>(pnl.shape(0)), m = static_cast<std::size_t>(pnl.shape(1));
  RO_CHECK(weight.ndim() == 1 && static_cast<std::size_t>(weight.size()) == m, "weight needs one entry per scenario");
  check_finite(weight, "weight", true);
  RO_CHECK(std::isfinite(maintenance_ratio) && maintenance_ratio >= 0, "maintenance_ratio must be finite and >= 0");
  RO_CHECK(std::isfinite(provisions), "provisions must be finite");
  RO_CHECK(n_keys >= 0, "n_keys must be >= 0");
  RO_CHECK(key.ndim() == 1 && static_cast<std::size_t>(key.size()) == n_instruments,
           "instrument_key needs one entry per row of pnl");
  for (std::size_t i = 0; i < n_instruments; ++i)
    RO_CHECK(key.data()[i] >= 0 && key.data()[i] < n_keys,
             "instrument row " + std::to_string(i) + ": key outside [0, n_keys)");
  const Csr c = checked_csr(indptr, indices, quantity, n_instruments);

  riskoffset::GridBook book;
  book.indptr = c.indptr.data(), book.indices = c.indices.data(), book.quantity = c.quantity.data();
  book.n_accounts = c.n_accounts, book.key = key.data(), book.n_keys = static_cast<std::size_t>(n_keys);
  book.pnl = pnl.data(), book.n_scenarios = m, book.weight = weight.data();
  book.maintenance_ratio = maintenance_ratio, book.provisions = provisions;
  Doubles delta, index;
  Ints underlying;
  py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast> usd_like;
  const bool with_delta = delta_in.has_value() || underlying_in.has_value() || index_in.has_value() || usd_like_in.has_value();
  if (with_delta) {
    RO_CHECK(delta_in && underlying_in && index_in && usd_like_in, "delta, underlying, index and usd_like go together");
    delta = riskoffset_bindings::aligned(*delta_in), underlying = aligned_ints(*underlying_in);
    index = riskoffset_bindings::aligned(*index_in), usd_like = *usd_like_in;
    RO_CHECK(std::isfinite(net_rate) && net_rate >= 0 && std::isfinite(hedged_rate) && hedged_rate >= 0,
             "net_rate and hedged_rate must be finite and >= 0");
    RO_CHECK(static_cast<std::size_t>(delta.size()) == n_instruments && static_cast<std::size_t>(underlying.size()) == n_instruments,
             "delta and underlying need one entry per row of pnl");
    RO_CHECK(static_cast<std::int64_t>(usd_like.size()) == n_keys, "usd_like needs one entry per key");
    const auto n_u = static_cast<std::int64_t>(index.size());
    for (std::size_t i = 0; i < n_instruments; ++i)
      RO_CHECK(underlying.data()[i] >= 0 && underlying.data()[i] < n_u,
               "instrument row " + std::to_string(i) + ": underlying outside index");
    book.delta = delta.data(), book.underlying = underlying.data(), book.n_underlyings = static_cast<std::size_t>(n_u);
    book.index = index.data(), book.usd_like = usd_like.data(), book.net_rate = net_rate, book.hedged_rate = hedged_rate;
  }
  std::vector<std::int64_t> first;
  {
    py::gil_scoped_release release;
    first = group_starts(c, book.key, book.n_keys);
  }
  const auto n_groups = static_cast<std::size_t>(first[c.n_accounts]);
  auto account = ints(n_groups), group_key = ints(n_groups), worst = ints(n_groups);
  auto scan = doubles(n_groups), worst_pnl = doubles(n_groups), min_delta = doubles(n_groups),
       required = doubles(n_groups), initial = doubles(n_groups), maintenance = doubles(n_groups);
  py::array_t<double> vectors;
  riskoffset::GridColumns out;
  out.account = account.mutable_data(), out.key = group_key.mutable_data(), out.worst = worst.mutable_data();
  out.scan = scan.mutable_data(), out.worst_pnl = worst_pnl.mutable_data(), out.min_delta = min_delta.mutable_data();
  out.required = required.mutable_data(), out.initial = initial.mutable_data();
  out.maintenance = maintenance.mutable_data();
  if (keep_vectors) {
    vectors = riskoffset_bindings::new_double_array({static_cast<py::ssize_t>(n_groups), static_cast<py::ssize_t>(m)});
    out.pnl = vectors.mutable_data();
  }
  {
    py::gil_scoped_release release;  // writes only the fresh arrays above and this frame's scratch
    const std::size_t cells = book.n_keys * (book.n_underlyings ? book.n_underlyings : 1);
    std::vector<double> sums(book.n_keys * m), net(cells), gross(cells);
    std::vector<std::uint8_t> used(book.n_keys, 0), held(cells, 0);
    const riskoffset::GridScratch scratch{sums.data(), net.data(), gross.data(), used.data(), held.data()};
    riskoffset::active_kernels().grid_accounts(book, first.data(), out, scratch, 0, c.n_accounts);
  }
  py::dict result;
  result["account"] = account, result["key"] = group_key, result["scan"] = scan, result["worst_index"] = worst;
  result["worst_pnl"] = worst_pnl, result["min_delta"] = min_delta, result["required"] = required;
  result["initial"] = initial, result["maintenance"] = maintenance;
  if (keep_vectors) result["pnl"] = vectors;
  return result;
}

}  // namespace

void register_grid(py::module_& m) {
  m.def("grid_margin_accounts", &grid_accounts, py::arg("indptr"), py::arg("indices"), py::arg("quantity"),
        py::arg("instrument_key"), py::arg("n_keys"), py::arg("pnl"), py::arg("weight"),
        py::arg("maintenance_ratio"), py::arg("provisions"), py::arg("delta") = py::none(),
        py::arg("underlying") = py::none(), py::arg("index") = py::none(), py::arg("usd_like") = py::none(),
        py::arg("net_rate") = 0.0, py::arg("hedged_rate") = 0.0, py::arg("keep_vectors") = false,
        "Scenario-grid margin of every (account, key) group of a CSR book (columns in a dict): scan risk and its "
        "scenario, the minimum delta requirement when delta/underlying/index/usd_like are given, IM and MM; "
        "keep_vectors adds each group's scenario P&L (groups x scenarios).");

  m.def(
      "grid_margin_group",
      [](const Doubles& pnl_in, const Doubles& weight_in, double min_delta, double maintenance_ratio,
         double provisions) {
        const Doubles pnl = riskoffset_bindings::aligned(pnl_in), weight = riskoffset_bindings::aligned(weight_in);
        RO_CHECK(pnl.ndim() == 1 && weight.ndim() == 1 && pnl.size() == weight.size(),
                 "pnl and weight must be vectors of one entry per scenario");
        check_finite(weight, "weight", true);
        const riskoffset::GridGroupFigures f = riskoffset::active_kernels().grid_group(
            pnl.data(), weight.data(), static_cast<std::size_t>(pnl.size()), min_delta, maintenance_ratio, provisions);
        py::dict out;
        out["scan"] = f.scan, out["worst_index"] = f.worst, out["worst_pnl"] = f.worst_pnl;
        out["min_delta"] = f.min_delta, out["required"] = f.required, out["initial"] = f.initial;
        out["maintenance"] = f.maintenance;
        return out;
      },
      py::arg("pnl"), py::arg("weight"), py::arg("min_delta"), py::arg("maintenance_ratio"), py::arg("provisions"),
      "Steps of grid margin after the sum, for one group's scenario P&L (the same code as the bulk pass).");

}
