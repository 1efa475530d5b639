// SpanAccount (span_account.hpp): one account's SPAN margin, routed as the many-account path routes it.
#include "span_account.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "../common/require.hpp"
#include "riskoffset/dispatch.hpp"

namespace py = pybind11;

namespace riskoffset_bindings {
namespace {

template <typename T>
SpanArray<T> routing_array(const py::dict& routing, const char* name, py::ssize_t size) {
  return span_dict_array<T>(routing, "SPAN routing", name, size);
}

}  // namespace

void span_run_groups(const SpanModel& model, const std::int64_t* group_start, const std::int64_t* group_cc,
                     std::size_t n_groups, const std::int64_t* row, const double* n,
                     const riskoffset::SpanColumns& out, std::vector<double>& scratch, bool release_gil,
                     bool checked) {
  for (std::size_t g = 0; g < n_groups && !checked; ++g) {
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

void SpanAccount::Columns::resize(std::size_t n) {
  scan.resize(n), intra.resize(n), spot.resize(n), som.resize(n), nov.resize(n), risk.resize(n);
  active.resize(n), formed.resize(n), unsupported.resize(n);
  out.scan = scan.data(), out.active = active.data(), out.intra = intra.data(), out.spot = spot.data();
  out.som = som.data(), out.nov = nov.data(), out.risk = risk.data(), out.formed = formed.data();
  out.unsupported = unsupported.data();
}

SpanAccount::SpanAccount(const py::dict& model_m, const std::optional<py::dict>& model_i, const py::dict& routing)
    : model_m_(model_m) {
  if (model_i) model_i_.emplace(*model_i);
  const py::ssize_t n_cc = model_m_.n_cc, n_rows = model_m_.n_rows;
  supported_m_ = routing_array<std::uint8_t>(routing, "supported_m", n_cc);
  row_ok_m_ = routing_array<std::uint8_t>(routing, "row_ok_m", n_rows);
  if (model_i_) {
    RO_CHECK(model_i_->n_cc == n_cc && model_i_->n_rows == n_rows,
             "SPAN model_i: its CCs and contract rows must be model_m's");
    supported_i_ = routing_array<std::uint8_t>(routing, "supported_i", n_cc);
    row_ok_i_ = routing_array<std::uint8_t>(routing, "row_ok_i", n_rows);
  }
  risk_i_mode_ = routing_array<std::int64_t>(routing, "risk_i_mode", n_cc);
  adj_val_ = routing_array<double>(routing, "adj_val", n_cc);
  cap_anov_ = routing_array<std::uint8_t>(routing, "cap_anov", n_cc);
  cc_cur_ = routing_array<std::int64_t>(routing, "cc_cur", n_cc);
  factor_ = routing_array<double>(routing, "factor", -1);
  RO_CHECK(factor_.ndim() == 2 && factor_.shape(0) >= n_cc, "SPAN routing: 'factor' must be (CCs, currencies)");
  n_currencies_ = factor_.shape(1);
  divide_ = routing_array<std::uint8_t>(routing, "divide", factor_.size());
  missing_ = routing_array<std::uint8_t>(routing, "missing", factor_.size());
  for (py::ssize_t c = 0; c < n_cc; ++c) {
    RO_CHECK(cc_cur_.data()[c] >= 0 && cc_cur_.data()[c] < n_currencies_,
             "SPAN routing: CC " + std::to_string(c) + ": currency outside the table");
    RO_CHECK(risk_i_mode_.data()[c] >= 0 && risk_i_mode_.data()[c] <= 3,
             "SPAN routing: CC " + std::to_string(c) + ": risk_i_mode outside 0..3");
    RO_CHECK(risk_i_mode_.data()[c] != 2 || model_i_,
             "SPAN routing: CC " + std::to_string(c) + " computes its initial class directly: model_i needed");
  }
  currency_ = routing["currency"].cast<std::int64_t>();
  RO_CHECK(currency_ >= -1 && currency_ < n_currencies_, "SPAN routing: 'currency' outside the table");
  // The cross-commodity spreads: per CC the spreads it is a member of (each once), and how many of a spread's
  // CCs an account must hold for it to form.
  const auto offset = routing_array<std::int64_t>(routing, "spread_offset", -1);
  const auto members = routing_array<std::int64_t>(routing, "spread_cc", -1);
  need_ = routing_array<std::int64_t>(routing, "spread_need", offset.size() - 1);
  RO_CHECK(offset.size() >= 1 && offset.data()[0] == 0 && offset.data()[offset.size() - 1] == members.size(),
           "SPAN routing: 'spread_offset' must run from 0 to the number of members");
  spreads_of_cc_.assign(static_cast<std::size_t>(n_cc), {});
  for (py::ssize_t s = 0; s + 1 < offset.size(); ++s) {
    RO_CHECK(offset.data()[s] <= offset.data()[s + 1], "SPAN routing: 'spread_offset' decreases at " + std::to_string(s));
    for (std::int64_t q = offset.data()[s]; q < offset.data()[s + 1]; ++q) {
      const std::int64_t c = members.data()[q];
      RO_CHECK(c >= 0 && c < n_cc, "SPAN routing: spread " + std::to_string(s) + " names a CC outside the file");
      auto& list = spreads_of_cc_[static_cast<std::size_t>(c)];
      if (list.empty() || list.back() != s) list.push_back(s);
    }
  }
  held_.assign(static_cast<std::size_t>(offset.size() - 1), 0);
  checked_.assign(static_cast<std::size_t>(n_rows), 0);
}

bool SpanAccount::margin(const std::int64_t* rows, const double* n, std::size_t count, SpanAccountFigures& out) {
  // 1. netted in integer units of 1e-8 contracts (rounded half to even, as numpy rounds), zero sums dropped, and
  //    ordered by CC, then row: one sort on the key (CC + 1) x rows + row (a row outside every CC sorts first)
  const std::int64_t n_rows = model_m_.n_rows;
  const std::int64_t* cc_of_row = model_m_.cc_of_row;
  positions_.clear();
  for (std::size_t p = 0; p < count; ++p) {
    const std::int64_t i = rows[p];
    RO_CHECK(i >= 0 && i < n_rows,
             "position " + std::to_string(p) + " names contract row " + std::to_string(i) + ", outside the file");
    const double scaled = n[p] * 1e8;
    RO_CHECK(std::isfinite(scaled) && std::fabs(scaled) < 9.2e18,
             "position " + std::to_string(p) + ": contracts not finite or beyond 9.2e10");
    positions_.push_back({(cc_of_row[i] + 1) * n_rows + i, static_cast<std::int64_t>(std::nearbyint(scaled))});
  }
  const auto by_key = [](const Position& x, const Position& y) { return x.key < y.key; };
  if (!std::is_sorted(positions_.begin(), positions_.end(), by_key))  // (a merge sort: no quadratic input)
    std::stable_sort(positions_.begin(), positions_.end(), by_key);
  row_.clear(), n_.clear(), group_start_.assign(1, 0), group_cc_.clear();
  for (std::size_t p = 0; p < positions_.size();) {
    const std::int64_t key = positions_[p].key;
    std::int64_t total = 0;
    std::size_t q = p;
    for (; q < positions_.size() && positions_[q].key == key; ++q)
      RO_CHECK(!__builtin_add_overflow(total, positions_[q].units, &total),
               "contract row " + std::to_string(key % n_rows) + ": the position's sum overflows");
    p = q;
    if (total == 0) continue;
    if (key < n_rows) return false;  // a contract outside every CC: the full path
    const std::int64_t c = key / n_rows - 1;
    if (group_cc_.empty() || group_cc_.back() != c) {
      if (!group_cc_.empty()) group_start_.push_back(static_cast<std::int64_t>(row_.size()));
      group_cc_.push_back(c);
    }
    row_.push_back(key % n_rows);
    n_.push_back(static_cast<double>(total) / 1e8);
  }
  if (row_.empty()) return false;
  group_start_.push_back(static_cast<std::int64_t>(row_.size()));
  // 3. routed
  if (!covered()) return false;
  // 4. the pass in the maintenance class, and in the initial class where the file computes it directly (each
  //    contract row checked the first time an account holds it: the file does not change)
  const std::size_t n_groups = group_cc_.size();
  for (std::size_t g = 0; g < n_groups; ++g)
    for (std::int64_t p = group_start_[g]; p < group_start_[g + 1]; ++p) {
      const auto i = static_cast<std::size_t>(row_[static_cast<std::size_t>(p)]);
      if (!checked_[i]) {
        model_m_.check_row(row_[static_cast<std::size_t>(p)], group_cc_[g]);
        if (model_i_) model_i_->check_row(row_[static_cast<std::size_t>(p)], group_cc_[g]);
        checked_[i] = 1;
      }
    }
  m_.resize(n_groups);
  span_run_groups(model_m_, group_start_.data(), group_cc_.data(), n_groups, row_.data(), n_.data(), m_.out, scratch_,
                  false, true);
  for (std::size_t g = 0; g < n_groups; ++g)
    if (m_.unsupported[g]) return false;
  if (model_i_) {
    i_.resize(n_groups);
    span_run_groups(*model_i_, group_start_.data(), group_cc_.data(), n_groups, row_.data(), n_.data(), i_.out,
                    scratch_, false, true);
    for (std::size_t g = 0; g < n_groups; ++g)
      if (i_.unsupported[g] && risk_i_mode_.data()[group_cc_[g]] == 2) return false;
  }
  // 5. the groups added up
  SpanTotals totals;
  const auto cur = static_cast<std::size_t>(account_currency_);
  for (std::size_t g = 0; g < n_groups; ++g) {
    const auto c = static_cast<std::size_t>(group_cc_[g]);
    const double risk_m = m_.risk[g];
    const std::int64_t mode = risk_i_mode_.data()[c];
    const double risk_i = mode == 1 ? adj_val_.data()[c] * risk_m : (mode == 2 ? i_.risk[g] : risk_m);
    const std::size_t at = c * static_cast<std::size_t>(n_currencies_) + cur;
    totals.add(risk_m, risk_i, m_.nov[g], cap_anov_.data()[c] != 0, factor_.data()[at], divide_.data()[at] != 0);
  }
  out.initial = SpanTotals::floored(totals.initial);
  out.maintenance = SpanTotals::floored(totals.maintenance);
  out.currency = account_currency_;
  return true;
}

// Whether the pass covers the account grouped in row_ / group_cc_ (as span_margins routes it); sets
// account_currency_.
bool SpanAccount::covered() {
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

}  // namespace riskoffset_bindings
