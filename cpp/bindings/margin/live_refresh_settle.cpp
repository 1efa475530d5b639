// LiveRefresh (live_refresh.hpp) recomputing many accounts: a call's accounts split across threads, a slice at a
// time PM (or the grid) then the settle, the accounts whose level changed captured; and the figures read back
// from what the refresh keeps (`figures`, `account_row`, a capture's).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "../../src/accounts/futures.hpp"
#include "../../src/book/first_at_or_past.hpp"
#include "../../src/margin/position_prefetch.hpp"
#include "live_refresh.hpp"
#include "riskoffset/dispatch.hpp"
#include "riskoffset/parallel.hpp"

namespace py = pybind11;

namespace riskoffset_bindings {

namespace {
// The settle's sums taken by a margin pass on its way through the positions (PmLiveValues: the options' values
// of the scope's cells, the futures positions listed), for a call's accounts a slice at a time.
struct PassValues {
  riskoffset::PmLiveValues values;
  std::vector<std::int64_t> futures, futures_end;
  PassValues(const std::uint32_t* meta, const double* unit_value, const double* average, double* cells,
             std::size_t n_cells, const SettleScope& scope, std::size_t slice)
      : futures_end(slice) {
    values.meta = meta, values.unit_value = unit_value, values.average = average;
    values.cells = cells, values.n_cells = n_cells;
    values.zeroed = scope.cells.data(), values.n_zeroed = scope.cells.size();
  }
  // Accounts [b, e): room for every one of their positions, their futures_end counted from b.
  riskoffset::PmLiveValues* slice(const std::int64_t* ip, const std::int64_t* ep, std::size_t b, std::size_t e) {
    std::size_t n = 0;
    for (std::size_t a = b; a < e; ++a) n += static_cast<std::size_t>(ep[a] - ip[a]);
    if (futures.size() < n + 1) futures.resize(n + 1);
    values.futures = futures.data(), values.futures_end = futures_end.data(), values.first = b;
    return &values;
  }
};
}  // namespace

py::tuple LiveRefresh::call(const Ints& starts, const Ints& ends, const Ints& indices, const Doubles& quantity_in,
                            const Doubles& average_in, const Ints& rows, bool find_worst, std::int64_t capture_top,
                            bool trusted) {
  const std::size_t top = checked_top(capture_top);
  const Accounts accounts = checked_accounts(starts, ends, indices, quantity_in, average_in, rows, trusted);
  Outcome outcome = refresh_accounts(accounts, find_worst, top);
  return outcome.tuple(outcome.bad, n_figures());
}

py::tuple LiveRefresh::figures(const Ints& rows) const {
  RO_CHECK(rows.ndim() == 1, "rows must be a vector of engine rows");
  const auto n = static_cast<std::size_t>(rows.size());
  const std::int64_t* r = rows.data();
  for (std::size_t a = 0; a < n; ++a)
    RO_CHECK(0 <= r[a] && r[a] < n_total_, "row " + std::to_string(r[a]) + " outside the engine's accounts");
  const auto sz = static_cast<py::ssize_t>(n), k = static_cast<py::ssize_t>(k_);
  py::array_t<double> options({sz, k}), futures({sz, k}), initial({sz, k}), maintenance({sz, k});
  py::array_t<double> margin_balance(sz), initial_usd(sz), maintenance_usd(sz), available(sz), ratio(sz), worst_usd(sz);
  py::array_t<std::int64_t> worst_key(sz), worst_index(sz);
  double *o = options.mutable_data(), *f = futures.mutable_data(), *im = initial.mutable_data();
  double *mm = maintenance.mutable_data(), *mb = margin_balance.mutable_data(), *iu = initial_usd.mutable_data();
  double *mu = maintenance_usd.mutable_data(), *av = available.mutable_data(), *ra = ratio.mutable_data();
  double* wu = worst_usd.mutable_data();
  std::int64_t *wk = worst_key.mutable_data(), *wi = worst_index.mutable_data();
  {
    py::gil_scoped_release release;
    std::vector<double> eq(k_);
    for (std::size_t a = 0; a < n; ++a) {
      const std::size_t at = a * k_, row = static_cast<std::size_t>(r[a]);
      std::int64_t top = -1;
      const riskoffset::SettledAccount s = account_figures(row, o + at, f + at, im + at, mm + at, eq.data(), top);
      mb[a] = s.margin_balance, iu[a] = s.initial_usd, mu[a] = s.maintenance_usd, av[a] = s.available, ra[a] = s.ratio;
      const Worst w = worst_of(row, top);
      wk[a] = w.key, wi[a] = w.index, wu[a] = w.usd;
    }
  }
  return py::make_tuple(options, futures, initial, maintenance, margin_balance, initial_usd, maintenance_usd,
                        available, ratio, worst_key, worst_index, worst_usd);
}

py::tuple LiveRefresh::account_row(std::int64_t row) const {
  RO_CHECK(0 <= row && row < n_total_, "row " + std::to_string(row) + " outside the engine's accounts");
  std::vector<double> values;
  values.reserve(n_figures());
  const Worst w = figures_row(static_cast<std::size_t>(row), values);
  return py::make_tuple(float_list(values), w.key, w.index);
}

py::tuple LiveRefresh::Outcome::captured_arrays(std::size_t n_figures) const {
  std::size_t n = 0, top = 0;
  for (const auto& c : captured) n += c.worst.size() / 2, top = std::max(top, c.top);
  const auto rows = static_cast<py::ssize_t>(n);
  py::array_t<double> figures({rows, static_cast<py::ssize_t>(n_figures)});
  Ints worst({rows, static_cast<py::ssize_t>(2)}), instrument({rows, static_cast<py::ssize_t>(top)});
  py::array_t<double> quantity({rows, static_cast<py::ssize_t>(top)}), pnl({rows, static_cast<py::ssize_t>(top)});
  std::size_t at = 0;
  for (const auto& c : captured) {
    const std::size_t m = c.worst.size() / 2;
    std::copy(c.figures.begin(), c.figures.end(), figures.mutable_data() + at * n_figures);
    std::copy(c.worst.begin(), c.worst.end(), worst.mutable_data() + at * 2);
    std::copy(c.instrument.begin(), c.instrument.end(), instrument.mutable_data() + at * top);
    std::copy(c.quantity.begin(), c.quantity.end(), quantity.mutable_data() + at * top);
    std::copy(c.pnl.begin(), c.pnl.end(), pnl.mutable_data() + at * top);
    at += m;
  }
  return py::make_tuple(figures, worst, instrument, quantity, pnl);
}

py::tuple LiveRefresh::Outcome::tuple(std::int64_t status, std::size_t n_figures) const {
  std::size_t n_moved = 0;
  for (const auto& m : moved) n_moved += m.size();
  Ints moved_out(static_cast<py::ssize_t>(n_moved));
  py::array_t<std::int8_t> before_out(static_cast<py::ssize_t>(n_moved));
  std::size_t at = 0;
  for (std::size_t p = 0; p < moved.size(); ++p) {
    std::copy(moved[p].begin(), moved[p].end(), moved_out.mutable_data() + at);
    std::copy(before[p].begin(), before[p].end(), before_out.mutable_data() + at);
    at += moved[p].size();
  }
  return py::make_tuple(status, moved_out, before_out,  // (None when nothing moved: no event reads it)
                        n_moved == 0 || captured.empty() ? py::object(py::none())
                                                         : py::object(captured_arrays(n_figures)));
}

LiveRefresh::Outcome LiveRefresh::refresh_accounts(const Accounts& acc, bool find_worst, std::size_t capture_top) {
  const std::size_t max_parts = static_cast<std::size_t>(std::max(threads_, 1));
  Outcome o;
  o.moved.resize(max_parts), o.before.resize(max_parts);
  if (capture_top) o.captured.resize(max_parts);
  for (Captured& c : o.captured) c.top = capture_top;
  std::vector<std::int64_t> bad(max_parts, -1);
  std::size_t parts = 1;
  {
    // The first part reads the kept scratch (its dampener rows computed once): most of a small call's cost,
    // an option's vol tick's, when made afresh.
    const KeptScratch kept = kept_scratch();
    py::gil_scoped_release release;  // accounts are split across threads: each writes only its own rows
    const bool rows_aligned = pm_ && acc.n_rows >= kAlignedCopyMinAccounts && copy_rows_aligned();
    parts = riskoffset::parallel_rows(acc.n_rows, threads_, 1024, [&](std::size_t part, std::size_t begin, std::size_t end) {
      bad[part] = refresh_rows(acc.ip, acc.ep, acc.ix, acc.quantity.data(), acc.average.data(), acc.rows, acc.n_rows,
                               begin, end, o.moved[part], o.before[part], rows_aligned, acc.sorted, find_worst,
                               capture_top ? &o.captured[part] : nullptr, part == 0 ? kept.scratch : nullptr);
    });
  }
  o.moved.resize(parts), o.before.resize(parts);
  if (capture_top) o.captured.resize(parts);
  for (std::size_t p = 0; p < parts && o.bad < 0; ++p) o.bad = bad[p];
  return o;
}

std::int64_t LiveRefresh::refresh_rows(const std::int64_t* ip, const std::int64_t* ep, const std::int64_t* ix,
                                       const double* quantity, const double* average, const std::int64_t* r,
                                       std::size_t n_rows, std::size_t begin, std::size_t end,
                                       std::vector<std::int64_t>& moved, std::vector<std::int8_t>& before,
                                       bool rows_aligned, bool rows_sorted, bool find_worst, Captured* capture,
                                       riskoffset::PmScratch* kept) const {
  const SettleScope& scope = settle_scope(rows_sorted);
  if (!pm_ && !grid_.bound()) {
    const std::int64_t bad = settle_rows(ip, ep, ix, quantity, average, r, begin, end, moved, before, scope);
    for (std::size_t m = 0; capture && m < moved.size(); ++m)
      capture_account(ip, ep, ix, quantity, r, static_cast<std::size_t>(moved[m]), *capture);
    return bad;
  }
  if (!pm_) {  // a scenario grid: a slice of accounts at a time, grid then settle (as PM below)
    riskoffset_bindings::BoundGrid::Work work = grid_.work(std::min(kSettleSlice, end - begin));
    const riskoffset_bindings::GridLiveOut out{initial_,           maintenance_, key_worst_pnl_, worst_usd_,
                                               key_worst_index_,   worst_key_,   worst_index_,   price_.data()};
    // The grid pass reads every position of its accounts: where the settle reads a run of them in the same order
    // (a scope without kept cells among its rows), the pass sums their values too, as the PM pass does.
    std::optional<PassValues> pass;
    if (n_cells_ && !scope.mixed)
      pass.emplace(settle_meta_.data(), unit_value_.data(), average, options_part_, n_cells_, scope, kSettleSlice);
    std::int64_t bad_row = -1;
    for (std::size_t b = begin; b < end; b += kSettleSlice) {
      const std::size_t e = std::min(end, b + kSettleSlice);
      const riskoffset::PmLiveValues* values = pass ? pass->slice(ip, ep, b, e) : nullptr;
      grid_.margin_rows(ip, ep, ix, quantity, r, b, e, work, out, values, scope.first_row, scope.stop_row);
      const std::size_t moved_before = moved.size();
      const std::int64_t bad = settle_rows(ip, ep, ix, quantity, average, r, b, e, moved, before, scope, values);
      if (bad_row < 0) bad_row = bad;
      for (std::size_t m = moved_before; capture && m < moved.size(); ++m)
        capture_account(ip, ep, ix, quantity, r, static_cast<std::size_t>(moved[m]), *capture);
    }
    return bad_row;
  }
  riskoffset::PmBook book = book_;
  if (rows_aligned) book.vectors = aligned_rows_, book.vector_stride = kRowStride;
  if (rows_sorted) book.start_row = start_row_, book.stop_row = stop_row_;
  const bool fused = values_fusable_ && &scope == &pm_scope_;
  if (fused)  // (the settle's rows: the bound keys' rows and perhaps rows without a key, which the pass skips)
    book.start_row = scope.first_row, book.stop_row = std::min<std::int64_t>(scope.stop_row, static_cast<std::int64_t>(n_instr_));
  book.indptr = ip, book.ends = ep, book.indices = ix, book.quantity = quantity, book.n_accounts = n_rows;
  std::optional<riskoffset::PmScratchBuffers> buffers;
  riskoffset::PmScratch own;
  riskoffset::PmScratch& scratch = kept ? *kept : (own = buffers.emplace(n_keys_, shape_.width(), book.n_columns).view());
  riskoffset::PmLiveKeys live = live_;
  live.rows = r;
  live.find_worst = find_worst;
  const auto& pm_live = riskoffset::active_kernels().pm_live;
  // A slice of accounts at a time, PM then settle: settle reads the slice's positions again while they are
  // still in cache (a whole update's positions are far larger than the caches).
  std::int64_t bad_row = -1;
  riskoffset::PmLiveKeys searched = live;
  searched.find_worst = true;
  searched.values = nullptr;  // (its sums were taken by the pass: a search only recomputes the margin)
  // Where the pass reads the positions the settle would (values_fusable_), it sums their values too.
  std::optional<PassValues> pass;
  if (fused) pass.emplace(settle_meta_.data(), unit_value_.data(), average, options_part_, n_cells_, scope, kSettleSlice);
  for (std::size_t b = begin; b < end; b += kSettleSlice) {
    const std::size_t e = std::min(end, b + kSettleSlice);
    live.values = pass ? pass->slice(ip, ep, b, e) : nullptr;
    pm_live(book, shape_, live, scratch, b, e);
    scratch.dampener_ready = true;  // (a kept scratch keeps them for the next call: they depend on the keys only)
    const std::size_t moved_before = moved.size();
    const std::int64_t bad = settle_rows(ip, ep, ix, quantity, average, r, b, e, moved, before, scope, live.values);
    if (bad_row < 0) bad_row = bad;
    // An account whose level changed gets an event that shows its worst scenario: found now, on these keys
    // (the same sums and steps again, with the search), while its positions are in cache.
    if (!find_worst)
      for (std::size_t m = moved_before; m < moved.size(); ++m) {
        const auto a = static_cast<std::size_t>(moved[m]);
        pm_live(book, shape_, searched, scratch, a, a + 1);
      }
    for (std::size_t m = moved_before; capture && m < moved.size(); ++m)
      capture_account(ip, ep, ix, quantity, r, static_cast<std::size_t>(moved[m]), *capture);
  }
  return bad_row;
}

void LiveRefresh::capture_account(const std::int64_t* ip, const std::int64_t* ep, const std::int64_t* ix,
                                  const double* quantity, const std::int64_t* r, std::size_t a, Captured& out) const {
  const auto row = static_cast<std::size_t>(r[a]);
  const Worst w = figures_row(row, out.figures);
  const std::int64_t key = w.key, index = w.index;
  out.worst.push_back(key), out.worst.push_back(index);
  const std::size_t at = out.instrument.size(), top = out.top;
  out.instrument.resize(at + top, -1), out.quantity.resize(at + top, 0.0), out.pnl.resize(at + top, 0.0);
  if (key < 0) return;
  if (grid_.bound()) {  // (the grid's worst scenario is always searched; its groups are keyed by settle_col)
    riskoffset::account_contributors(ix, quantity, ip[a], ep[a], settle_col_.data(), n_instr_, grid_.pnl(),
                                     grid_.n_scenarios(), key, static_cast<std::size_t>(index),
                                     price_.data()[static_cast<std::size_t>(key)], top, out.instrument.data() + at,
                                     out.quantity.data() + at, out.pnl.data() + at);
    return;
  }
  const auto k = static_cast<std::size_t>(key);
  const bool searched = key_on_.data()[k] || !worst_stale_[row * n_keys_ + k];
  if (!searched || index < 0) {
    out.instrument[at] = kNotCaptured;
    return;
  }
  // (the positions were checked against the table by the call)
  riskoffset::account_contributors(ix, quantity, ip[a], ep[a], instrument_key_.data(), n_instr_, vectors_.data(),
                                   shape_.width(), key, static_cast<std::size_t>(index), key_rate_.data()[k], top,
                                   out.instrument.data() + at, out.quantity.data() + at, out.pnl.data() + at);
}

bool LiveRefresh::copy_rows_aligned() {
  const std::size_t width = shape_.width();
  if (width > kRowStride) return false;
  if (aligned_store_.empty()) {
    aligned_store_.assign(n_instr_ * kRowStride + 8, 0.0);
    const auto at = reinterpret_cast<std::uintptr_t>(aligned_store_.data());
    aligned_rows_ = aligned_store_.data() + ((64 - at % 64) % 64) / sizeof(double);
  }
  const double* v = vectors_.data();
  for (std::size_t i = 0; i < n_instr_; ++i)
    if (key_filtered_[i] >= 0) std::copy(v + i * width, v + (i + 1) * width, aligned_rows_ + i * kRowStride);
  return true;
}

inline std::int64_t LiveRefresh::settle_rows(const std::int64_t* ip, const std::int64_t* ep, const std::int64_t* ix,
                                             const double* quantity, const double* average, const std::int64_t* r,
                                             std::size_t begin, std::size_t end, std::vector<std::int64_t>& moved,
                                             std::vector<std::int8_t>& before, const SettleScope& scope,
                                             const riskoffset::PmLiveValues* summed) const {
  return standard_.bound()
             ? settle_rows_k<true>(ip, ep, ix, quantity, average, r, begin, end, moved, before, scope, summed)
             : settle_rows_k<false>(ip, ep, ix, quantity, average, r, begin, end, moved, before, scope, summed);
}

template <bool kStandard>
inline std::int64_t LiveRefresh::settle_rows_k(const std::int64_t* ip, const std::int64_t* ep, const std::int64_t* ix,
                                               const double* quantity, const double* average, const std::int64_t* r,
                                               std::size_t begin, std::size_t end, std::vector<std::int64_t>& moved,
                                               std::vector<std::int8_t>& before, const SettleScope& scope,
                                               const riskoffset::PmLiveValues* summed) const {
  switch (k_) {
    case 3: return settle_rows_of<3, kStandard>(ip, ep, ix, quantity, average, r, begin, end, moved, before, scope, summed);
    case 4: return settle_rows_of<4, kStandard>(ip, ep, ix, quantity, average, r, begin, end, moved, before, scope, summed);
    default: return settle_rows_of<0, kStandard>(ip, ep, ix, quantity, average, r, begin, end, moved, before, scope, summed);
  }
}

template <std::size_t kK, bool kStandard>
std::int64_t LiveRefresh::settle_rows_of(const std::int64_t* ip, const std::int64_t* ep, const std::int64_t* ix,
                                         const double* quantity, const double* average, const std::int64_t* r,
                                         std::size_t begin, std::size_t end, std::vector<std::int64_t>& moved,
                                         std::vector<std::int8_t>& before, const SettleScope& scope,
                                         const riskoffset::PmLiveValues* summed) const {
  std::int64_t bad_row = -1;
  const std::size_t k = kK ? kK : k_;
  const double* bal = balance_.data();
  std::vector<double> eq_store(kK ? 0 : 5 * k);
  double eq_fixed[kK ? 5 * kK : 1];
  double* eq = kK ? eq_fixed : eq_store.data();
  double* key_im = eq + k;  // (an account's PM margin per currency, summed from its keys)
  double* key_mm = eq + 2 * k;
  double* cell_opt = eq + 3 * k;  // (with settle cells: its options value and futures P&L per currency)
  double* cell_fut = eq + 4 * k;
  // The instrument columns as plain pointers: read through the arrays' objects, every load would be redone
  // after each store (the compiler cannot prove they do not alias the outputs).
  const std::uint32_t* meta = settle_meta_.data();
  const double* unit_value = unit_value_.data();
  const double* mark = mark_.data();
  constexpr bool standard = kStandard;
  const riskoffset::StandardUnits& units = standard_.units();
  const std::int64_t* standard_col = standard ? standard_col_.data() : nullptr;
  // The sums' cells: the currencies, or the engine's (underlying, currency) cells (SettleScope).
  const std::size_t n_cells = n_cells_ ? n_cells_ : k;
  const std::uint32_t* resummed = scope.cells.data();
  const std::size_t n_resummed = scope.cells.size();
  const std::uint8_t* on = scope.on.data();
  const bool mixed = scope.mixed;
  const std::int64_t first_row = scope.first_row, stop_row = scope.stop_row;
  for (std::size_t a = begin; a < end; ++a) {
    const auto row = static_cast<std::size_t>(r[a]);
    if (!summed && a + 2 < end) riskoffset::prefetch_positions(ix, quantity, ip[a + 2], ep[a + 2]);  // (as the passes)
    // (without settle cells, the cells are the currencies)
    double* opt_cell = n_cells_ ? options_part_ + row * n_cells : options_ + row * k;
    double* fut_cell = n_cells_ ? futures_part_ + row * n_cells : futures_ + row * k;
    if (summed)  // (its options' cells are summed already)
      for (std::size_t j = 0; j < n_resummed; ++j) fut_cell[resummed[j]] = 0.0;
    else if (n_cells_)
      for (std::size_t j = 0; j < n_resummed; ++j) opt_cell[resummed[j]] = 0.0, fut_cell[resummed[j]] = 0.0;
    else
      for (std::size_t c = 0; c < k; ++c) opt_cell[c] = 0.0, fut_cell[c] = 0.0;
    double* std_im = standard ? initial_ + row * k : nullptr;
    double* std_mm = standard ? maintenance_ + row * k : nullptr;
    // With settle cells, standard margin is summed per cell as the values are (in runs of one cell), and its
    // currencies' columns are the cells' sums; without, per currency in position order.
    const bool std_cells = standard && n_cells_;
    double* im_cell = std_cells ? initial_part_ + row * n_cells : nullptr;
    double* mm_cell = std_cells ? maintenance_part_ + row * n_cells : nullptr;
    if (std_cells)
      for (std::size_t j = 0; j < n_resummed; ++j) im_cell[resummed[j]] = 0.0, mm_cell[resummed[j]] = 0.0;
    else if (standard)
      for (std::size_t c = 0; c < k; ++c) std_im[c] = 0.0, std_mm[c] = 0.0;
    double im_run = 0.0, mm_run = 0.0;  // (std_cells) the run's margins, added to its cell with its value
    bool finite = true;
    // The options' values of one currency summed in a scalar, added to its cell when the currency changes:
    // positions are ordered by instrument row, and neighbouring rows mostly share their settlement currency,
    // so a cell is written a few times per account (summed in the cells, each position's load waited on the
    // store before it: the loop ran 17 % slower).
    std::size_t value_col = 0;
    double value = 0.0;
    // Only the positions of the scope's rows, when it has some (`settle_scope`).
    const std::int64_t stop = ep[a];
    // A futures position's P&L against its average price (a finite positive one) at the mark.
    const auto value_future = [&](std::int64_t p, std::size_t i, std::uint32_t m, double q) {
      const double avg = average[p];
      finite = finite && std::isfinite(avg) && avg > 0.0;
      fut_cell[m & kColumnBits] += riskoffset::futures_pnl(q, avg, mark[i], (m & kInverseBit) != 0);
    };
    // (the loop twice, with and without the check of each position's cell: a test per position otherwise)
    const auto sum_positions = [&](auto mixed_rows) {
      const std::int64_t first = first_row > 0 ? riskoffset::first_at_or_past(ix, ip[a], stop, first_row) : ip[a];
      for (std::int64_t p = first; p < stop; ++p) {
        // The positions' columns are read once per update, from memory: requested a few cache lines ahead (an
        // address only, never read: it may lie past the pool's end).  Standard margin's BTC tick -0.4 ms.
        for (const void* column : {static_cast<const void*>(ix + p), static_cast<const void*>(quantity + p),
                                   static_cast<const void*>(average + p)})
          __builtin_prefetch(reinterpret_cast<const void*>(reinterpret_cast<std::uintptr_t>(column) + 512));
        const auto i = static_cast<std::size_t>(ix[p]);
        if (static_cast<std::int64_t>(i) >= stop_row) break;
        const std::uint32_t m = meta[i];
        const auto c = static_cast<std::size_t>(m & kColumnBits);
        if (c != value_col) {
          opt_cell[value_col] += value;
          if (std_cells) im_cell[value_col] += im_run, mm_cell[value_col] += mm_run, im_run = mm_run = 0.0;
          value_col = c, value = 0.0;
        }
        // (a position of a kept cell ends the run before it, as on a full pass: the same sums, bit for bit)
        if (decltype(mixed_rows)::value && !on[c]) continue;
        const double q = quantity[p];
        value += q * unit_value[i];
        if (m & kFutureBit) value_future(p, i, m, q);
        if (standard) {  // (without cells, summed per currency in position order, as ro.margin's groups sum them)
          const riskoffset::PositionMargin margin = riskoffset::standard_position_margin(units, i, q);
          if (std_cells) {
            im_run += margin.initial, mm_run += margin.maintenance;
          } else {
            const auto sc = static_cast<std::size_t>(standard_col[i]);
            std_im[sc] += margin.initial, std_mm[sc] += margin.maintenance;
          }
        }
      }
    };
    if (summed) {  // the PM pass's futures positions of this account
      const std::int64_t* listed = summed->futures;
      const std::size_t at = a - summed->first;
      for (std::int64_t f = at ? summed->futures_end[at - 1] : 0; f < summed->futures_end[at]; ++f) {
        const auto i = static_cast<std::size_t>(ix[listed[f]]);
        value_future(listed[f], i, meta[i], quantity[listed[f]]);
      }
    } else {
      if (mixed)
        sum_positions(std::true_type{});
      else
        sum_positions(std::false_type{});
      if (n_cells) opt_cell[value_col] += value;
      if (std_cells) im_cell[value_col] += im_run, mm_cell[value_col] += mm_run;
    }
    const double* opt = opt_cell;
    const double* fut = fut_cell;
    if (n_cells_) cell_sums(opt_cell, fut_cell, cell_opt, cell_fut), opt = cell_opt, fut = cell_fut;
    if (std_cells) cell_sums(im_cell, mm_cell, std_im, std_mm);
    const double* im = key_im;
    const double* mm = key_mm;
    if (pm_) {  // margin per currency from the account's keys
      pm_margins<kK>(row, k, key_im, key_mm);
    } else {
      im = initial_ + row * k, mm = maintenance_ + row * k;
    }
    for (std::size_t c = 0; c < k; ++c) {
      eq[c] = bal[row * k + c] + opt[c] + fut[c];
      finite = finite && std::isfinite(eq[c]) && std::isfinite(im[c]) && std::isfinite(mm[c]);
    }
    const riskoffset::SettledAccount s = riskoffset::settle_account(eq, im, mm, price_.data(), cip_, cmp_, k);
    // (the USD sums too: finite amounts at a huge price can overflow them; the ratio may be infinite)
    finite = finite && std::isfinite(s.margin_balance) && std::isfinite(s.initial_usd) &&
             std::isfinite(s.maintenance_usd) && std::isfinite(s.available);
    if (!finite && bad_row < 0) bad_row = static_cast<std::int64_t>(row);
    const std::int8_t now = s.below_maintenance ? 2 : (s.below_initial ? 1 : 0);
    if (now != level_[row]) moved.push_back(static_cast<std::int64_t>(a)), before.push_back(level_[row]);
    level_[row] = now;
  }
  return bad_row;
}

inline riskoffset::SettledAccount LiveRefresh::account_figures(std::size_t row, double* opt, double* fut, double* im,
                                                               double* mm, double* eq, std::int64_t& top) const {
  if (n_cells_) {
    cell_sums(options_part_ + row * n_cells_, futures_part_ + row * n_cells_, opt, fut);
  } else {
    std::copy(options_ + row * k_, options_ + row * k_ + k_, opt);
    std::copy(futures_ + row * k_, futures_ + row * k_ + k_, fut);
  }
  if (pm_) {
    top = pm_margins<0>(row, k_, im, mm);
  } else {
    std::copy(initial_ + row * k_, initial_ + row * k_ + k_, im);
    std::copy(maintenance_ + row * k_, maintenance_ + row * k_ + k_, mm);
  }
  const double* bal = balance_.data() + row * k_;
  for (std::size_t c = 0; c < k_; ++c) eq[c] = bal[c] + opt[c] + fut[c];  // (as the settle sums it)
  return riskoffset::settle_account(eq, im, mm, price_.data(), cip_, cmp_, k_);
}

LiveRefresh::Worst LiveRefresh::worst_of(std::size_t row, std::int64_t top) const {
  if (pm_) {
    if (top < 0) return {};
    const std::size_t cell = row * n_keys_ + static_cast<std::size_t>(top);
    return {top, key_worst_index_[cell], key_worst_pnl_[cell] * key_rate_[static_cast<std::size_t>(top)]};
  }
  if (grid_.bound()) return {worst_key_[row], worst_index_[row], worst_usd_[row]};
  return {};
}

LiveRefresh::Worst LiveRefresh::figures_row(std::size_t row, std::vector<double>& out) const {
  const double* bal = balance_.data() + row * k_;
  std::vector<double> parts(5 * k_);  // options, futures, IM, MM and equity per currency, as the settle has them
  double *opt = parts.data(), *fut = opt + k_, *im = fut + k_, *mm = im + k_, *eq = mm + k_;
  std::int64_t largest = -1;
  const riskoffset::SettledAccount s = account_figures(row, opt, fut, im, mm, eq, largest);
  const Worst w = worst_of(row, largest);
  for (const double v : {s.margin_balance, s.initial_usd, s.maintenance_usd, s.available, s.ratio, w.usd})
    out.push_back(v);
  for (std::size_t c = 0; c < k_; ++c) {
    out.push_back(bal[c]);
    out.push_back(eq[c]);
    out.push_back(im[c]);
    out.push_back(mm[c]);
  }
  return w;
}

inline void LiveRefresh::cell_sums(const double* opt_cell, const double* fut_cell, double* opt, double* fut) const {
  const std::uint32_t* sums = currency_cells_.data();
  const std::size_t n_sums = currency_cells_.size();
  for (std::size_t j = 0; j < n_sums;) {
    const std::size_t col = sums[j], n = sums[j + 1];
    const std::uint32_t* mine = sums + j + 2;
    j += 2 + n;
    double o = 0.0, f = 0.0;
    for (std::size_t e = 0; e < n; ++e) o += opt_cell[mine[e]], f += fut_cell[mine[e]];
    opt[col] = o, fut[col] = f;
  }
}

template <std::size_t kK>
inline std::int64_t LiveRefresh::pm_margins(std::size_t row, std::size_t k_in, double* im, double* mm) const {
  const std::size_t k = kK ? kK : k_in;
  const std::int64_t* key_cur = key_cur_.data();
  const double* key_rate = key_rate_.data();
  // Summed in registers, every currency's sum taking each key (+ 0.0 from another currency's key: the same
  // bits, a sum from +0.0 is never -0.0), the largest kept with selects: the keys' currencies and sizes
  // vary from account to account, so indexed sums in memory waited on their stores and branches mispredicted.
  const double* ki = key_initial_ + row * n_keys_;
  const double* km = key_maintenance_ + row * n_keys_;
  for (std::size_t c = 0; c < k; ++c) im[c] = 0.0, mm[c] = 0.0;
  double top_usd = 0.0;  // (a NaN or non-positive IM is never the largest)
  std::int64_t top = -1;
  for (std::size_t q = 0; q < n_keys_; ++q) {
    const std::int64_t mine = key_cur[q];
    const double i_q = ki[q], m_q = km[q];
    for (std::size_t c = 0; c < k; ++c) {
      const bool hit = mine == static_cast<std::int64_t>(c);
      im[c] += hit ? i_q : 0.0, mm[c] += hit ? m_q : 0.0;
    }
    const double usd = i_q * key_rate[q];
    const bool larger = usd > top_usd;
    top_usd = larger ? usd : top_usd, top = larger ? static_cast<std::int64_t>(q) : top;
  }
  return top;
}

}  // namespace riskoffset_bindings
