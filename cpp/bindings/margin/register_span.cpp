// _core.margin (SPAN part): SPAN per (account, combined commodity) group in one rate class
// (cpp/src/margin/span_margin.hpp, run by the active SIMD target), the accounts' totals of those groups, and
// `SpanAccount` (span_account.hpp): the same steps for one account's positions in one call.
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

py::dict span_groups(const Ints& group_start_in, const Ints& group_cc_in, const Ints& row_in, const Doubles& n_in,
                     const py::dict& model_in) {
  const Ints group_start = aligned_array(group_start_in), group_cc = aligned_array(group_cc_in);
  const Ints row = aligned_array(row_in);
  const Doubles n = aligned_array(n_in);
  const SpanModel model(model_in);
  RO_CHECK(group_start.ndim() == 1 && group_start.size() >= 1, "group_start needs n_groups + 1 entries");
  const auto n_groups = static_cast<std::size_t>(group_start.size() - 1);
  RO_CHECK(static_cast<std::size_t>(group_cc.size()) == n_groups, "group_cc needs one entry per group");
  RO_CHECK(row.size() == n.size(), "row and n differ in length");
  RO_CHECK(group_start.data()[0] == 0 && group_start.data()[n_groups] == row.size(),
           "group_start must run from 0 to the number of positions");
  for (std::size_t g = 0; g < n_groups; ++g)
    RO_CHECK(group_start.data()[g] <= group_start.data()[g + 1], "group_start decreases at group " + std::to_string(g));
  const auto size = static_cast<py::ssize_t>(n_groups);
  py::array_t<double> scan(size), intra(size), spot(size), som(size), nov(size), risk(size);
  py::array_t<std::int64_t> active(size);
  py::array_t<std::uint8_t> formed(size), unsupported(size);
  riskoffset::SpanColumns out;
  out.scan = scan.mutable_data(), out.active = active.mutable_data(), out.intra = intra.mutable_data();
  out.spot = spot.mutable_data(), out.som = som.mutable_data(), out.nov = nov.mutable_data();
  out.risk = risk.mutable_data(), out.formed = formed.mutable_data(), out.unsupported = unsupported.mutable_data();
  std::vector<double> scratch;
  span_run_groups(model, group_start.data(), group_cc.data(), n_groups, row.data(), n.data(), out, scratch, true);
  py::dict result;
  result["scan"] = scan, result["active"] = active, result["intra"] = intra, result["spot"] = spot, result["som"] = som;
  result["nov"] = nov, result["risk"] = risk, result["formed"] = formed, result["unsupported"] = unsupported;
  return result;
}

py::tuple span_totals(const Ints& account_in, const Doubles& risk_m_in, const Doubles& risk_i_in,
                      const Doubles& nov_in, const SpanArray<std::uint8_t>& cap_in, const Doubles& factor_in,
                      const SpanArray<std::uint8_t>& divide_in, std::int64_t n_accounts) {
  const Ints account = aligned_array(account_in);
  const Doubles risk_m = aligned_array(risk_m_in), risk_i = aligned_array(risk_i_in), nov = aligned_array(nov_in);
  const Doubles factor = aligned_array(factor_in);
  const py::ssize_t n = account.size();
  RO_CHECK(risk_m.size() == n && risk_i.size() == n && nov.size() == n && cap_in.size() == n && factor.size() == n &&
               divide_in.size() == n,
           "account, risk_m, risk_i, nov, cap_anov, factor and divide need one entry per group");
  RO_CHECK(n_accounts >= 0, "n_accounts must be >= 0");
  std::vector<SpanTotals> totals(static_cast<std::size_t>(n_accounts));
  for (py::ssize_t g = 0; g < n; ++g) {
    const std::int64_t a = account.data()[g];
    RO_CHECK(a >= 0 && a < n_accounts, "group " + std::to_string(g) + ": account outside 0.." + std::to_string(n_accounts - 1));
    RO_CHECK(g == 0 || account.data()[g - 1] <= a, "groups must be in account order (group " + std::to_string(g) + ")");
    totals[static_cast<std::size_t>(a)].add(risk_m.data()[g], risk_i.data()[g], nov.data()[g], cap_in.data()[g] != 0,
                                            factor.data()[g], divide_in.data()[g] != 0);
  }
  py::array_t<double> initial(n_accounts), maintenance(n_accounts);
  for (std::int64_t a = 0; a < n_accounts; ++a) {
    initial.mutable_data()[a] = SpanTotals::floored(totals[static_cast<std::size_t>(a)].initial);
    maintenance.mutable_data()[a] = SpanTotals::floored(totals[static_cast<std::size_t>(a)].maintenance);
  }
  return py::make_tuple(initial, maintenance);
}

}  // namespace span_binding

void register_span(py::module_& m) {
  using namespace span_binding;
  m.def("span_margin_groups", &span_groups, py::arg("group_start"), py::arg("group_cc"), py::arg("row"), py::arg("n"),
        py::arg("model"),
        "SPAN per (account, combined commodity) group of netted positions in one rate class: scan risk and its "
        "scenario, intra-commodity spread charge, spot-month charge, short option minimum, net option value and "
        "risk (columns in a dict); model: the arrays compiled from the file (riskoffset.margining.span.bulk).");
  m.def("span_account_totals", &span_totals, py::arg("account"), py::arg("risk_m"), py::arg("risk_i"), py::arg("nov"),
        py::arg("cap_anov"), py::arg("factor"), py::arg("divide"), py::arg("n_accounts"),
        "Each account's SPAN (initial, maintenance) from its (account, CC) groups in account order: risk less net "
        "option value (floored at 0 under capAnov), converted by factor (divided where divide), summed, floored "
        "at 0.");
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
          py::arg("rows"), py::arg("n"));
}

}  // namespace riskoffset_bindings
