// _core.margin (SPAN part): SPAN per (account, combined commodity) group in one rate class
// (cpp/src/margin/span_margin.hpp, run by the active SIMD target), the accounts' totals of those groups, and
// `SpanAccount`: the same steps for one account's positions in one call (the live engine's trades), routing an
// account the pass does not cover back to the caller as riskoffset.margining.span.bulk routes it.
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

// What one (account, CC) group adds to its account's SPAN margin: its risk less its net option value (floored at
// 0 under capAnov), converted to the account's currency (dividing by the factor where the file gives the
// conversion the other way).  The account's margin is the sum over its CCs in CC order, floored at 0.
struct SpanTotals {
  double initial = 0.0, maintenance = 0.0;

  void add(double risk_m, double risk_i, double nov, bool cap_anov, double factor, bool divide) {
    double m = risk_m - nov, i = risk_i - nov;
    if (cap_anov) m = m >= 0.0 ? m : 0.0, i = i >= 0.0 ? i : 0.0;
    maintenance += divide ? m / factor : m * factor;
    initial += divide ? i / factor : i * factor;
  }
  static double floored(double v) { return v >= 0.0 ? v : 0.0; }
};

// The pass over groups [0, n_groups) of `model` (positions row/n, group_start offsets, group_cc), its rows checked.
void run_groups(const SpanModel& model, const std::int64_t* group_start, const std::int64_t* group_cc,
                std::size_t n_groups, const std::int64_t* row, const double* n, const riskoffset::SpanColumns& out,
                std::vector<double>& scratch, bool release_gil) {
  for (std::size_t g = 0; g < n_groups; ++g) {
    const std::int64_t c = group_cc[g];
    RO_CHECK(c >= 0 && c < model.n_cc, "group " + std::to_string(g) + ": CC outside the model");
    for (std::int64_t p = group_start[g]; p < group_start[g + 1]; ++p) {
      RO_CHECK(row[p] >= 0 && row[p] < model.n_rows,
               "position " + std::to_string(p) + " names contract row " + std::to_string(row[p]) + ", outside the file");
      model.check_row(row[p], c);
      RO_CHECK(std::isfinite(n[p]), "position " + std::to_string(p) + ": contracts not finite");
    }
  }
  riskoffset::SpanBook b = model.book();
  b.group_start = group_start, b.group_cc = group_cc, b.n_groups = n_groups, b.row = row, b.n = n;
  scratch.resize(model.scratch_size());
  if (release_gil) {
    py::gil_scoped_release release;  // reads the checked arrays, writes the caller's columns
    riskoffset::active_kernels().span_groups(b, out, scratch.data(), 0, n_groups);
  } else {
    riskoffset::active_kernels().span_groups(b, out, scratch.data(), 0, n_groups);
  }
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
  run_groups(model, group_start.data(), group_cc.data(), n_groups, row.data(), n.data(), out, scratch, true);
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

// ------------------------------------------------------------------------------------------- one account
// One account's SPAN margin in one call: its positions netted, grouped by CC, routed, the pass in the
// maintenance class (and the initial class where the file computes it directly), the groups added up.  The
// same steps, in the same order, as riskoffset.margining.span.bulk.span_margins gives that account; an account
// that function hands to its full path (a cross-commodity spread that could form, a CC or row the pass does not
// cover, several currencies, a missing conversion, no position) returns None.  Calls hold the GIL (their work is
// one account's), so one object serves every thread.
class SpanAccount {
 public:
  SpanAccount(const py::dict& model_m, const std::optional<py::dict>& model_i, const py::dict& routing)
      : model_m_(model_m) {
    if (model_i) model_i_.emplace(*model_i);
    const py::ssize_t n_cc = model_m_.n_cc, n_rows = model_m_.n_rows;
    supported_m_ = field<std::uint8_t>(routing, "supported_m", n_cc);
    row_ok_m_ = field<std::uint8_t>(routing, "row_ok_m", n_rows);
    if (model_i_) {
      RO_CHECK(model_i_->n_cc == n_cc && model_i_->n_rows == n_rows,
               "SPAN model_i: its CCs and contract rows must be model_m's");
      supported_i_ = field<std::uint8_t>(routing, "supported_i", n_cc);
      row_ok_i_ = field<std::uint8_t>(routing, "row_ok_i", n_rows);
    }
    risk_i_mode_ = field<std::int64_t>(routing, "risk_i_mode", n_cc);
    adj_val_ = field<double>(routing, "adj_val", n_cc);
    cap_anov_ = field<std::uint8_t>(routing, "cap_anov", n_cc);
    cc_cur_ = field<std::int64_t>(routing, "cc_cur", n_cc);
    factor_ = field<double>(routing, "factor", -1);
    RO_CHECK(factor_.ndim() == 2 && factor_.shape(0) >= n_cc, "SPAN routing: 'factor' must be (CCs, currencies)");
    n_currencies_ = factor_.shape(1);
    divide_ = field<std::uint8_t>(routing, "divide", factor_.size());
    missing_ = field<std::uint8_t>(routing, "missing", factor_.size());
    for (py::ssize_t c = 0; c < n_cc; ++c) {
      RO_CHECK(cc_cur_.data()[c] >= 0 && cc_cur_.data()[c] < n_currencies_,
               "SPAN routing: CC " + std::to_string(c) + ": currency outside the table");
      RO_CHECK(risk_i_mode_.data()[c] >= 0 && risk_i_mode_.data()[c] <= 3,
               "SPAN routing: CC " + std::to_string(c) + ": risk_i_mode outside 0..3");
      RO_CHECK(risk_i_mode_.data()[c] != 2 || model_i_, "SPAN routing: CC " + std::to_string(c) +
                                                            " computes its initial class directly: model_i needed");
    }
    currency_ = routing["currency"].cast<std::int64_t>();
    RO_CHECK(currency_ >= -1 && currency_ < n_currencies_, "SPAN routing: 'currency' outside the table");
    // The cross-commodity spreads: per CC the spreads it is a member of (each counted once), and how many
    // members of each an account must hold for it to form.
    const Ints offset = field<std::int64_t>(routing, "spread_offset", -1);
    const Ints members = field<std::int64_t>(routing, "spread_cc", -1);
    need_ = field<std::int64_t>(routing, "spread_need", offset.size() - 1);
    RO_CHECK(offset.size() >= 1 && offset.data()[0] == 0 && offset.data()[offset.size() - 1] == members.size(),
             "SPAN routing: 'spread_offset' must run from 0 to the number of members");
    spreads_of_cc_.assign(static_cast<std::size_t>(n_cc), {});
    for (py::ssize_t s = 0; s + 1 < offset.size(); ++s)
      for (std::int64_t q = offset.data()[s]; q < offset.data()[s + 1]; ++q) {
        const std::int64_t c = members.data()[q];
        RO_CHECK(c >= 0 && c < n_cc, "SPAN routing: spread " + std::to_string(s) + " names a CC outside the file");
        auto& list = spreads_of_cc_[static_cast<std::size_t>(c)];
        if (list.empty() || list.back() != s) list.push_back(s);
      }
    held_.assign(static_cast<std::size_t>(offset.size() - 1), 0);
  }

  // (initial, maintenance, currency index) of the account holding n[p] contracts of contract row rows[p], or
  // None where the full path computes it.
  py::object call(const Ints& rows_in, const Doubles& n_in) {
    const Ints rows = aligned_array(rows_in);
    const Doubles n = aligned_array(n_in);
    RO_CHECK(rows.ndim() == 1 && n.ndim() == 1 && rows.size() == n.size(), "rows and n need one entry per position");
    // 1. netted in integer units of 1e-8 contracts (rounded half to even, as numpy rounds), zero sums dropped
    positions_.clear();
    for (py::ssize_t p = 0; p < rows.size(); ++p) {
      const std::int64_t i = rows.data()[p];
      RO_CHECK(i >= 0 && i < model_m_.n_rows,
               "position " + std::to_string(p) + " names contract row " + std::to_string(i) + ", outside the file");
      const double scaled = n.data()[p] * 1e8;
      RO_CHECK(std::isfinite(scaled) && std::fabs(scaled) < 9.2e18,
               "position " + std::to_string(p) + ": contracts not finite or beyond 9.2e10");
      positions_.push_back({i, static_cast<std::int64_t>(std::nearbyint(scaled))});
    }
    std::sort(positions_.begin(), positions_.end());
    std::size_t kept = 0;
    for (std::size_t p = 0; p < positions_.size();) {
      std::int64_t total = 0;
      std::size_t q = p;
      for (; q < positions_.size() && positions_[q].first == positions_[p].first; ++q)
        RO_CHECK(!__builtin_add_overflow(total, positions_[q].second, &total),
                 "contract row " + std::to_string(positions_[p].first) + ": the position's sum overflows");
      if (total != 0) positions_[kept++] = {positions_[p].first, total};
      p = q;
    }
    positions_.resize(kept);
    if (kept == 0) return py::none();
    // 2. grouped by CC, rows ascending within a group
    const std::int64_t* cc_of_row = model_m_.cc_of_row;
    for (const auto& pos : positions_)
      if (cc_of_row[pos.first] < 0) return py::none();
    std::stable_sort(positions_.begin(), positions_.end(),
                     [&](const auto& x, const auto& y) { return cc_of_row[x.first] < cc_of_row[y.first]; });
    row_.clear(), n_.clear(), group_start_.assign(1, 0), group_cc_.clear();
    for (const auto& pos : positions_) {
      const std::int64_t c = cc_of_row[pos.first];
      if (group_cc_.empty() || group_cc_.back() != c) {
        if (!group_cc_.empty()) group_start_.push_back(static_cast<std::int64_t>(row_.size()));
        group_cc_.push_back(c);
      }
      row_.push_back(pos.first);
      n_.push_back(static_cast<double>(pos.second) / 1e8);
    }
    group_start_.push_back(static_cast<std::int64_t>(row_.size()));
    // 3. routed
    if (!covered()) return py::none();
    // 4. the pass in the maintenance class, and in the initial class where computed directly
    const std::size_t n_groups = group_cc_.size();
    Columns m(n_groups), i(model_i_ ? n_groups : 0);
    run_groups(model_m_, group_start_.data(), group_cc_.data(), n_groups, row_.data(), n_.data(), m.out, scratch_,
               false);
    for (std::size_t g = 0; g < n_groups; ++g)
      if (m.unsupported[g]) return py::none();
    if (model_i_) {
      run_groups(*model_i_, group_start_.data(), group_cc_.data(), n_groups, row_.data(), n_.data(), i.out, scratch_,
                 false);
      for (std::size_t g = 0; g < n_groups; ++g)
        if (i.unsupported[g] && risk_i_mode_.data()[group_cc_[g]] == 2) return py::none();
    }
    // 5. the groups added up
    SpanTotals totals;
    const auto cur = static_cast<std::size_t>(account_currency_);
    for (std::size_t g = 0; g < n_groups; ++g) {
      const auto c = static_cast<std::size_t>(group_cc_[g]);
      const double risk_m = m.risk[g];
      const std::int64_t mode = risk_i_mode_.data()[c];
      const double risk_i = mode == 1 ? adj_val_.data()[c] * risk_m : (mode == 2 ? i.risk[g] : risk_m);
      const std::size_t at = c * static_cast<std::size_t>(n_currencies_) + cur;
      totals.add(risk_m, risk_i, m.nov[g], cap_anov_.data()[c] != 0, factor_.data()[at], divide_.data()[at] != 0);
    }
    return py::make_tuple(SpanTotals::floored(totals.initial), SpanTotals::floored(totals.maintenance),
                          account_currency_);
  }

 private:
  // The pass's output columns for a few groups.
  struct Columns {
    std::vector<double> scan, intra, spot, som, nov, risk;
    std::vector<std::int64_t> active;
    std::vector<std::uint8_t> formed, unsupported;
    riskoffset::SpanColumns out;
    explicit Columns(std::size_t n)
        : scan(n), intra(n), spot(n), som(n), nov(n), risk(n), active(n), formed(n), unsupported(n) {
      out.scan = scan.data(), out.active = active.data(), out.intra = intra.data(), out.spot = spot.data();
      out.som = som.data(), out.nov = nov.data(), out.risk = risk.data(), out.formed = formed.data();
      out.unsupported = unsupported.data();
    }
  };

  template <typename T>
  static SpanArray<T> field(const py::dict& routing, const char* name, py::ssize_t size) {
    RO_CHECK(routing.contains(name), std::string("SPAN routing: no '") + name + "' array");
    SpanArray<T> a = aligned_array(SpanArray<T>::ensure(routing[name]));
    RO_CHECK(a, std::string("SPAN routing: '") + name + "' is not a numeric array");
    RO_CHECK(size < 0 || a.size() == size, std::string("SPAN routing: '") + name + "' has " +
                                               std::to_string(a.size()) + " entries, expected " + std::to_string(size));
    return a;
  }

  // Whether the pass covers the account grouped in row_/group_cc_ (the routing of span_margins); sets
  // account_currency_.
  bool covered() {
    for (const std::int64_t c : group_cc_) {
      if (!supported_m_.data()[c] || risk_i_mode_.data()[c] == 3) return false;
      if (model_i_ && !supported_i_.data()[c]) return false;
    }
    for (const std::int64_t i : row_) {
      if (!row_ok_m_.data()[i]) return false;
      if (model_i_ && !row_ok_i_.data()[i]) return false;
    }
    bool forms = false;  // a cross-commodity spread with enough of its CCs held
    for (const std::int64_t c : group_cc_)
      for (const std::int64_t s : spreads_of_cc_[static_cast<std::size_t>(c)])
        forms |= ++held_[static_cast<std::size_t>(s)] >= need_.data()[s];
    for (const std::int64_t c : group_cc_)
      for (const std::int64_t s : spreads_of_cc_[static_cast<std::size_t>(c)]) held_[static_cast<std::size_t>(s)] = 0;
    if (forms) return false;
    account_currency_ = currency_ >= 0 ? currency_ : cc_cur_.data()[group_cc_.front()];
    for (const std::int64_t c : group_cc_) {
      if (currency_ < 0 && cc_cur_.data()[c] != account_currency_) return false;
      if (missing_.data()[c * n_currencies_ + account_currency_]) return false;
    }
    return true;
  }

  SpanModel model_m_;
  std::optional<SpanModel> model_i_;
  SpanArray<std::uint8_t> supported_m_, row_ok_m_, supported_i_, row_ok_i_, cap_anov_, divide_, missing_;
  SpanArray<std::int64_t> risk_i_mode_, cc_cur_, need_;
  SpanArray<double> adj_val_, factor_;
  py::ssize_t n_currencies_ = 0;
  std::int64_t currency_ = -1, account_currency_ = 0;
  std::vector<std::vector<std::int64_t>> spreads_of_cc_;
  std::vector<std::int64_t> held_;  // per spread: its CCs the account holds (zero between calls)
  // per call (members: a call allocates nothing once they have grown)
  std::vector<std::pair<std::int64_t, std::int64_t>> positions_;
  std::vector<std::int64_t> row_, group_start_, group_cc_;
  std::vector<double> n_, scratch_;
};

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
      .def("__call__", &SpanAccount::call, py::arg("rows"), py::arg("n"));
}

}  // namespace riskoffset_bindings
