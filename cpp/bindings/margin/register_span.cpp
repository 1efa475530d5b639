// _core.margin (SPAN part): `SpanAccount` (span_account.hpp), an account's SPAN from its positions (the pass of
// cpp/src/margin/span_margin.hpp per combined commodity, run by the active SIMD target), for one account or for
// every account of a book.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../common/arrays.hpp"
#include "../common/require.hpp"
#include "riskoffset/dispatch.hpp"
#include "span_account.hpp"
#include "span_model.hpp"

namespace py = pybind11;

namespace riskoffset_bindings {
namespace span_binding {

using Ints = SpanArray<std::int64_t>;
using Doubles = SpanArray<double>;

template <typename T>
SpanArray<T> aligned_array(const SpanArray<T>& a) {
  if (reinterpret_cast<std::uintptr_t>(a.data()) % alignof(T) == 0) return a;
  return SpanArray<T>::ensure(a.attr("copy")());
}

}  // namespace span_binding

void register_span(py::module_& m) {
  using namespace span_binding;
  py::class_<SpanAccount>(m, "SpanAccount",
                          "One account's SPAN margin in one call (the steps of the many-account pass): "
                          "SpanAccount(model_m, model_i, routing)(rows, n) -> (initial, maintenance, currency "
                          "index), or None where the full path computes the account.")
      .def(py::init<const py::dict&, const std::optional<py::dict>&, const py::dict&>(), py::arg("model_m"),
           py::arg("model_i"), py::arg("routing"))
      .def(
          "__call__",
          [](SpanAccount& self, const Ints& rows_in, const Doubles& n_in) -> py::object {
            const Ints rows = aligned_array(rows_in);
            const Doubles n = aligned_array(n_in);
            RO_CHECK(rows.ndim() == 1 && n.ndim() == 1 && rows.size() == n.size(),
                     "rows and n need one entry per position");
            SpanAccountFigures f;
            if (!self.margin(rows.data(), n.data(), static_cast<std::size_t>(rows.size()), f)) return py::none();
            return py::make_tuple(f.initial, f.maintenance, f.currency);
          },
          py::arg("rows"), py::arg("n"))
      .def(
          "accounts",
          [](SpanAccount& self, const Ints& indptr_in, const Ints& rows_in, const Doubles& n_in) {
            const Ints indptr = aligned_array(indptr_in), rows = aligned_array(rows_in);
            const Doubles n = aligned_array(n_in);
            RO_CHECK(indptr.ndim() == 1 && indptr.size() >= 1, "indptr needs n_accounts + 1 entries");
            RO_CHECK(rows.ndim() == 1 && n.ndim() == 1 && rows.size() == n.size(),
                     "rows and n need one entry per position");
            const auto n_accounts = static_cast<std::size_t>(indptr.size() - 1);
            RO_CHECK(indptr.data()[0] == 0 && indptr.data()[n_accounts] == rows.size(),
                     "indptr must run from 0 to the number of positions");
            for (std::size_t a = 0; a < n_accounts; ++a)
              RO_CHECK(indptr.data()[a] <= indptr.data()[a + 1], "indptr decreases at account " + std::to_string(a));
            const SpanAccount::Many many = self.accounts(indptr.data(), n_accounts, rows.data(), n.data());
            const auto size = static_cast<py::ssize_t>(n_accounts);
            py::array_t<std::uint8_t> covered(size), formed(size), inter_formed(size);
            py::array_t<double> initial(size), maintenance(size), scan(size), intra(size), spot(size), inter(size),
                som(size), adjustment(size), nov(size), worst_pnl(size);
            py::array_t<std::int64_t> currency(size), worst_cc(size), worst_index(size);
            for (std::size_t a = 0; a < n_accounts; ++a) {
              const SpanAccountFigures& f = many.figures[a];
              const SpanAccountDetails& d = many.details[a];
              covered.mutable_data()[a] = many.covered[a];
              initial.mutable_data()[a] = f.initial, maintenance.mutable_data()[a] = f.maintenance;
              currency.mutable_data()[a] = f.currency;
              scan.mutable_data()[a] = d.scan_risk, intra.mutable_data()[a] = d.intra_spread_charge;
              spot.mutable_data()[a] = d.spot_charge, som.mutable_data()[a] = d.som_excess;
              inter.mutable_data()[a] = d.inter_spread_credit, inter_formed.mutable_data()[a] = d.inter_formed;
              adjustment.mutable_data()[a] = d.initial_adjustment, nov.mutable_data()[a] = d.net_option_value;
              formed.mutable_data()[a] = d.formed, worst_cc.mutable_data()[a] = d.worst_cc;
              worst_index.mutable_data()[a] = d.worst_index, worst_pnl.mutable_data()[a] = d.worst_pnl;
            }
            py::dict out;
            out["covered"] = covered, out["initial"] = initial, out["maintenance"] = maintenance;
            out["currency"] = currency, out["scan_risk"] = scan, out["intra_spread_charge"] = intra;
            out["spot_charge"] = spot, out["inter_spread_credit"] = inter, out["som_excess"] = som;
            out["initial_adjustment"] = adjustment, out["inter_formed"] = inter_formed;
            out["net_option_value"] = nov, out["formed"] = formed, out["worst_cc"] = worst_cc;
            out["worst_index"] = worst_index, out["worst_pnl"] = worst_pnl;
            return out;
          },
          py::arg("indptr"), py::arg("rows"), py::arg("n"),
          "Accounts a holding positions indptr[a] .. indptr[a + 1] - 1: per account whether the pass covers it "
          "(else its other columns are 0 and the caller computes it), its initial and maintenance margin, "
          "currency index, components in that currency, the kinds of intra and of inter spreads formed, and its worst "
          "scenario's CC, index and P&L (columns in a dict).  Runs without the GIL.");
}

}  // namespace riskoffset_bindings
