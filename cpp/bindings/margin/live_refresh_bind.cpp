// LiveRefresh (live_refresh.hpp) bound to the engine's arrays: its construction, each margin method's inputs
// (PM, settle cells, SPAN), the market's part replaced in place, and the checks of a call's accounts.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "live_refresh.hpp"
#include "riskoffset/dispatch.hpp"
#include "riskoffset/parallel.hpp"

namespace py = pybind11;

std::vector<riskoffset::PmKey> pm_keys_of(const riskoffset_bindings::DoubleArray& keys);  // register_margin.cpp

namespace riskoffset_bindings {
namespace {

// One of the engine's arrays in `d`, bound as it is (riskoffset_bindings::exact_array).
template <typename T>
py::array_t<T> live_array(const py::dict& d, const char* name, bool writeable = false) {
  RO_CHECK(d.contains(name), std::string("no array '") + name + "'");
  return riskoffset_bindings::exact_array<T>(d[name], name, writeable);
}

// One of the engine's per-account arrays, written in place: `size` elements.
template <typename T>
T* state_array(const py::dict& state, const char* name, py::ssize_t size) {
  auto a = live_array<T>(state, name, true);
  RO_CHECK(a.size() == size, std::string(name) + " has " + std::to_string(a.size()) + " elements, expected " +
                                 std::to_string(size));
  return a.mutable_data();
}

template <typename A>
void same_length(const A& a, std::size_t n, const char* name) {
  RO_CHECK(a.ndim() == 1 && static_cast<std::size_t>(a.size()) == n,
           std::string(name) + " needs one entry per instrument");
}

}  // namespace

LiveRefresh::LiveRefresh(const py::dict& instruments, const std::optional<py::dict>& pm, const py::dict& state,
                         const Doubles& price_in, const std::optional<Doubles>& cut_im_in,
                         const std::optional<Doubles>& cut_mm_in, int threads, const std::optional<Bytes>& grid_keys,
                         const std::optional<Bytes>& segments)
    : keep_{instruments, state}, threads_(threads) {
  RO_CHECK(threads >= 1, "threads must be >= 1");
  unit_value_ = live_array<double>(instruments, "unit_value");
  mark_ = live_array<double>(instruments, "mark");
  is_future_ = live_array<std::uint8_t>(instruments, "is_future"), inverse_ = live_array<std::uint8_t>(instruments, "inverse");
  is_option_ = live_array<std::uint8_t>(instruments, "is_option");
  settle_col_ = live_array<std::int64_t>(instruments, "settle_col");
  n_instr_ = static_cast<std::size_t>(unit_value_.size());
  same_length(mark_, n_instr_, "mark"), same_length(is_future_, n_instr_, "is_future");
  same_length(inverse_, n_instr_, "inverse"), same_length(settle_col_, n_instr_, "settle_col");
  same_length(is_option_, n_instr_, "is_option");
  price_ = checked_prices(price_in);
  k_ = price_.size();
  RO_CHECK(k_ < kFutureBit, "too many currencies");
  for (std::size_t i = 0; i < n_instr_; ++i)
    RO_CHECK(settle_col_.data()[i] >= 0 && static_cast<std::size_t>(settle_col_.data()[i]) < k_,
             "settle_col of instrument row " + std::to_string(i));
  RO_CHECK(cut_im_in.has_value() == cut_mm_in.has_value(), "give both haircuts (cross collateral) or neither");
  if (cut_im_in) {
    cut_im_ = riskoffset_bindings::aligned(*cut_im_in), cut_mm_ = riskoffset_bindings::aligned(*cut_mm_in);
    RO_CHECK(static_cast<std::size_t>(cut_im_.size()) == k_ && static_cast<std::size_t>(cut_mm_.size()) == k_,
             "haircuts need one entry per currency");
    cip_ = cut_im_.data(), cmp_ = cut_mm_.data();
  }
  balance_ = live_array<double>(state, "balance", true);
  RO_CHECK(balance_.ndim() == 2 && static_cast<std::size_t>(balance_.shape(1)) == k_, "balance must be rows x currencies");
  n_total_ = static_cast<py::ssize_t>(balance_.shape(0));
  const auto nk = n_total_ * static_cast<py::ssize_t>(k_);
  // Under PM the margin per currency is its keys' sum (pm_margins): the engine keeps no column of it.
  const py::ssize_t margins = pm ? 0 : nk;
  initial_ = state_array<double>(state, "initial", margins), maintenance_ = state_array<double>(state, "maintenance", margins);
  if (pm) initial_ = maintenance_ = nullptr;
  // Under PM an account's largest group, its worst scenario and worst P&L follow from its groups' figures
  // (worst_of): the engine keeps no column of them.
  const py::ssize_t worst = pm ? 0 : n_total_;
  worst_usd_ = state_array<double>(state, "worst_usd", worst);
  worst_key_ = state_array<std::int64_t>(state, "worst_key", worst);
  worst_index_ = state_array<std::int64_t>(state, "worst_index", worst);
  if (pm) worst_usd_ = nullptr, worst_key_ = worst_index_ = nullptr;
  level_ = state_array<std::int8_t>(state, "level", n_total_);
  bind_settle_cells(instruments, state);
  // With settle cells a currency's options value and futures P&L are its cells' sums (cell_sums): the
  // engine keeps no column of them.
  const py::ssize_t sums = n_cells_ ? 0 : nk;
  options_ = state_array<double>(state, "options", sums), futures_ = state_array<double>(state, "futures", sums);
  if (n_cells_) options_ = futures_ = nullptr;
  settle_meta_.resize(n_instr_);
  for (std::size_t i = 0; i < n_instr_; ++i) {
    const std::int64_t cell = n_cells_ ? settle_cell_.data()[i] : settle_col_.data()[i];
    settle_meta_[i] = static_cast<std::uint32_t>(cell) | (is_future_.data()[i] ? kFutureBit : 0U) |
                      (inverse_.data()[i] ? kInverseBit : 0U);
  }
  if (pm) bind_pm(*pm, state);
  if (instruments.contains("standard")) {  // Deribit standard margin, computed per position in the settle
    RO_CHECK(!pm, "a refresh computes portfolio margin or standard margin, not both");
    standard_ = riskoffset_bindings::BoundStandardUnits(instruments["standard"].cast<py::dict>(), n_instr_);
    standard_col_ = live_array<std::int64_t>(instruments, "standard_col");
    same_length(standard_col_, n_instr_, "standard_col");
    for (std::size_t i = 0; i < n_instr_; ++i)
      RO_CHECK(standard_col_.data()[i] >= 0 && static_cast<std::size_t>(standard_col_.data()[i]) < k_,
               "standard_col of instrument row " + std::to_string(i));
    if (n_cells_) {  // each position's margin summed in its settle cell, as its value: the cell's currency
      for (std::size_t i = 0; i < n_instr_; ++i)
        RO_CHECK(standard_col_.data()[i] == settle_col_.data()[i],
                 "standard_col of instrument row " + std::to_string(i) + ": with settle cells, its settlement currency");
      const auto size = n_total_ * static_cast<py::ssize_t>(n_cells_);
      initial_part_ = state_array<double>(state, "initial_part", size);
      maintenance_part_ = state_array<double>(state, "maintenance_part", size);
    }
  }
  RO_CHECK(!segments || (!pm && n_cells_), "segments without settle cells, or under PM (its keys give them)");
  if (segments) {
    RO_CHECK(segments->ndim() == 1 && static_cast<std::size_t>(segments->size()) == n_segments_,
             "segments needs one entry per segment of the settle cells");
    segment_scope_ = scope_of(std::vector<std::uint8_t>(segments->data(), segments->data() + n_segments_));
    segment_scoped_ = true;
  }
  RO_CHECK(!grid_keys || instruments.contains("grid"), "grid_keys without a grid");
  if (instruments.contains("grid")) {  // a scenario grid, summed per (account, settlement currency) group
    RO_CHECK(!pm && !standard_.bound(), "a refresh computes one margin method");
    if (grid_keys) RO_CHECK(grid_keys->ndim() == 1 && static_cast<std::size_t>(grid_keys->size()) == k_,
                            "grid_keys needs one entry per currency");
    grid_ = riskoffset_bindings::BoundGrid(instruments["grid"].cast<py::dict>(), settle_col_.data(), n_instr_, k_,
                                           grid_keys ? grid_keys->data() : nullptr);
    // (the per-group worst scenarios, in the engine's per-key arrays: a grid's keys are its currency columns)
    key_worst_index_ = state_array<std::int64_t>(state, "key_worst_index", nk);
    key_worst_pnl_ = state_array<double>(state, "key_worst_pnl", nk);
  }
  // Or the margin is given: the engine writes it into the accounts' margin columns (SPAN, from the clearing
  // house's risk arrays), and the refresh settles the equity against it.
  const bool given = instruments.contains("given_margin") && instruments["given_margin"].cast<bool>();
  RO_CHECK(!given || !(pm || standard_.bound() || grid_.bound()), "a refresh computes one margin method");
  RO_CHECK(pm_ || standard_.bound() || grid_.bound() || given,
           "a refresh computes a margin method: give the PM arrays, a 'standard' or 'grid' entry, or 'given_margin'");
  if (instruments.contains("span")) bind_span(instruments["span"].cast<py::dict>(), given);
}

void LiveRefresh::update_market(const Doubles& price_in, const std::optional<py::dict>& pm) {
  RO_CHECK(pm.has_value() == pm_, pm_ ? "the refresh is bound to PM inputs: give them" : "the refresh has no PM inputs");
  const std::vector<double> price = checked_prices(price_in);
  RO_CHECK(price.size() == k_, "the prices need one entry per bound currency");
  std::vector<riskoffset::PmKey> keys;
  std::vector<double> rate;
  Coins coins;
  if (pm_) {
    const py::dict& d = *pm;
    keys = pm_keys_of(riskoffset_bindings::aligned(d["keys"].cast<Doubles>()));
    RO_CHECK(keys.size() == n_keys_, "keys: one row per bound key");
    rate = checked_key_rate(d);
    RO_CHECK(d["coin_moves"].is_none() == !book_.coin_moves, "coin_moves: given if and only if bound");
    if (book_.coin_moves) coins = checked_coins(d);
  }
  std::copy(price.begin(), price.end(), price_.begin());
  if (!pm_) return;
  std::copy(keys.begin(), keys.end(), keys_.begin());
  std::copy(rate.begin(), rate.end(), key_rate_.begin());
  if (book_.coin_moves) {
    std::copy(coins.moves.begin(), coins.moves.end(), coins_.moves.begin());
    std::copy(coins.col.begin(), coins.col.end(), coins_.col.begin());
    std::copy(coins.gain_cap.begin(), coins.gain_cap.end(), coins_.gain_cap.begin());
  }
  const std::lock_guard<std::mutex> hold(one_mutex_);
  one_scratch_.dampener_ready = false;  // (they follow the keys' index)
}

LiveRefresh::Accounts LiveRefresh::checked_accounts(const Ints& starts, const Ints& ends, const Ints& indices,
                                                    const Doubles& quantity_in, const Doubles& average_in,
                                                    const Ints& rows, bool trusted) const {
  Accounts acc{starts.data(), ends.data(), rows.data(), indices.data(), riskoffset_bindings::aligned(quantity_in),
               riskoffset_bindings::aligned(average_in), static_cast<std::size_t>(rows.size()), true};
  const std::size_t n_rows = acc.n_rows;
  RO_CHECK(starts.ndim() == 1 && ends.ndim() == 1 && static_cast<std::size_t>(starts.size()) == n_rows &&
               static_cast<std::size_t>(ends.size()) == n_rows,
           "starts, ends and rows need one entry per account");
  const auto n_pool = static_cast<std::int64_t>(indices.size());
  RO_CHECK(acc.quantity.size() == n_pool && acc.average.size() == n_pool,
           "indices, quantity and average differ in length");
  const std::int64_t *ip = acc.ip, *ep = acc.ep, *r = acc.rows, *ix = acc.ix;
  // A trusted pool's segments are not read again (the check read every position of the book: 2 ms of a BTC
  // tick at 100,000 accounts), but only while no one can have written its arrays in place: read-only, as the
  // engine keeps them.  The rows, given per call, are checked.
  if (trusted && !starts.writeable() && !ends.writeable() && !indices.writeable()) {
    bool outside = false;
    for (std::size_t a = 0; a < n_rows; ++a) outside |= static_cast<std::uint64_t>(r[a]) >= static_cast<std::uint64_t>(n_total_);
    RO_CHECK(!outside, "rows outside the engine's accounts");
    return acc;
  }
  // Split across the refresh's threads like the refresh itself (the first failure in account order is the
  // one raised): a bulk update's check reads every position once.
  if (threads_ <= 1 || n_rows < 2 * kCheckMinAccounts) {
    acc.sorted = check_rows(ip, ep, r, ix, n_pool, 0, n_rows);
    return acc;
  }
  std::vector<std::uint8_t> part_sorted(static_cast<std::size_t>(threads_), 1);
  {
    py::gil_scoped_release release;
    riskoffset::parallel_rows(n_rows, threads_, kCheckMinAccounts, [&](std::size_t part, std::size_t begin,
                                                                         std::size_t end) {
      part_sorted[part] = check_rows(ip, ep, r, ix, n_pool, begin, end);
    });
  }
  for (const std::uint8_t sorted : part_sorted) acc.sorted = acc.sorted && sorted;
  return acc;
}

bool LiveRefresh::check_rows(const std::int64_t* ip, const std::int64_t* ep, const std::int64_t* r,
                             const std::int64_t* ix, std::int64_t n_pool, std::size_t begin, std::size_t end) const {
  // The usual case in one pass (accounts_in_order).  Else no early exit: the loops vectorise; a message is
  // built only on failure.  First the segments (the order check reads them), then the rows: sorted positions
  // (as the engine keeps them) lie between the first's row and the last's; the others are checked one by
  // one.  The first bad position in account order is named.
  if (riskoffset::active_kernels().accounts_in_order(ip, ep, r, ix, n_pool, n_total_, n_instr_, begin, end))
    return true;
  bool ends_outside = false;
  for (std::size_t a = begin; a < end; ++a) {
    RO_CHECK(r[a] >= 0 && r[a] < n_total_, "rows outside the engine's accounts");
    RO_CHECK(0 <= ip[a] && ip[a] <= ep[a] && ep[a] <= n_pool, "account " + std::to_string(a) + ": positions outside the pool");
    ends_outside |= ends_outside_table(ix, ip[a], ep[a]);
  }
  const std::size_t unsorted = riskoffset::active_kernels().first_unsorted(ip, ep, ix, begin, end);
  for (std::size_t a = ends_outside ? begin : unsorted; a < end; ++a) {  // (the usual case: none)
    bool down = false;
    for (std::int64_t p = ip[a] + 1; a >= unsorted && p < ep[a]; ++p) down |= ix[p] < ix[p - 1];
    if (down || ends_outside_table(ix, ip[a], ep[a]))
      for (std::int64_t p = ip[a]; p < ep[a]; ++p)
        RO_CHECK(ix[p] >= 0 && static_cast<std::size_t>(ix[p]) < n_instr_,
                 "position " + std::to_string(p) + " names an instrument row outside the table");
  }
  return unsorted == end;
}

void LiveRefresh::bind_span(const py::dict& span, bool given) {
  RO_CHECK(given, "a 'span' entry settles a given margin: give 'given_margin' too");
  span_ = &span["account"].cast<riskoffset_bindings::SpanAccount&>();
  span_contract_ = live_array<std::int64_t>(span, "contract");
  span_per_unit_ = live_array<double>(span, "per_unit");
  span_col_ = live_array<std::int64_t>(span, "column");
  same_length(span_contract_, n_instr_, "span contract"), same_length(span_per_unit_, n_instr_, "span per_unit");
  for (std::size_t i = 0; i < n_instr_; ++i)
    RO_CHECK(span_contract_.data()[i] >= -1 && span_contract_.data()[i] < span_->n_rows(),
             "span contract of instrument row " + std::to_string(i) + " is outside the file");
  RO_CHECK(span_col_.ndim() == 1 && span_col_.size() == span_->n_currencies(),
           "span column needs one entry per currency of the SPAN account");
  for (py::ssize_t c = 0; c < span_col_.size(); ++c)
    RO_CHECK(span_col_.data()[c] >= -1 && span_col_.data()[c] < static_cast<std::int64_t>(k_),
             "span column " + std::to_string(c) + " is outside the engine's currencies");
}

void LiveRefresh::bind_pm(const py::dict& d, const py::dict& state) {
  pm_ = true;
  keep_.push_back(d);
  instrument_key_ = live_array<std::int64_t>(d, "instrument_key");
  vectors_ = live_array<double>(d, "vectors");
  delta_ = live_array<double>(d, "delta");
  column_ = live_array<std::int64_t>(d, "column");
  t_column_ = live_array<double>(d, "t_column");
  extended_ = live_array<double>(d, "extended_moves");
  keys_ = pm_keys_of(riskoffset_bindings::aligned(d["keys"].cast<Doubles>()));
  n_keys_ = keys_.size();
  key_on_ = live_array<std::uint8_t>(d, "key_on");
  key_cur_ = live_array<std::int64_t>(d, "key_currency");
  key_rate_ = checked_key_rate(d);
  shape_.n_standard = d["n_standard"].cast<std::size_t>();
  shape_.n_extended = static_cast<std::size_t>(extended_.size());
  shape_.extended_moves = extended_.data();
  shape_.mm_factor = d["mm_factor"].cast<double>();
  RO_CHECK(std::isfinite(shape_.mm_factor) && shape_.mm_factor >= 0, "mm_factor must be finite and >= 0");
  const std::size_t width = shape_.width();
  RO_CHECK(vectors_.ndim() == 2 && static_cast<std::size_t>(vectors_.shape(0)) == n_instr_ &&
               static_cast<std::size_t>(vectors_.shape(1)) == width,
           "vectors must be (instruments, n_standard + n_extended)");
  same_length(instrument_key_, n_instr_, "instrument_key"), same_length(delta_, n_instr_, "delta");
  same_length(column_, n_instr_, "column");
  RO_CHECK(static_cast<std::size_t>(key_on_.size()) == n_keys_ && static_cast<std::size_t>(key_cur_.size()) == n_keys_,
           "key_on and key_currency need one entry per key");
  for (std::size_t q = 0; q < n_keys_; ++q)
    RO_CHECK(key_cur_.data()[q] >= 0 && static_cast<std::size_t>(key_cur_.data()[q]) < k_, "key_currency outside the currencies");
  const auto n_cols = static_cast<std::size_t>(t_column_.size());
  key_filtered_.resize(n_instr_);
  start_row_ = -1, stop_row_ = 0;
  for (std::size_t i = 0; i < n_instr_; ++i) {
    const std::int64_t q = instrument_key_.data()[i], col = column_.data()[i];
    RO_CHECK(q >= -1 && q < static_cast<std::int64_t>(n_keys_), "instrument row " + std::to_string(i) + ": key outside the keys");
    RO_CHECK(col >= 0 && static_cast<std::size_t>(col) < n_cols, "instrument row " + std::to_string(i) + ": expiry column");
    key_filtered_[i] = (q >= 0 && key_on_.data()[q]) ? q : -1;
    if (key_filtered_[i] >= 0) stop_row_ = static_cast<std::int64_t>(i) + 1;
    if (key_filtered_[i] >= 0 && start_row_ < 0) start_row_ = static_cast<std::int64_t>(i);
  }
  if (n_cells_) {  // the settle of an update on these keys: the cells of the segments holding their instruments
    std::vector<std::uint8_t> segment_on(n_segments_, 0);
    for (std::size_t i = 0; i < n_instr_; ++i)
      if (key_filtered_[i] >= 0) segment_on[static_cast<std::size_t>(cell_segment_.data()[settle_cell_.data()[i]])] = 1;
    pm_scope_ = scope_of(segment_on);
    // Where pm_scope_'s settle reads every position of its rows (no other cell's row between them), the pass
    // walks those rows (its keys' rows lie in them) and sums their values on the way (PmLiveValues).
    values_fusable_ = !pm_scope_.mixed;
  }
  const auto nkk = n_total_ * static_cast<py::ssize_t>(n_keys_);
  live_.key_on = key_on_.data();
  live_.initial = key_initial_ = state_array<double>(state, "key_initial", nkk);
  live_.maintenance = key_maintenance_ = state_array<double>(state, "key_maintenance", nkk);
  live_.worst_index = key_worst_index_ = state_array<std::int64_t>(state, "key_worst_index", nkk);
  live_.worst_pnl = key_worst_pnl_ = state_array<double>(state, "key_worst_pnl", nkk);
  live_.stale = worst_stale_ = state_array<bool>(state, "worst_stale", nkk);
  book_.n_instruments = n_instr_, book_.key = key_filtered_.data(), book_.vectors = vectors_.data();
  book_.delta = delta_.data(), book_.column = column_.data(), book_.t_column = t_column_.data();
  book_.n_columns = n_cols, book_.keys = keys_.data(), book_.n_keys = n_keys_;
  if (!d["coin_moves"].is_none()) {
    coins_ = checked_coins(d);
    book_.coins = balance_.data(), book_.coin_moves = coins_.moves.data(), book_.coin_col = coins_.col.data();
    book_.coin_gain_cap = coins_.gain_cap.data(), book_.n_coins = k_;
  }
}

std::vector<double> LiveRefresh::checked_prices(const Doubles& price_in) {
  RO_CHECK(price_in.ndim() == 1, "price must be a vector (one entry per currency)");
  std::vector<double> price(price_in.data(), price_in.data() + price_in.size());
  for (std::size_t c = 0; c < price.size(); ++c)
    RO_CHECK(std::isfinite(price[c]) && price[c] >= 0, "price of currency column " + std::to_string(c));
  return price;
}

inline std::vector<double> LiveRefresh::checked_key_rate(const py::dict& d) const {
  const auto a = live_array<double>(d, "key_rate");
  RO_CHECK(static_cast<std::size_t>(a.size()) == n_keys_, "key_rate needs one entry per key");
  return std::vector<double>(a.data(), a.data() + a.size());
}

LiveRefresh::Coins LiveRefresh::checked_coins(const py::dict& d) const {
  const auto moves = live_array<double>(d, "coin_moves");
  const auto col = live_array<std::int64_t>(d, "coin_col");
  const auto cap = live_array<double>(d, "coin_gain_cap");
  RO_CHECK(static_cast<std::size_t>(moves.size()) == n_keys_ * shape_.width() && static_cast<std::size_t>(col.size()) == n_keys_ &&
               static_cast<std::size_t>(cap.size()) == k_ && k_ <= 64,
           "coin_moves (keys x width), coin_col (per key) and coin_gain_cap (per currency) do not fit");
  for (std::size_t q = 0; q < n_keys_; ++q)
    RO_CHECK(col.data()[q] >= -1 && col.data()[q] < static_cast<std::int64_t>(k_), "coin_col outside the currencies");
  for (std::size_t j = 0; j < k_; ++j) RO_CHECK(cap.data()[j] >= 0.0, "coin_gain_cap must be >= 0");
  return {std::vector<double>(moves.data(), moves.data() + moves.size()),
          std::vector<std::int64_t>(col.data(), col.data() + col.size()),
          std::vector<double>(cap.data(), cap.data() + cap.size())};
}

void LiveRefresh::bind_settle_cells(const py::dict& instruments, const py::dict& state) {
  if (!instruments.contains("settle_cell")) return;
  settle_cell_ = live_array<std::int64_t>(instruments, "settle_cell");
  cell_col_ = live_array<std::int64_t>(instruments, "cell_currency");
  cell_segment_ = live_array<std::int64_t>(instruments, "cell_segment");
  same_length(settle_cell_, n_instr_, "settle_cell");
  const auto n_cells = static_cast<std::size_t>(cell_col_.size());
  RO_CHECK(cell_col_.ndim() == 1 && cell_segment_.ndim() == 1 && static_cast<std::size_t>(cell_segment_.size()) == n_cells &&
               n_cells > 0 && n_cells < kFutureBit,
           "cell_currency and cell_segment need one entry per cell");
  std::size_t n_segments = 0;
  for (std::size_t c = 0; c < n_cells; ++c) {
    RO_CHECK(cell_col_.data()[c] >= 0 && static_cast<std::size_t>(cell_col_.data()[c]) < k_, "cell_currency of cell " + std::to_string(c));
    RO_CHECK(cell_segment_.data()[c] >= 0 && cell_segment_.data()[c] < static_cast<std::int64_t>(n_cells),
             "cell_segment of cell " + std::to_string(c));
    n_segments = std::max(n_segments, static_cast<std::size_t>(cell_segment_.data()[c]) + 1);
  }
  for (std::size_t i = 0; i < n_instr_; ++i) {
    const std::int64_t c = settle_cell_.data()[i];
    RO_CHECK(c >= 0 && static_cast<std::size_t>(c) < n_cells && cell_col_.data()[c] == settle_col_.data()[i],
             "settle_cell of instrument row " + std::to_string(i) + ": a cell of its settlement currency");
  }
  const auto size = n_total_ * static_cast<py::ssize_t>(n_cells);
  options_part_ = state_array<double>(state, "options_part", size);
  futures_part_ = state_array<double>(state, "futures_part", size);
  n_cells_ = n_cells, n_segments_ = n_segments;
  every_scope_ = scope_of(std::vector<std::uint8_t>(n_segments, 1));
  for (std::size_t col = 0; col < k_; ++col) {
    std::vector<std::uint32_t> mine;
    for (std::size_t c = 0; c < n_cells; ++c)
      if (static_cast<std::size_t>(cell_col_.data()[c]) == col) mine.push_back(static_cast<std::uint32_t>(c));
    currency_cells_.push_back(static_cast<std::uint32_t>(col)), currency_cells_.push_back(static_cast<std::uint32_t>(mine.size()));
    currency_cells_.insert(currency_cells_.end(), mine.begin(), mine.end());
  }
}

inline SettleScope LiveRefresh::scope_of(const std::vector<std::uint8_t>& segment_on) const {
  SettleScope scope;
  scope.on.resize(n_cells_);
  for (std::size_t c = 0; c < n_cells_; ++c) {
    scope.on[c] = segment_on[static_cast<std::size_t>(cell_segment_.data()[c])];
    if (scope.on[c]) scope.cells.push_back(static_cast<std::uint32_t>(c));
  }
  if (scope.cells.size() == n_cells_) return scope;  // every row (first_row 0, no stop)
  std::int64_t first = -1, stop = 0;
  for (std::size_t i = 0; i < n_instr_; ++i) {
    if (!scope.on[static_cast<std::size_t>(settle_cell_.data()[i])]) continue;
    if (first < 0) first = static_cast<std::int64_t>(i);
    stop = static_cast<std::int64_t>(i) + 1;
  }
  scope.first_row = std::max<std::int64_t>(first, 0), scope.stop_row = stop;
  for (std::int64_t i = scope.first_row; i < stop; ++i)
    scope.mixed = scope.mixed || !scope.on[static_cast<std::size_t>(settle_cell_.data()[i])];
  return scope;
}

}  // namespace riskoffset_bindings
