// LiveRefresh (live_refresh.hpp) on one event: a trade, a what-if, a balance (one account each, its cells
// prefetched, SPAN's margin where it applies, a figure that comes out non-finite undone) and an option's vol tick.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "live_refresh.hpp"
#include "riskoffset/prefetch.hpp"

namespace py = pybind11;

namespace riskoffset_bindings {

py::tuple LiveRefresh::option_tick(riskoffset_bindings::OptionReprice& reprice, py::ssize_t row, double sigma,
                                   const Ints& starts, const Ints& ends, const Ints& indices,
                                   const Doubles& quantity_in, const Doubles& average_in, const Ints& rows,
                                   std::int64_t capture_top, bool trusted, bool find_worst) {
  RO_CHECK(pm_, "only a portfolio-margin refresh reprices an option's scenario vector");
  const std::size_t top = checked_top(capture_top);
  RO_CHECK(reprice.size() == n_instr_, "the reprice is bound to another instrument table");
  const Accounts accounts = checked_accounts(starts, ends, indices, quantity_in, average_in, rows, trusted);
  RO_CHECK(0 <= row && static_cast<std::size_t>(row) < n_instr_, "row outside the instrument table");
  const riskoffset_bindings::OptionReprice::Saved saved = reprice.save(static_cast<std::size_t>(row));
  if (!reprice(row, sigma)) return Outcome{}.tuple(-2, n_figures());
  std::vector<std::int8_t> levels(accounts.n_rows);
  for (std::size_t a = 0; a < accounts.n_rows; ++a) levels[a] = level_[accounts.rows[a]];
  Outcome outcome = refresh_accounts(accounts, find_worst, top);
  if (outcome.bad < 0) return outcome.tuple(-1, n_figures());
  reprice.restore(saved);
  refresh_accounts(accounts);
  for (std::size_t a = 0; a < accounts.n_rows; ++a) level_[accounts.rows[a]] = levels[a];
  return Outcome{}.tuple(outcome.bad, n_figures());
}

LiveRefresh::OneOutcome LiveRefresh::trade(py::handle start_in, py::handle end_in, py::handle indices_in,
                                           py::handle quantity_in, py::handle average_in, std::int64_t size,
                                           std::int64_t row, std::int64_t instrument, double quantity, double price,
                                           double fee, std::int64_t fee_col, bool refresh, std::int64_t capture_top,
                                           bool in_place) {
  const OneAccount acc(*this, start_in, end_in, indices_in, quantity_in, average_in, row, size);
  RO_CHECK(0 <= instrument && static_cast<std::size_t>(instrument) < n_instr_, "instrument row outside the table");
  RO_CHECK(0 <= fee_col && static_cast<std::size_t>(fee_col) < k_, "fee currency column outside the currencies");
  RO_CHECK(std::isfinite(quantity) && std::isfinite(price) && price > 0.0 && std::isfinite(fee),
           "quantity, price (> 0) and fee must be finite");
  const std::size_t top = checked_top(capture_top);
  const auto i = static_cast<std::size_t>(instrument);
  const std::size_t ru = acc.row;
  const std::int64_t s = acc.start[ru], e = acc.end[ru];
  const std::int8_t was = level_[ru];
  const riskoffset::PositionPool pool = acc.pool();
  const std::int64_t at = riskoffset::segment_find(pool, s, e, instrument);
  const double held = at < 0 ? 0.0 : pool.quantity[at];
  const double held_average = at < 0 ? std::numeric_limits<double>::quiet_NaN() : pool.average[at];
  const riskoffset::PositionFill f = riskoffset::position_fill(held, held_average, quantity, price,
                                                               is_future_.data()[i] != 0, inverse_.data()[i] != 0);
  RO_CHECK(std::fabs(f.amount) < riskoffset::kMaxAmount, position_too_large(f.amount));
  const bool written_in_place = in_place && at >= 0 && f.amount != 0.0;  // (put back if a figure is non-finite)
  std::int64_t length = -2;
  if (written_in_place) {
    pool.quantity[at] = f.amount, pool.average[at] = f.average;
  } else {
    if (size + (e - s) + 1 > pool.capacity) return {-1, false, was, was, py::object(), false};
    length = riskoffset::segment_write(pool, s, e, size, instrument, f.amount != 0.0, f.amount, f.average);
    acc.start[ru] = size, acc.end[ru] = size + length;
  }
  const bool held_changed = !written_in_place && length != e - s;  // a position opened or closed (else one changed in size)
  double* bal = balance_.mutable_data() + ru * k_;
  const auto sc = static_cast<std::size_t>(settle_col_.data()[i]), fc = static_cast<std::size_t>(fee_col);
  const double saved_settle = bal[sc], saved_fee = bal[fc];  // the two cells the fill moves (maybe one)
  if (is_option_.data()[i]) bal[sc] -= quantity * price;  // the premium leaves (or enters) at once
  bal[sc] += f.realised;
  bal[fc] -= fee;
  if (!refresh) return {length, false, was, was, py::object(), held_changed};
  const auto put_back = [&] {
    bal[fc] = saved_fee, bal[sc] = saved_settle;  // both saved before either moved
    if (written_in_place) pool.quantity[at] = held, pool.average[at] = held_average;
    acc.start[ru] = s, acc.end[ru] = e;
  };
  if (!span_margin_or_put_back(acc, put_back))  // (SPAN: the caller computes the account by the full path)
    return {-3, false, was, was, py::object(), false};
  const auto undo = [&] {
    put_back();
    if (span_) span_restore(acc.row);
  };
  py::object captured;
  const bool bad = !refresh_one(acc, was, undo, top, captured);
  return {length, bad, was, level_[ru], std::move(captured), held_changed && !bad};
}

py::tuple LiveRefresh::what_if(py::handle start_in, py::handle end_in, py::handle indices_in, py::handle quantity_in,
                               py::handle average_in, std::int64_t size, std::int64_t row,
                               const std::vector<std::int64_t>& instruments, const std::vector<double>& amounts,
                               const std::vector<double>& prices, const std::vector<double>& fees,
                               const std::vector<std::int64_t>& fee_cols) {
  const OneAccount acc(*this, start_in, end_in, indices_in, quantity_in, average_in, row, size);
  const std::size_t n = instruments.size();
  RO_CHECK(n >= 1 && amounts.size() == n && prices.size() == n && fees.size() == n && fee_cols.size() == n,
           "instruments, amounts, prices, fees and fee_cols need one entry per fill (at least one)");
  for (std::size_t j = 0; j < n; ++j) {  // (a message is made only for a fill refused)
    RO_CHECK(0 <= instruments[j] && static_cast<std::size_t>(instruments[j]) < n_instr_,
             "fill " + std::to_string(j) + ": instrument row outside the table");
    RO_CHECK(0 <= fee_cols[j] && static_cast<std::size_t>(fee_cols[j]) < k_,
             "fill " + std::to_string(j) + ": fee currency column outside the currencies");
    RO_CHECK(std::isfinite(amounts[j]) && std::isfinite(prices[j]) && prices[j] > 0.0 && std::isfinite(fees[j]),
             "fill " + std::to_string(j) + ": amount, price (> 0) and fee must be finite");
  }
  const std::size_t ru = acc.row;
  const std::int64_t s = acc.start[ru], e = acc.end[ru];
  const std::int8_t was = level_[ru];
  const riskoffset::PositionPool pool = acc.pool();
  double* bal = balance_.mutable_data() + ru * k_;
  const std::vector<double> saved_balance(bal, bal + k_);
  const auto put_back = [&] {
    std::copy(saved_balance.begin(), saved_balance.end(), bal);
    acc.start[ru] = s, acc.end[ru] = e;
  };
  const auto nothing = [&](std::int64_t status) { return py::make_tuple(status, false, was, py::none()); };
  std::int64_t at = size;  // where the next segment goes
  for (std::size_t j = 0; j < n; ++j) {
    const auto i = static_cast<std::size_t>(instruments[j]);
    const std::int64_t first = acc.start[ru], last = acc.end[ru];
    if (at + (last - first) + 1 > pool.capacity) {
      put_back();
      return nothing(-1);
    }
    const std::int64_t held_at = riskoffset::segment_find(pool, first, last, instruments[j]);
    const double held = held_at < 0 ? 0.0 : pool.quantity[held_at];
    const double held_average = held_at < 0 ? std::numeric_limits<double>::quiet_NaN() : pool.average[held_at];
    const riskoffset::PositionFill f = riskoffset::position_fill(held, held_average, amounts[j], prices[j],
                                                                 is_future_.data()[i] != 0, inverse_.data()[i] != 0);
    if (!(std::fabs(f.amount) < riskoffset::kMaxAmount)) {
      put_back();
      throw std::invalid_argument("fill " + std::to_string(j) + ": " + position_too_large(f.amount));
    }
    const std::int64_t length =
        riskoffset::segment_write(pool, first, last, at, instruments[j], f.amount != 0.0, f.amount, f.average);
    acc.start[ru] = at, acc.end[ru] = at + length;
    at += length;
    const auto sc = static_cast<std::size_t>(settle_col_.data()[i]);
    if (is_option_.data()[i]) bal[sc] -= amounts[j] * prices[j];  // (as `trade` moves them)
    bal[sc] += f.realised;
    bal[static_cast<std::size_t>(fee_cols[j])] -= fees[j];
  }
  if (!span_margin_or_put_back(acc, put_back)) return nothing(-3);
  const auto undo = [&] {
    put_back();
    if (span_) span_restore(ru);
  };
  py::object unused;
  if (!refresh_one(acc, was, undo, 0, unused)) return py::make_tuple(0, true, was, py::none());
  const std::int8_t now = level_[ru];
  Captured after;
  after.top = 1;  // (its slot would mark a scenario left to search: the refresh above searched every group)
  const auto row_of_account = static_cast<std::int64_t>(ru);
  capture_account(acc.start + ru, acc.end + ru, acc.indices, acc.amounts, &row_of_account, 0, after);
  py::tuple captured = py::make_tuple(float_list(after.figures), after.worst[0], after.worst[1]);
  undo();
  recompute_one(acc);
  level_[ru] = was;
  return py::make_tuple(0, false, now, captured);
}

LiveRefresh::OneOutcome LiveRefresh::balance(py::handle start_in, py::handle end_in, py::handle indices_in,
                                             py::handle quantity_in, py::handle average_in, std::int64_t size,
                                             std::int64_t row, std::int64_t col, double amount, bool add,
                                             std::int64_t capture_top) {
  const OneAccount acc(*this, start_in, end_in, indices_in, quantity_in, average_in, row, size);
  RO_CHECK(0 <= col && static_cast<std::size_t>(col) < k_, "currency column outside the currencies");
  RO_CHECK(std::isfinite(amount), "amount must be finite");
  const std::size_t top = checked_top(capture_top);
  double& cell = balance_.mutable_data()[acc.row * k_ + static_cast<std::size_t>(col)];
  const double saved = cell;
  const std::int8_t was = level_[acc.row];
  cell = add ? cell + amount : amount;
  py::object captured;
  const bool bad = !refresh_one(acc, was, [&] { cell = saved; }, top, captured);
  return {-2, bad, was, level_[acc.row], std::move(captured), false};
}

inline LiveRefresh::OneAccount::OneAccount(const LiveRefresh& r, py::handle start_in, py::handle end_in,
                                           py::handle indices_in, py::handle quantity_in, py::handle average_in,
                                           std::int64_t row_in, std::int64_t size)
    : OneAccount(r, riskoffset_bindings::exact_array<std::int64_t>(start_in, "start", false),
                 riskoffset_bindings::exact_array<std::int64_t>(end_in, "end", false),
                 riskoffset_bindings::exact_array<std::int64_t>(indices_in, "indices", false),
                 riskoffset_bindings::exact_array<double>(quantity_in, "quantity", false),
                 riskoffset_bindings::exact_array<double>(average_in, "average", false), row_in, size) {}

inline LiveRefresh::OneAccount::OneAccount(const LiveRefresh& r, py::array_t<std::int64_t> start_in,
                                           py::array_t<std::int64_t> end_in, py::array_t<std::int64_t> indices_in,
                                           py::array_t<double> quantity_in, py::array_t<double> average_in,
                                           std::int64_t row_in, std::int64_t size)
    : start(riskoffset_bindings::pool_array(start_in, "start")),
      end(riskoffset_bindings::pool_array(end_in, "end")),
      indices(riskoffset_bindings::pool_array(indices_in, "indices")),
      amounts(riskoffset_bindings::pool_array(quantity_in, "quantity")),
      average(riskoffset_bindings::pool_array(average_in, "average")),
      capacity(indices_in.size()),
      row(static_cast<std::size_t>(row_in)) {
  RO_CHECK(start_in.ndim() == 1 && end_in.ndim() == 1 && start_in.size() == r.n_total_ && end_in.size() == r.n_total_,
           "start and end need one entry per account");
  RO_CHECK(indices_in.ndim() == 1 && quantity_in.size() == capacity && average_in.size() == capacity,
           "indices, quantity and average differ in length");
  RO_CHECK(0 <= row_in && row_in < r.n_total_, "row outside the engine's accounts");
  r.prefetch_account(row, start, end);
  const std::int64_t s = start[row], e = end[row];
  prefetch_segment(s, e);
  RO_CHECK(0 <= s && s <= e && e <= size && size <= capacity, "the account's segment lies outside the pool");
  for (std::int64_t p = s; p < e; ++p)
    RO_CHECK(indices[p] >= 0 && static_cast<std::size_t>(indices[p]) < r.n_instr_,
             "position " + std::to_string(p) + " names an instrument row outside the table");
}

inline void LiveRefresh::OneAccount::prefetch_segment(std::int64_t s, std::int64_t e) const {
  if (s < 0 || e < s || e > capacity) return;  // (checked next; a prefetch never faults, but stay in range)
  const auto line = [this](std::int64_t p) {
    const auto i = static_cast<std::size_t>(p);
    riskoffset::prefetch(indices, i), riskoffset::prefetch(amounts, i), riskoffset::prefetch(average, i);
  };
  for (std::int64_t p = s; p < e; p += 8) line(p);
  if (e > s) line(e - 1);  // (the last line, when the segment does not start one)
}

inline void LiveRefresh::prefetch_account(std::size_t row, const std::int64_t* start, const std::int64_t* end) const {
  // Cells `at` to `last` of an array (both lines when they straddle one; null for arrays a method does not keep).
  const auto cells = [](const auto* a, std::size_t at, std::size_t last) {
    riskoffset::prefetch(a, at), riskoffset::prefetch(a, last);
  };
  cells(start, row, row), cells(end, row, row), cells(level_, row, row);
  for (const double* a : {balance_.data(), static_cast<const double*>(options_), static_cast<const double*>(futures_),
                          static_cast<const double*>(initial_), static_cast<const double*>(maintenance_)})
    if (a) cells(a, row * k_, row * k_ + k_ - 1);
  if (worst_usd_) cells(worst_usd_, row, row), cells(worst_key_, row, row), cells(worst_index_, row, row);
  if (n_cells_)
    cells(options_part_, row * n_cells_, row * n_cells_ + n_cells_ - 1),
        cells(futures_part_, row * n_cells_, row * n_cells_ + n_cells_ - 1);
  if (!pm_ || n_keys_ == 0) return;
  const std::size_t at = row * n_keys_, last = at + n_keys_ - 1;
  cells(key_initial_, at, last), cells(key_maintenance_, at, last), cells(key_worst_pnl_, at, last);
  cells(key_worst_index_, at, last), cells(worst_stale_, at, last);
}

inline bool LiveRefresh::span_margin(const OneAccount& acc) {
  const std::int64_t first = acc.start[acc.row], last = acc.end[acc.row];
  span_rows_.clear(), span_n_.clear();
  for (std::int64_t p = first; p < last; ++p) {
    const auto i = static_cast<std::size_t>(acc.indices[p]);
    const std::int64_t contract = span_contract_.data()[i];
    if (contract < 0) return false;
    span_rows_.push_back(contract);
    span_n_.push_back(acc.amounts[p] * span_per_unit_.data()[i]);
  }
  riskoffset_bindings::SpanAccountFigures f;
  if (!span_->margin(span_rows_.data(), span_n_.data(), span_rows_.size(), f)) return false;
  const std::int64_t col = span_col_.data()[f.currency];
  if (col < 0) return false;
  double* im = initial_ + acc.row * k_;
  double* mm = maintenance_ + acc.row * k_;
  span_saved_.assign(im, im + k_);
  span_saved_.insert(span_saved_.end(), mm, mm + k_);
  std::fill(im, im + k_, 0.0), std::fill(mm, mm + k_, 0.0);
  im[col] = f.initial, mm[col] = f.maintenance;
  return true;
}

template <typename PutBack>
inline bool LiveRefresh::span_margin_or_put_back(const OneAccount& acc, PutBack put_back) {
  if (!span_) return true;
  bool covered = false;
  try {
    covered = span_margin(acc);
  } catch (...) {
    put_back();
    throw;
  }
  if (!covered) put_back();
  return covered;
}

inline void LiveRefresh::span_restore(std::size_t row) {
  std::copy(span_saved_.begin(), span_saved_.begin() + static_cast<std::ptrdiff_t>(k_), initial_ + row * k_);
  std::copy(span_saved_.begin() + static_cast<std::ptrdiff_t>(k_), span_saved_.end(), maintenance_ + row * k_);
}

LiveRefresh::KeptScratch LiveRefresh::kept_scratch() {
  KeptScratch kept{std::unique_lock<std::mutex>(one_mutex_, std::try_to_lock)};
  if (!pm_ || !kept.hold.owns_lock()) return kept;
  if (!one_buffers_) {
    one_buffers_ = std::make_unique<riskoffset::PmScratchBuffers>(n_keys_, shape_.width(), book_.n_columns);
    one_scratch_ = one_buffers_->view();
  }
  std::fill(one_scratch_.used, one_scratch_.used + n_keys_, std::uint8_t{0});  // (a call that threw may leave marks)
  kept.scratch = &one_scratch_;
  return kept;
}

inline void LiveRefresh::recompute_one(const OneAccount& acc) {
  const auto row = static_cast<std::int64_t>(acc.row);
  std::vector<std::int64_t> moved;
  std::vector<std::int8_t> before;
  const KeptScratch kept = kept_scratch();
  refresh_rows(acc.start + acc.row, acc.end + acc.row, acc.indices, acc.amounts, acc.average, &row, 1, 0, 1, moved,
               before, false, false, true, nullptr, kept.scratch);
}

template <typename Undo>
inline bool LiveRefresh::refresh_one(const OneAccount& acc, std::int8_t was, Undo undo, std::size_t capture_top,
                                     py::object& captured) {
  const auto row = static_cast<std::int64_t>(acc.row);
  std::vector<std::int64_t> moved;  // (empty, they allocate nothing: the usual trade moves no level)
  std::vector<std::int8_t> before;
  Captured capture;
  capture.top = capture_top;
  const KeptScratch kept = kept_scratch();
  auto run = [&](Captured* into) {
    return refresh_rows(acc.start + acc.row, acc.end + acc.row, acc.indices, acc.amounts, acc.average, &row, 1, 0, 1,
                        moved, before, false, false, true, into, kept.scratch);
  };
  if (run(capture_top ? &capture : nullptr) < 0) {
    if (capture_top && !moved.empty()) {
      Outcome o;
      o.captured.push_back(std::move(capture));
      captured = o.captured_arrays(n_figures());
    }
    return true;
  }
  undo();
  moved.clear(), before.clear();
  run(nullptr);
  level_[acc.row] = was;
  return false;
}

}  // namespace riskoffset_bindings
