// _core.margin.rows_by_account: a book's (account, risk group) margin rows summed per account in one pass, what
// GroupMargins.by_account reports (margin_accounts on a million accounts spent a quarter of its time in the
// dozen numpy passes this replaces).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "../common/arrays.hpp"
#include "../common/require.hpp"

namespace py = pybind11;

namespace {

using Ints = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;
using Doubles = riskoffset_bindings::DoubleArray;

struct RowColumns {
  const std::int64_t* account;
  const std::int64_t* currency;
  const double* usd_rate;
  const double* initial;
  const double* maintenance;
};

struct AccountColumns {
  std::int64_t* first_row;
  std::int64_t* currency;
  double* initial;
  double* maintenance;
  double* initial_usd;
  double* maintenance_usd;
  std::int64_t* worst_row;
};

// Rows [r0, r1) of one account.  Sums run in row order.  In the account's currency when every row shares it,
// else in USD (usd_code).  The worst row is the first holding the largest finite USD initial margin (the first
// row when none is finite).
void sum_account(const RowColumns& in, std::size_t r0, std::size_t r1, std::int64_t usd_code, AccountColumns& out,
                 std::size_t a) {
  bool one = true;
  for (std::size_t r = r0 + 1; r < r1; ++r) one &= in.currency[r] == in.currency[r0];
  double initial = 0.0, maintenance = 0.0, initial_usd = 0.0, maintenance_usd = 0.0;
  double worst = -std::numeric_limits<double>::infinity();
  std::size_t worst_row = r0;
  for (std::size_t r = r0; r < r1; ++r) {
    const double im_usd = in.initial[r] * in.usd_rate[r], mm_usd = in.maintenance[r] * in.usd_rate[r];
    initial += one ? in.initial[r] : im_usd;
    maintenance += one ? in.maintenance[r] : mm_usd;
    initial_usd += im_usd;
    maintenance_usd += mm_usd;
    if (std::isfinite(im_usd) && im_usd > worst) worst = im_usd, worst_row = r;
  }
  out.first_row[a] = static_cast<std::int64_t>(r0);
  out.currency[a] = one ? in.currency[r0] : usd_code;
  out.initial[a] = initial, out.maintenance[a] = maintenance;
  out.initial_usd[a] = initial_usd, out.maintenance_usd[a] = maintenance_usd;
  out.worst_row[a] = static_cast<std::int64_t>(worst_row);
}

}  // namespace

void register_account_rows(py::module_& m) {
  m.def(
      "rows_by_account",
      [](const Ints& account, const Ints& currency, const Doubles& usd_rate, const Doubles& initial,
         const Doubles& maintenance, std::int64_t usd_code) {
        const auto n = static_cast<std::size_t>(account.size());
        RO_CHECK(account.ndim() == 1 && currency.ndim() == 1 && usd_rate.ndim() == 1 && initial.ndim() == 1 &&
                     maintenance.ndim() == 1,
                 "the row columns must be vectors");
        RO_CHECK(static_cast<std::size_t>(currency.size()) == n && static_cast<std::size_t>(usd_rate.size()) == n &&
                     static_cast<std::size_t>(initial.size()) == n && static_cast<std::size_t>(maintenance.size()) == n,
                 "the row columns need one entry per row");
        std::size_t n_accounts = n ? 1 : 0;
        for (std::size_t r = 1; r < n; ++r) {
          RO_CHECK(account.data()[r] >= account.data()[r - 1],
                   "row " + std::to_string(r) + ": rows must be in account order");
          n_accounts += account.data()[r] != account.data()[r - 1];
        }
        const auto size = static_cast<py::ssize_t>(n_accounts);
        py::array_t<std::int64_t> first_row(size), out_currency(size), worst_row(size);
        py::array_t<double> out_initial(size), out_maintenance(size), initial_usd(size), maintenance_usd(size);
        const Doubles rate = riskoffset_bindings::aligned(usd_rate), im = riskoffset_bindings::aligned(initial),
                      mm = riskoffset_bindings::aligned(maintenance);
        const RowColumns in{account.data(), currency.data(), rate.data(), im.data(), mm.data()};
        AccountColumns out{first_row.mutable_data(),  out_currency.mutable_data(),    out_initial.mutable_data(),
                           out_maintenance.mutable_data(), initial_usd.mutable_data(), maintenance_usd.mutable_data(),
                           worst_row.mutable_data()};
        {
          py::gil_scoped_release release;
          std::size_t a = 0, r0 = 0;
          for (std::size_t r = 1; r <= n; ++r)
            if (r == n || in.account[r] != in.account[r0]) sum_account(in, r0, r, usd_code, out, a++), r0 = r;
        }
        return py::make_tuple(first_row, out_currency, out_initial, out_maintenance, initial_usd, maintenance_usd,
                              worst_row);
      },
      py::arg("account"), py::arg("currency"), py::arg("usd_rate"), py::arg("initial"), py::arg("maintenance"),
      py::arg("usd_code"),
      "Margin rows (account-major: `account` non-decreasing) summed per account, in row order: (first row, "
      "currency, initial, maintenance, initial in USD, maintenance in USD, worst row) per account.  An account "
      "whose rows share a currency sums in it, else in USD (currency `usd_code`, each row times its usd_rate); "
      "the USD sums are of initial x usd_rate; the worst row is the first with the largest finite USD initial "
      "margin (the account's first row when none is finite).");
}
