// _core.margin.LiveRefresh and settle: the live engine's recomputation of a set of accounts in one call
// (portfolio margin on the keys an update touched, options value, futures P&L, margin per currency, equity
// against margin and the level), written into the engine's own arrays where no other figure gives them (the
// rest `figures` adds up and settles again on demand); and the account view's settle.
// Equity against margin is cpp/src/accounts/settle.hpp (one implementation for both); the PM sums and steps
// are the active SIMD target's pm_live kernel (the same code as the bulk pass).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "../../src/accounts/futures.hpp"
#include "../../src/accounts/positions.hpp"
#include "../../src/accounts/settle.hpp"
#include "../../src/margin/contributors.hpp"
#include "../common/arrays.hpp"
#include "../common/fast_method.hpp"
#include "../common/require.hpp"
#include "../scenarios/option_reprice.hpp"
#include "grid_live.hpp"
#include "span_account.hpp"
#include "standard_units.hpp"
#include "riskoffset/dispatch.hpp"
#include "riskoffset/parallel.hpp"
#include "riskoffset/prefetch.hpp"

namespace py = pybind11;

std::vector<riskoffset::PmKey> pm_keys_of(const riskoffset_bindings::DoubleArray& keys);  // register_margin.cpp

namespace {

using Doubles = riskoffset_bindings::DoubleArray;
using Ints = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;
using Bytes = py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>;

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


// A capture's first contributor slot where the account's largest group awaits its scenario search (exported as
// _core.margin.NOT_CAPTURED).
constexpr std::int64_t kNotCaptured = -2;

// Settle cells.  An account's options values and futures P&L are summed per cell, an (underlying, currency) pair,
// kept in the engine's options_part / futures_part, and the currencies' sums added up from the cells.  An update
// on some PM keys (a coin's index tick) changes only the values of their instruments: it re-sums the cells of
// their underlyings, reading only those positions, and keeps the others' (half of an index tick's settle read the
// other coin's positions).  Without the engine's cells, the cells are the currencies (every update re-sums all).
struct SettleScope {
  std::vector<std::uint32_t> cells;  // the cells re-summed
  std::vector<std::uint8_t> on;  // per cell: re-summed
  std::int64_t first_row = 0;  // their instruments lie in rows [first_row, stop_row)
  std::int64_t stop_row = std::numeric_limits<std::int64_t>::max();
  bool mixed = false;  // rows [first_row, stop_row) hold instruments of kept cells too: each position is checked
};

// The live engine's refresh, bound once to the engine's arrays (checked here, once): per instrument, the PM
// inputs of the keys an update recomputes, the unit margins of standard margin (the `instruments` dict's
// "standard" entry and its "standard_col") or a scenario grid's P&L (its "grid" entry; `grid_keys`: the currency
// columns an update recomputes), the per-account arrays, the currencies' prices and haircuts: one of the three
// margin methods is bound, or the margin is given (the `instruments` dict's "given_margin": the accounts' margin
// columns as the engine wrote them).
// The engine builds a new one when it replaces one of them; calls then pass only the accounts' positions.
class LiveRefresh {
 public:
  LiveRefresh(const py::dict& instruments, const std::optional<py::dict>& pm, const py::dict& state, const Doubles& price_in,
              const std::optional<Doubles>& cut_im_in, const std::optional<Doubles>& cut_mm_in, int threads,
              const std::optional<Bytes>& grid_keys)
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

  // Recompute the accounts whose positions are starts[a] .. ends[a] - 1 of the pool arrays (engine rows
  // `rows`): (first engine row with a non-finite figure or -1, indices a whose level changed, their previous
  // levels, what was captured of them or None).  Without find_worst the PM keys' worst_index cells keep their
  // values (PmLiveKeys), except for the accounts whose level changed: they are searched.  With capture_top > 0,
  // each account whose level changed is captured as the refresh leaves it, while its rows are in cache (an
  // event's figures and contributors, read later, would each miss the caches): Captured.
  // trusted: the caller verified the pool arrays (a call without it checked them all) and has kept them read-only
  // since, its own writers keeping every segment in the pool, in the table and ascending (checked_accounts).
  py::tuple call(const Ints& starts, const Ints& ends, const Ints& indices, const Doubles& quantity_in,
                 const Doubles& average_in, const Ints& rows, bool find_worst, std::int64_t capture_top,
                 bool trusted) {
    const std::size_t top = checked_top(capture_top);
    const Accounts accounts = checked_accounts(starts, ends, indices, quantity_in, average_in, rows, trusted);
    Outcome outcome = refresh_accounts(accounts, find_worst, top);
    return outcome.tuple(outcome.bad, n_figures());
  }

  // The market's part of the bound inputs, replaced in place after an index move: the currencies' prices and,
  // under PM (`pm`: the PM inputs, of which only these are read), the keys' parameters, their USD rates and the
  // coin balances' scenario moves.  Binding anew cost an index tick 0.1-0.3 ms.  Sizes must be those bound;
  // everything is checked before anything changes.  Memory stays where it was bound (a call on another thread
  // never reads freed memory), but the engine calls this between its calls, never during one.
  void update_market(const Doubles& price_in, const std::optional<py::dict>& pm) {
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

  // The figures of the engine's accounts `rows` as the refresh left them, from what it keeps: per currency (rows x
  // currencies) the options value, futures P&L, IM and MM, then the margin balance, IM, MM and available funds in
  // USD and the MM ratio, then the largest group, its worst scenario and worst P&L in USD (one per row): the
  // settle's own sums and settlement, so the same bits.
  py::tuple figures(const Ints& rows) const {
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

  // One account's figures (`row`), in a capture's order (a list), its largest group and that group's worst
  // scenario: what `figures` gives for one row, without an array per figure.
  py::tuple account_row(std::int64_t row) const {
    RO_CHECK(0 <= row && row < n_total_, "row " + std::to_string(row) + " outside the engine's accounts");
    std::vector<double> values;
    values.reserve(n_figures());
    const Worst w = figures_row(static_cast<std::size_t>(row), values);
    return py::make_tuple(float_list(values), w.key, w.index);
  }
  // Numbers as a Python list of floats (one account's: an array each would cost more than the figures).
  static py::list float_list(const std::vector<double>& values) {
    py::list out(values.size());
    for (std::size_t j = 0; j < values.size(); ++j)
      PyList_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(j), py::float_(values[j]).release().ptr());
    return out;
  }

  // An option's vol tick in one call: the option at `row` repriced at `sigma` by `reprice` (bound to the same
  // engine arrays), then the accounts of `rows` recomputed as `call` recomputes them (with or without the search of
  // their worst scenarios, `find_worst`), and the same tuple.  When a
  // kernel refuses an input, nothing changes and the first entry is -2.  When a figure comes out non-finite, the
  // option's values are put back, those accounts recomputed from them (the same code on the same inputs: the
  // same figures) and their levels restored; the first entry is then the account's engine row, and no level moved
  // (nor is anything captured).
  py::tuple option_tick(riskoffset_bindings::OptionReprice& reprice, py::ssize_t row, double sigma, const Ints& starts,
                        const Ints& ends, const Ints& indices, const Doubles& quantity_in, const Doubles& average_in,
                        const Ints& rows, std::int64_t capture_top, bool trusted = false, bool find_worst = true) {
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

  // A fill of the account at engine row `row` (`quantity` signed, at `price`; `fee` in currency column
  // `fee_col`): its new segment written at `size` in the pool (riskoffset/positions.hpp) and start/end pointed
  // at it, or, with `in_place` (no undo holds the old segment) when the fill neither opens nor closes a
  // position, the position's amount and average changed where they lie; the option premium, the futures P&L
  // the fill realises and the fee moved in its balances; then, with `refresh`, the account recomputed.  Returns
  // (length of the new segment, -1 when the pool has no room and nothing changed, or -2 when the fill was
  // written in place; whether a figure came out non-finite, in which case the account's positions, balances,
  // figures and level are put back as they were; the level before; the level after; with capture_top > 0 and a
  // level that changed, the account captured as `call` captures it, else None; whether the fill opened or closed
  // a position, so that the accounts holding the instrument changed).
  // What a one-account call (a trade, a balance) did; `tuple` is its Python form.
  struct OneOutcome {
    std::int64_t length;  // a trade's new segment length, -1 (pool full) or -2 (written in place)
    bool bad;
    std::int8_t was, now;
    py::object captured;  // (null: None)
    bool held_changed;
  };

  static std::string position_too_large(double amount) {
    return "the position would be " + py::repr(py::float_(amount)).cast<std::string>() +
           ": its size must stay below 9e+10, the largest a book nets in units of 1e-8";
  }

  OneOutcome trade(py::handle start_in, py::handle end_in, py::handle indices_in, py::handle quantity_in,
                   py::handle average_in, std::int64_t size, std::int64_t row, std::int64_t instrument, double quantity,
                   double price, double fee, std::int64_t fee_col, bool refresh, std::int64_t capture_top,
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

  // What-if of fills of the account at engine row `row`: fill j of instrument row instruments[j] (amounts[j]
  // signed, at prices[j], fees[j] in currency column fee_cols[j]) applied as `trade` applies one, each to the
  // positions the previous ones left (new segments written past `size`: the pool's used part is untouched), the
  // account recomputed and captured as a call captures it (capture_top contributors, at least 1), then
  // everything put back and the account recomputed from its inputs as they were (the same code on the same
  // inputs: the same figures), its level restored.  Returns (status, bad, level after the fills, captured):
  // status 0; -1 when the pool has no room for the fills' segments, -3 where SPAN's full path computes the
  // account (nothing changed, nothing captured); bad: a figure came out non-finite (everything put back); captured:
  // the account's figures (as `call` captures them, a list) and its largest group and that group's worst scenario.
  py::tuple what_if(py::handle start_in, py::handle end_in, py::handle indices_in, py::handle quantity_in,
                    py::handle average_in, std::int64_t size, std::int64_t row, const std::vector<std::int64_t>& instruments,
                    const std::vector<double>& amounts, const std::vector<double>& prices, const std::vector<double>& fees,
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

  // The balance of the account at engine row `row` in currency column `col` set to `amount` (or moved by it,
  // with `add`), then the account recomputed.  Returns (whether a figure came out non-finite, in which case the
  // balance, figures and level are put back as they were; the level before; the level after; what was captured
  // of the account, as `trade` captures it).
  OneOutcome balance(py::handle start_in, py::handle end_in, py::handle indices_in, py::handle quantity_in,
                     py::handle average_in, std::int64_t size, std::int64_t row, std::int64_t col, double amount, bool add,
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

 private:
  // The positions of the accounts a call recomputes, checked: engine rows `rows`, account a's positions
  // ip[a] .. ep[a] - 1 of the pool arrays (ix, quantity, average).
  struct Accounts {
    const std::int64_t *ip, *ep, *rows, *ix;
    Doubles quantity, average;  // (aligned copies where the caller's arrays are not)
    std::size_t n_rows;
    bool sorted;  // every account's positions in ascending instrument row (as the engine keeps them)
  };
  Accounts checked_accounts(const Ints& starts, const Ints& ends, const Ints& indices, const Doubles& quantity_in,
                            const Doubles& average_in, const Ints& rows, bool trusted = false) const {
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
  static constexpr std::size_t kCheckMinAccounts = 4096;

  // checked_accounts' checks of accounts [begin, end): whether all of them keep their positions in order.
  bool check_rows(const std::int64_t* ip, const std::int64_t* ep, const std::int64_t* r, const std::int64_t* ix,
                  std::int64_t n_pool, std::size_t begin, std::size_t end) const {
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
  bool ends_outside_table(const std::int64_t* ix, std::int64_t begin, std::int64_t end) const {
    return begin < end && (static_cast<std::uint64_t>(ix[begin]) >= n_instr_ ||
                           static_cast<std::uint64_t>(ix[end - 1]) >= n_instr_);
  }

  // What `call` captures of an account whose level changed (capture_account), per part of the accounts:
  // figures (n_figures() per account: margin balance, IM, MM and available funds in USD, MM ratio, worst P&L in
  // USD, then per currency balance, equity, IM, MM), worst (its largest group and that group's worst scenario
  // index, -1 without), and its top contributors in that scenario (riskoffset::account_contributors; instrument
  // kNotCaptured in the first slot where the group's worst scenario awaits a search the call did not make).
  struct Captured {
    std::vector<double> figures, quantity, pnl;
    std::vector<std::int64_t> worst, instrument;
    std::size_t top = 0;
  };
  std::size_t n_figures() const { return 6 + 4 * k_; }
  // A call's capture_top, checked: 0 (nothing captured) to riskoffset::kMaxContributors.
  static std::size_t checked_top(std::int64_t capture_top) {
    RO_CHECK(0 <= capture_top && capture_top <= riskoffset::kMaxContributors, "capture_top must be between 0 and 64");
    return static_cast<std::size_t>(capture_top);
  }

  // What a recomputation found, per part of the accounts (each part one thread's, in account order).
  struct Outcome {
    std::int64_t bad = -1;  // first engine row with a non-finite figure, or -1
    std::vector<std::vector<std::int64_t>> moved;  // indices a whose level changed
    std::vector<std::vector<std::int8_t>> before;  // their previous levels
    std::vector<Captured> captured;  // what was captured of them (with a capture)
    // (figures, worst, contributors' instruments, quantities, P&L) with the parts joined, one row per account.
    py::tuple captured_arrays(std::size_t n_figures) const {
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
    // (status, moved, before, captured or None) with the parts joined: the events come out in account order.
    py::tuple tuple(std::int64_t status, std::size_t n_figures) const {
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
  };

  Outcome refresh_accounts(const Accounts& acc, bool find_worst = true, std::size_t capture_top = 0) {
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

  // The pool arrays of the engine for a change of the account at `row` (checked: its segment lies in the
  // pool's first `size` entries and names instruments of the table).
  struct OneAccount {
    std::int64_t *start, *end, *indices;
    double *amounts, *average;
    std::int64_t capacity;
    std::size_t row;
    OneAccount(const LiveRefresh& r, py::handle start_in, py::handle end_in, py::handle indices_in,
               py::handle quantity_in, py::handle average_in, std::int64_t row_in, std::int64_t size)
        : OneAccount(r, riskoffset_bindings::exact_array<std::int64_t>(start_in, "start", false),
                     riskoffset_bindings::exact_array<std::int64_t>(end_in, "end", false),
                     riskoffset_bindings::exact_array<std::int64_t>(indices_in, "indices", false),
                     riskoffset_bindings::exact_array<double>(quantity_in, "quantity", false),
                     riskoffset_bindings::exact_array<double>(average_in, "average", false), row_in, size) {}
    riskoffset::PositionPool pool() const { return {indices, amounts, average, capacity}; }

   private:
    OneAccount(const LiveRefresh& r, py::array_t<std::int64_t> start_in, py::array_t<std::int64_t> end_in,
               py::array_t<std::int64_t> indices_in, py::array_t<double> quantity_in, py::array_t<double> average_in,
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
    // The segment's lines of the three pool arrays requested at once (each is a miss for a random account).
    void prefetch_segment(std::int64_t s, std::int64_t e) const {
      if (s < 0 || e < s || e > capacity) return;  // (checked next; a prefetch never faults, but stay in range)
      const auto line = [this](std::int64_t p) {
        const auto i = static_cast<std::size_t>(p);
        riskoffset::prefetch(indices, i), riskoffset::prefetch(amounts, i), riskoffset::prefetch(average, i);
      };
      for (std::int64_t p = s; p < e; p += 8) line(p);
      if (e > s) line(e - 1);  // (the last line, when the segment does not start one)
    }
  };

  // Every cell of the account at `row` a one-account call reads or writes, requested before any is read: for a
  // random account of a large venue each lies on its own cache line in memory, and the loads that follow would
  // otherwise wait for them one after another.
  void prefetch_account(std::size_t row, const std::int64_t* start, const std::int64_t* end) const {
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

  // The kept PM scratch for one call, held until the call ends; null (the call makes its own) without PM or while
  // another call holds it (a call that released the GIL, on another thread).
  struct KeptScratch {
    std::unique_lock<std::mutex> hold;
    riskoffset::PmScratch* scratch = nullptr;
  };
  // SPAN under a given margin (the `instruments` dict's "span" entry): its "account", a SpanAccount bound to the
  // file; per instrument row its "contract" row in the file (-1: none) and contracts per unit of the engine's
  // quantity ("per_unit"); per currency of the SpanAccount the engine's currency "column" (-1: none).
  void bind_span(const py::dict& span, bool given) {
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

  // The SPAN margin of the account of `acc` for the positions of its segment, in its margin columns (the old
  // ones saved for span_restore); false, with nothing written, where the full path computes it (an instrument
  // without contract, an account the SpanAccount refuses, a currency the engine lacks).
  bool span_margin(const OneAccount& acc) {
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
  // Under SPAN, the account's margin for its positions now (span_margin), which the refresh then settles
  // against; where the full path computes the account, or the SPAN call throws, `put_back` undoes the fill
  // first.  True without SPAN.
  template <typename PutBack>
  bool span_margin_or_put_back(const OneAccount& acc, PutBack put_back) {
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
  void span_restore(std::size_t row) {
    std::copy(span_saved_.begin(), span_saved_.begin() + static_cast<std::ptrdiff_t>(k_), initial_ + row * k_);
    std::copy(span_saved_.begin() + static_cast<std::ptrdiff_t>(k_), span_saved_.end(), maintenance_ + row * k_);
  }

  KeptScratch kept_scratch() {
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

  // The account recomputed from its inputs as they are (no capture).
  void recompute_one(const OneAccount& acc) {
    const auto row = static_cast<std::int64_t>(acc.row);
    std::vector<std::int64_t> moved;
    std::vector<std::int8_t> before;
    const KeptScratch kept = kept_scratch();
    refresh_rows(acc.start + acc.row, acc.end + acc.row, acc.indices, acc.amounts, acc.average, &row, 1, 0, 1, moved,
                 before, false, false, true, nullptr, kept.scratch);
  }

  // Recompute the account after a change; if a figure is not finite, `undo` puts its inputs back, the account
  // is recomputed from them (the same code on the same inputs: the same figures) and its level set to `was`.
  // Returns whether the change stands; when it does and the level changed, with capture_top > 0 `captured`
  // receives the account as `call` captures it.
  template <typename Undo>
  bool refresh_one(const OneAccount& acc, std::int8_t was, Undo undo, std::size_t capture_top, py::object& captured) {
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

  // Accounts [begin, end) of `rows` (positions ip[a] .. ep[a] - 1 of the pool): PM on the bound keys, then
  // settle, then (with `capture`) capture_account of those whose level changed; the first engine row with a
  // non-finite figure, or -1.
  std::int64_t refresh_rows(const std::int64_t* ip, const std::int64_t* ep, const std::int64_t* ix, const double* quantity,
                            const double* average, const std::int64_t* r, std::size_t n_rows, std::size_t begin,
                            std::size_t end, std::vector<std::int64_t>& moved, std::vector<std::int8_t>& before,
                            bool rows_aligned = false, bool rows_sorted = false, bool find_worst = true,
                            Captured* capture = nullptr, riskoffset::PmScratch* kept = nullptr) const {
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
      std::int64_t bad_row = -1;
      for (std::size_t b = begin; b < end; b += kSettleSlice) {
        const std::size_t e = std::min(end, b + kSettleSlice);
        grid_.margin_rows(ip, ep, ix, quantity, r, b, e, work, out);
        const std::size_t moved_before = moved.size();
        const std::int64_t bad = settle_rows(ip, ep, ix, quantity, average, r, b, e, moved, before, scope);
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
    riskoffset::PmLiveValues values;
    std::vector<std::int64_t> futures, futures_end;
    if (fused) {
      values.meta = settle_meta_.data(), values.unit_value = unit_value_.data(), values.average = average;
      values.cells = options_part_, values.n_cells = n_cells_;
      values.zeroed = scope.cells.data(), values.n_zeroed = scope.cells.size();
      futures_end.resize(kSettleSlice);
      live.values = &values;
    }
    for (std::size_t b = begin; b < end; b += kSettleSlice) {
      const std::size_t e = std::min(end, b + kSettleSlice);
      if (fused) {  // (room for every position of the slice's accounts)
        std::size_t n = 0;
        for (std::size_t a = b; a < e; ++a) n += static_cast<std::size_t>(ep[a] - ip[a]);
        if (futures.size() < n + 1) futures.resize(n + 1);
        values.futures = futures.data(), values.futures_end = futures_end.data(), values.first = b;
      }
      pm_live(book, shape_, live, scratch, b, e);
      scratch.dampener_ready = true;  // (a kept scratch keeps them for the next call: they depend on the keys only)
      const std::size_t moved_before = moved.size();
      const std::int64_t bad =
          settle_rows(ip, ep, ix, quantity, average, r, b, e, moved, before, scope, fused ? &values : nullptr);
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

  // Account a (engine row r[a]) as the refresh left it, appended to `out` (Captured).  Its contributors are
  // those of its largest group's worst scenario when that was searched: by this call (a bound key) or since
  // (not marked stale in the engine's worst_stale).
  void capture_account(const std::int64_t* ip, const std::int64_t* ep, const std::int64_t* ix, const double* quantity,
                       const std::int64_t* r, std::size_t a, Captured& out) const {
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
  // Accounts per slice (PM or grid, then settle): a slice's positions and per-account rows stay in the first
  // caches between the two passes.  32 against 64: the BTC tick -0.3 to -0.8 ms, the ETH tick -0.4 to -1.6 ms,
  // in turns (Intel Xeon); 16 measured as 32, 8 and 256 slower; the grid and standard ticks the same.
  static constexpr std::size_t kSettleSlice = 32;

  // The scenario rows the update reads (the bound keys' instruments), copied to rows of kRowStride doubles
  // starting on a cache line: a row's vector loads then never straddle two lines.  Copied on each call, as the
  // engine writes the rows in place; a one-account call reads the engine's array as it is (same figures).
  static constexpr std::size_t kRowStride = 40;
  // The copy streams every row of the bound keys (~200 kB for a coin's listed options): it pays for itself
  // from about this many accounts (an index tick's, a popular option's holders), not for a few.
  static constexpr std::size_t kAlignedCopyMinAccounts = 512;
  bool copy_rows_aligned() {
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
  std::vector<double> aligned_store_;
  double* aligned_rows_ = nullptr;
  // The scratch of the one-account calls (a trade, a balance) and of the first part of the others, kept with
  // its dampener rows, which depend on the bound keys alone: made and computed afresh, they were most of a
  // trade's compiled cost (kept_scratch).
  std::mutex one_mutex_;
  std::unique_ptr<riskoffset::PmScratchBuffers> one_buffers_;
  riskoffset::PmScratch one_scratch_;  // its view, with dampener_ready
  // The first instrument row with a bound key and one past the last (PmBook::start_row, stop_row).
  std::int64_t start_row_ = 0, stop_row_ = 0;

  void bind_pm(const py::dict& d, const py::dict& state) {
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
    worst_stale_ = live_array<bool>(state, "worst_stale").data();
    RO_CHECK(live_array<bool>(state, "worst_stale").size() == nkk, "worst_stale must be rows x keys");
    book_.n_instruments = n_instr_, book_.key = key_filtered_.data(), book_.vectors = vectors_.data();
    book_.delta = delta_.data(), book_.column = column_.data(), book_.t_column = t_column_.data();
    book_.n_columns = n_cols, book_.keys = keys_.data(), book_.n_keys = n_keys_;
    if (!d["coin_moves"].is_none()) {
      coins_ = checked_coins(d);
      book_.coins = balance_.data(), book_.coin_moves = coins_.moves.data(), book_.coin_col = coins_.col.data();
      book_.coin_gain_cap = coins_.gain_cap.data(), book_.n_coins = k_;
    }
  }

  // The currencies' USD prices, each finite and >= 0.
  static std::vector<double> checked_prices(const Doubles& price_in) {
    RO_CHECK(price_in.ndim() == 1, "price must be a vector (one entry per currency)");
    std::vector<double> price(price_in.data(), price_in.data() + price_in.size());
    for (std::size_t c = 0; c < price.size(); ++c)
      RO_CHECK(std::isfinite(price[c]) && price[c] >= 0, "price of currency column " + std::to_string(c));
    return price;
  }
  // The PM inputs' "key_rate": per key, what one unit of its currency is worth in USD.
  std::vector<double> checked_key_rate(const py::dict& d) const {
    const auto a = live_array<double>(d, "key_rate");
    RO_CHECK(static_cast<std::size_t>(a.size()) == n_keys_, "key_rate needs one entry per key");
    return std::vector<double>(a.data(), a.data() + a.size());
  }
  // The coin balances' scenario moves (dynamic collateral): per key a row of width() moves, the coin column it
  // takes (-1: none), and per currency the most a balance's scenario gain may count.
  struct Coins {
    std::vector<double> moves;
    std::vector<std::int64_t> col;
    std::vector<double> gain_cap;
  };
  Coins checked_coins(const py::dict& d) const {
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

  // Options value, futures P&L, margin per currency, equity against margin and the level of each account.  The usual
  // numbers of currencies (BTC, ETH and USDC, the settlement currencies of Deribit's instruments, and USDT) get an
  // instance each: its loops over them have a known length (unrolled, no loop branches), the same operations
  // in the same order as the general one.
  std::int64_t settle_rows(const std::int64_t* ip, const std::int64_t* ep, const std::int64_t* ix, const double* quantity,
                           const double* average, const std::int64_t* r, std::size_t begin, std::size_t end,
                           std::vector<std::int64_t>& moved, std::vector<std::int8_t>& before,
                           const SettleScope& scope, const riskoffset::PmLiveValues* summed = nullptr) const {
    return standard_.bound()
               ? settle_rows_k<true>(ip, ep, ix, quantity, average, r, begin, end, moved, before, scope, summed)
               : settle_rows_k<false>(ip, ep, ix, quantity, average, r, begin, end, moved, before, scope, summed);
  }
  template <bool kStandard>
  std::int64_t settle_rows_k(const std::int64_t* ip, const std::int64_t* ep, const std::int64_t* ix, const double* quantity,
                             const double* average, const std::int64_t* r, std::size_t begin, std::size_t end,
                             std::vector<std::int64_t>& moved, std::vector<std::int8_t>& before,
                             const SettleScope& scope, const riskoffset::PmLiveValues* summed) const {
    switch (k_) {
      case 3: return settle_rows_of<3, kStandard>(ip, ep, ix, quantity, average, r, begin, end, moved, before, scope, summed);
      case 4: return settle_rows_of<4, kStandard>(ip, ep, ix, quantity, average, r, begin, end, moved, before, scope, summed);
      default: return settle_rows_of<0, kStandard>(ip, ep, ix, quantity, average, r, begin, end, moved, before, scope, summed);
    }
  }
  // kK: the number of currencies, or 0 to read it from k_.  kStandard: standard margin is bound (its per-position
  // sums in the loop; the branch per position cost as much as a tenth of the loop).  `summed`: the PM pass
  // summed the options' values of accounts [begin, end) and listed their futures positions (PmLiveValues).
  template <std::size_t kK, bool kStandard>
  std::int64_t settle_rows_of(const std::int64_t* ip, const std::int64_t* ep, const std::int64_t* ix,
                              const double* quantity, const double* average, const std::int64_t* r, std::size_t begin,
                              std::size_t end, std::vector<std::int64_t>& moved, std::vector<std::int8_t>& before,
                              const SettleScope& scope, const riskoffset::PmLiveValues* summed) const {
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
      if (standard)
        for (std::size_t c = 0; c < k; ++c) std_im[c] = 0.0, std_mm[c] = 0.0;
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
        const std::int64_t first = first_row > 0 ? std::lower_bound(ix + ip[a], ix + stop, first_row) - ix : ip[a];
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
          if (c != value_col) opt_cell[value_col] += value, value_col = c, value = 0.0;
          // (a position of a kept cell ends the run before it, as on a full pass: the same sums, bit for bit)
          if (decltype(mixed_rows)::value && !on[c]) continue;
          const double q = quantity[p];
          value += q * unit_value[i];
          if (m & kFutureBit) value_future(p, i, m, q);
          if (standard) {  // (summed per currency in position order, as ro.margin's groups sum them)
            const riskoffset::PositionMargin margin = riskoffset::standard_position_margin(units, i, q);
            const auto sc = static_cast<std::size_t>(standard_col[i]);
            std_im[sc] += margin.initial, std_mm[sc] += margin.maintenance;
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
      }
      const double* opt = opt_cell;
      const double* fut = fut_cell;
      if (n_cells_) cell_sums(opt_cell, fut_cell, cell_opt, cell_fut), opt = cell_opt, fut = cell_fut;
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

  // The account at engine row `row` as the refresh left it: its options value, futures P&L, IM, MM and equity per
  // currency into the k-entry rows given, settled in USD (what the settle computed from the same inputs).
  riskoffset::SettledAccount account_figures(std::size_t row, double* opt, double* fut, double* im, double* mm,
                                             double* eq, std::int64_t& top) const {
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

  // An account's largest group (-1: none), that group's worst scenario and worst P&L in USD: under PM from the
  // group figures (`top`: pm_margins' largest group), under a grid as kept, none under other methods.
  struct Worst {
    std::int64_t key = -1, index = -1;
    double usd = 0.0;
  };
  Worst worst_of(std::size_t row, std::int64_t top) const {
    if (pm_) {
      if (top < 0) return {};
      const std::size_t cell = row * n_keys_ + static_cast<std::size_t>(top);
      return {top, key_worst_index_[cell], key_worst_pnl_[cell] * key_rate_[static_cast<std::size_t>(top)]};
    }
    if (grid_.bound()) return {worst_key_[row], worst_index_[row], worst_usd_[row]};
    return {};
  }

  // The figures of the account at `row` in a capture's order (n_figures() of them) appended to `out`: margin
  // balance, IM, MM and available funds in USD, MM ratio, worst P&L in USD, then per currency balance, equity, IM,
  // MM; returns its largest group and that group's worst scenario.
  Worst figures_row(std::size_t row, std::vector<double>& out) const {
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

  // An account's options value and futures P&L per currency from its settle cells (`opt_cell`, `fut_cell`): each
  // currency's cells summed in cell order, the one order of every path.  The engine keeps no currency column of
  // them: its queries add the cells up in the same order.
  void cell_sums(const double* opt_cell, const double* fut_cell, double* opt, double* fut) const {
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

  // Under PM, the margin per currency of the account at `row` from its keys' figures (the engine keeps no
  // currency column of it: its queries add the keys up in the same order), and the key with the largest IM in
  // USD (-1: none).  kK: the number of currencies k, or 0.
  template <std::size_t kK>
  std::int64_t pm_margins(std::size_t row, std::size_t k_in, double* im, double* mm) const {
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

  // Settle cells (SettleScope): kept by the engine, or the currencies.
  SettleScope every_scope_, pm_scope_;
  bool values_fusable_ = false;  // the PM pass sums pm_scope_'s values (bind_pm)
  py::array_t<std::int64_t> settle_cell_, cell_col_, cell_segment_;
  std::size_t n_cells_ = 0, n_segments_ = 0;
  std::vector<std::uint32_t> currency_cells_;  // every currency as (column, number of cells, its cells ascending)
  double *options_part_ = nullptr, *futures_part_ = nullptr;

  // The scope of a refresh: an update on PM keys re-sums their segments where the accounts' positions are in
  // ascending instrument row (its rows then bound where to read); anything else, every cell.
  const SettleScope& settle_scope(bool rows_sorted) const {
    return pm_ && n_cells_ && rows_sorted ? pm_scope_ : every_scope_;
  }

  // The instruments' "settle_cell" (its cell), "cell_currency" and "cell_segment" (per cell) and the state's
  // "options_part" and "futures_part" (rows x cells), when the engine keeps cells.
  void bind_settle_cells(const py::dict& instruments, const py::dict& state) {
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

  // The cells of the segments `segment_on`, and the rows that hold their instruments.
  SettleScope scope_of(const std::vector<std::uint8_t>& segment_on) const {
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

  std::vector<py::object> keep_;  // the dicts whose arrays the pointers below read
  int threads_ = 1;
  py::array_t<double> unit_value_, mark_, balance_;
  std::vector<double> price_;
  Doubles cut_im_, cut_mm_;
  py::array_t<std::uint8_t> is_future_, inverse_, is_option_;
  py::array_t<std::int64_t> settle_col_;
  // Per instrument, settle_col, is_future and inverse in one word (they never change in place): one load per
  // position instead of three.
  static constexpr std::uint32_t kFutureBit = riskoffset::kSettleFutureBit, kInverseBit = riskoffset::kSettleInverseBit,
                                 kColumnBits = riskoffset::kSettleCellBits;
  std::vector<std::uint32_t> settle_meta_;
  std::size_t n_instr_ = 0, k_ = 0;
  py::ssize_t n_total_ = 0;
  const double *cip_ = nullptr, *cmp_ = nullptr;
  double *options_ = nullptr, *futures_ = nullptr, *initial_ = nullptr, *maintenance_ = nullptr;
  double* worst_usd_ = nullptr;
  std::int64_t *worst_key_ = nullptr, *worst_index_ = nullptr;
  std::int8_t* level_ = nullptr;
  // portfolio margin
  bool pm_ = false;
  // standard margin (bound when the instruments carry it): unit margins and each instrument's margin currency
  riskoffset_bindings::BoundStandardUnits standard_;
  py::array_t<std::int64_t> standard_col_;
  // a scenario grid (bound when the instruments carry one): its P&L rows, keyed by settle_col
  riskoffset_bindings::BoundGrid grid_;
  riskoffset_bindings::SpanAccount* span_ = nullptr;  // (its Python object is kept with the instruments dict)
  py::array_t<std::int64_t> span_contract_, span_col_;
  py::array_t<double> span_per_unit_;
  std::vector<std::int64_t> span_rows_;
  std::vector<double> span_n_, span_saved_;
  py::array_t<std::int64_t> instrument_key_, column_, key_cur_;
  py::array_t<double> vectors_, delta_, t_column_, extended_;
  std::vector<double> key_rate_;  // (the market's part: update_market rewrites it, coins_ and keys_ in place)
  Coins coins_;
  py::array_t<std::uint8_t> key_on_;
  std::vector<riskoffset::PmKey> keys_;
  std::vector<std::int64_t> key_filtered_;
  std::size_t n_keys_ = 0;
  riskoffset::PmShape shape_;
  riskoffset::PmBook book_;
  riskoffset::PmLiveKeys live_;
  double *key_initial_ = nullptr, *key_maintenance_ = nullptr, *key_worst_pnl_ = nullptr;
  const bool* worst_stale_ = nullptr;  // [row, key]: that worst scenario index awaits a search (the engine's marks)
  std::int64_t* key_worst_index_ = nullptr;
};

// LiveRefresh.trade, .balance, .option_tick and .what_if, the calls made once per trade, balance, vol tick message
// or pre-trade check, through the fastcall convention (riskoffset_bindings::FastArgs): pybind11's dispatch of their
// 10 to 15 arguments and of the tuple they return cost more instructions than a trade's recomputation.

// (length, bad, level before, level after, captured or None, held changed); a trade's tuple, or a balance's
// (bad, level before, level after, captured or None).
PyObject* one_outcome_tuple(const LiveRefresh::OneOutcome& o, bool trade) {
  const py::int_ length(o.length), was(o.was), now(o.now);
  PyObject* bad = o.bad ? Py_True : Py_False;
  PyObject* captured = o.captured ? o.captured.ptr() : Py_None;
  return trade ? PyTuple_Pack(6, length.ptr(), bad, was.ptr(), now.ptr(), captured,
                              o.held_changed ? Py_True : Py_False)
               : PyTuple_Pack(4, bad, was.ptr(), now.ptr(), captured);
}

using riskoffset_bindings::FastArgs;

PyObject* live_trade(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  return riskoffset_bindings::fast_call<LiveRefresh>(
      self, "LiveRefresh.trade", args, nargs, 13, 15, [](LiveRefresh& refresh, const FastArgs& a) {
        return one_outcome_tuple(
            refresh.trade(a.object(0), a.object(1), a.object(2), a.object(3), a.object(4), a.integer(5, "size"),
                          a.integer(6, "row"), a.integer(7, "instrument"), a.number(8, "amount"),
                          a.number(9, "price"), a.number(10, "fee"), a.integer(11, "fee_col"), a.flag(12, "refresh"),
                          a.integer(13, "capture_top", 0), a.flag(14, "in_place", false)),
            true);
      });
}

PyObject* live_what_if(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  return riskoffset_bindings::fast_call<LiveRefresh>(
      self, "LiveRefresh.what_if", args, nargs, 12, 12, [](LiveRefresh& refresh, const FastArgs& a) {
        return refresh
            .what_if(a.object(0), a.object(1), a.object(2), a.object(3), a.object(4), a.integer(5, "size"),
                     a.integer(6, "row"), a.integers(7, "instruments"), a.numbers(8, "amounts"),
                     a.numbers(9, "prices"), a.numbers(10, "fees"), a.integers(11, "fee_cols"))
            .release()
            .ptr();
      });
}

PyObject* live_balance(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  return riskoffset_bindings::fast_call<LiveRefresh>(
      self, "LiveRefresh.balance", args, nargs, 10, 11, [](LiveRefresh& refresh, const FastArgs& a) {
        return one_outcome_tuple(
            refresh.balance(a.object(0), a.object(1), a.object(2), a.object(3), a.object(4), a.integer(5, "size"),
                            a.integer(6, "row"), a.integer(7, "col"), a.number(8, "amount"), a.flag(9, "add"),
                            a.integer(10, "capture_top", 0)),
            false);
      });
}

PyObject* live_option_tick(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  return riskoffset_bindings::fast_call<LiveRefresh>(
      self, "LiveRefresh.option_tick", args, nargs, 9, 12, [](LiveRefresh& refresh, const FastArgs& a) {
        return refresh
            .option_tick(a.instance<riskoffset_bindings::OptionReprice>(0, "reprice"), a.integer(1, "row"),
                         a.number(2, "sigma"), a.array<std::int64_t>(3, "starts"), a.array<std::int64_t>(4, "ends"),
                         a.array<std::int64_t>(5, "indices"), a.array<double>(6, "quantity"),
                         a.array<double>(7, "average"), a.array<std::int64_t>(8, "rows"), a.integer(9, "capture_top", 0),
                         a.flag(10, "trusted", false), a.flag(11, "find_worst", true))
            .release()
            .ptr();
      });
}

PyMethodDef live_trade_def = {
    "trade", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(live_trade)), METH_FASTCALL,
    "trade(start, end, indices, quantity, average, size, row, instrument, amount, price, fee, fee_col, refresh, "
    "capture_top=0, in_place=False), positional only\n\n"
    "A fill of account `row` written into the pool and its balances (with `in_place`, a fill that neither opens nor "
    "closes a position changes it where it lies), then (with `refresh`) the account recomputed: (new segment's "
    "length, -1 when the pool is full, -2 when written in place; whether a figure was non-finite and the trade "
    "undone; level before; level after; None or the account captured as a call captures it when its level changed "
    "and capture_top > 0; whether a position opened or closed)."};
PyMethodDef live_what_if_def = {
    "what_if", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(live_what_if)), METH_FASTCALL,
    "what_if(start, end, indices, quantity, average, size, row, instruments, amounts, prices, fees, fee_cols), "
    "positional only\n\nWhat-if of fills of account `row` (one entry per fill in each list): the fills applied in "
    "order as `trade` applies them (segments written past `size`), the account recomputed and captured, then "
    "everything put back: (0, -1 when the pool has no room or -3 where SPAN's full path computes the account; "
    "whether a figure was non-finite; the level after the fills; None, or the account's figures as a call "
    "captures them (a list), its largest group and that group's worst scenario).  The engine is as it was."};
PyMethodDef live_option_tick_def = {
    "option_tick", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(live_option_tick)), METH_FASTCALL,
    "option_tick(reprice, row, sigma, starts, ends, indices, quantity, average, rows, capture_top=0, trusted=False, "
    "find_worst=True), positional only\n\nAn option's vol tick: the option at `row` repriced at `sigma` by `reprice` "
    "(an OptionReprice bound to the same arrays), then the accounts `rows` recomputed as a call does (`trusted` and "
    "`find_worst` as a call takes them): "
    "(-1, moved, before, captured); -2 first when a kernel refuses an input (nothing changed); an engine row first "
    "when one of its figures was non-finite (everything put back, nothing captured)."};
PyMethodDef live_balance_def = {
    "balance", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(live_balance)), METH_FASTCALL,
    "balance(start, end, indices, quantity, average, size, row, col, amount, add, capture_top=0), positional only"
    "\n\nAccount `row`'s balance in currency column `col` set to `amount` (moved by it with `add`), the account "
    "recomputed: (whether a figure was non-finite and the change undone; level before; level after; None or the "
    "account captured as a call captures it when its level changed and capture_top > 0)."};

}  // namespace

void register_live(py::module_& m) {
  m.attr("NOT_CAPTURED") = kNotCaptured;
  m.def(
      "futures_fill",
      [](double held, double average, double quantity, double price, bool inverse) {
        const riskoffset::FuturesFill f = riskoffset::futures_fill(held, average, quantity, price, inverse);
        return py::make_tuple(held + quantity, f.average, f.realised);
      },
      py::arg("held"), py::arg("average"), py::arg("quantity"), py::arg("price"), py::arg("inverse"),
      "A fill of `quantity` at `price` on a futures position of `held` bought at `average`: (position after, its "
      "average price, P&L realised by the part that closes).");

  m.def(
      "settle",
      [](const Doubles& equity, const Doubles& initial, const Doubles& maintenance, const Doubles& price,
         const std::optional<Doubles>& cut_im, const std::optional<Doubles>& cut_mm) {
        RO_CHECK(equity.ndim() == 2, "equity must be a matrix accounts x currencies");
        const auto n = static_cast<std::size_t>(equity.shape(0)), k = static_cast<std::size_t>(equity.shape(1));
        for (const Doubles* a : {&initial, &maintenance})
          RO_CHECK(a->ndim() == 2 && static_cast<std::size_t>(a->shape(0)) == n &&
                       static_cast<std::size_t>(a->shape(1)) == k,
                   "initial and maintenance must have equity's shape");
        RO_CHECK(price.ndim() == 1 && static_cast<std::size_t>(price.size()) == k, "price needs one entry per currency");
        RO_CHECK(cut_im.has_value() == cut_mm.has_value(), "give both haircuts (cross collateral) or neither");
        if (cut_im)
          RO_CHECK(static_cast<std::size_t>(cut_im->size()) == k && static_cast<std::size_t>(cut_mm->size()) == k,
                   "haircuts need one entry per currency");
        const Doubles e = riskoffset_bindings::aligned(equity), im = riskoffset_bindings::aligned(initial),
                      mm = riskoffset_bindings::aligned(maintenance), px = riskoffset_bindings::aligned(price);
        Doubles ci, cm;
        if (cut_im) ci = riskoffset_bindings::aligned(*cut_im), cm = riskoffset_bindings::aligned(*cut_mm);
        const double* cip = cut_im ? ci.data() : nullptr;
        const double* cmp = cut_im ? cm.data() : nullptr;
        const auto sz = static_cast<py::ssize_t>(n);
        py::array_t<double> mb(sz), iu(sz), mu(sz), av(sz), ratio(sz);
        py::array_t<bool> bi(sz), bm(sz);
        {
          py::gil_scoped_release release;
          for (std::size_t a = 0; a < n; ++a) {
            const riskoffset::SettledAccount s = riskoffset::settle_account(
                e.data() + a * k, im.data() + a * k, mm.data() + a * k, px.data(), cip, cmp, k);
            mb.mutable_data()[a] = s.margin_balance, iu.mutable_data()[a] = s.initial_usd;
            mu.mutable_data()[a] = s.maintenance_usd, av.mutable_data()[a] = s.available;
            ratio.mutable_data()[a] = s.ratio;
            bi.mutable_data()[a] = s.below_initial, bm.mutable_data()[a] = s.below_maintenance;
          }
        }
        return py::make_tuple(mb, iu, mu, av, ratio, bi, bm);
      },
      py::arg("equity"), py::arg("initial"), py::arg("maintenance"), py::arg("price"), py::arg("cut_im") = py::none(),
      py::arg("cut_mm") = py::none(),
      "Per account: (margin balance, IM, MM, available funds in USD, MM ratio, below initial, below maintenance).");

  m.def(
      "collateral_usd",
      [](const Doubles& amounts, const Doubles& price, const Doubles& haircut) {
        RO_CHECK(amounts.ndim() == 2, "amounts must be a matrix accounts x currencies");
        const auto n = static_cast<std::size_t>(amounts.shape(0)), k = static_cast<std::size_t>(amounts.shape(1));
        RO_CHECK(price.ndim() == 1 && haircut.ndim() == 1 && static_cast<std::size_t>(price.size()) == k &&
                     static_cast<std::size_t>(haircut.size()) == k,
                 "price and haircut need one entry per currency");
        const Doubles a = riskoffset_bindings::aligned(amounts), px = riskoffset_bindings::aligned(price),
                      cut = riskoffset_bindings::aligned(haircut);
        py::array_t<double> out({amounts.shape(0), amounts.shape(1)});
        double* o = out.mutable_data();
        for (std::size_t r = 0; r < n; ++r)
          for (std::size_t c = 0; c < k; ++c)
            o[r * k + c] = riskoffset::collateral_value(a.data()[r * k + c], px.data()[c], cut.data()[c]);
        return out;
      },
      py::arg("amounts"), py::arg("price"), py::arg("haircut"),
      "USD collateral value per (account, currency): amount x price x (1 - haircut) for a positive amount, amount x "
      "price for a debt.");

  m.def(
      "futures_pnl",
      [](const Doubles& amount, const Doubles& average, const Doubles& mark, const Bytes& inverse) {
        const auto n = static_cast<std::size_t>(amount.size());
        RO_CHECK(amount.ndim() == 1 && average.ndim() == 1 && mark.ndim() == 1 && inverse.ndim() == 1 &&
                     static_cast<std::size_t>(average.size()) == n && static_cast<std::size_t>(mark.size()) == n &&
                     static_cast<std::size_t>(inverse.size()) == n,
                 "amount, average, mark and inverse must be equal-length vectors");
        py::array_t<double> out(static_cast<py::ssize_t>(n));
        for (std::size_t p = 0; p < n; ++p)
          out.mutable_data()[p] = riskoffset::futures_pnl(amount.data()[p], average.data()[p], mark.data()[p],
                                                          inverse.data()[p] != 0);
        return out;
      },
      py::arg("amount"), py::arg("average"), py::arg("mark"), py::arg("inverse"),
      "Unrealised P&L of futures positions (inverse: amount x (1/average - 1/mark); linear: amount x (mark - average)).");

  py::class_<LiveRefresh> live(m, "LiveRefresh",
                          "The live engine's refresh bound to its arrays (checked once): call it with the positions of "
                          "the accounts to recompute");
  live.def(py::init<const py::dict&, const std::optional<py::dict>&, const py::dict&, const Doubles&,
                    const std::optional<Doubles>&, const std::optional<Doubles>&, int, const std::optional<Bytes>&>(),
           py::arg("instruments"), py::arg("pm"), py::arg("state"), py::arg("price"), py::arg("cut_im") = py::none(),
           py::arg("cut_mm") = py::none(), py::arg("threads") = 1, py::arg("grid_keys") = py::none())
      .def("figures", &LiveRefresh::figures, py::arg("rows"),
           "The accounts `rows` as the refresh left them: options value, futures P&L, IM and MM per currency (rows x "
           "currencies), then margin balance, IM, MM and available funds in USD and the MM ratio (per row).")
      .def("account_row", &LiveRefresh::account_row, py::arg("row"),
           "One account's figures as a call captures them (margin balance, IM, MM and available funds in USD, MM "
           "ratio, worst P&L in USD, then per currency balance, equity, IM and MM; a list), its largest group and "
           "that group's worst scenario (-1 without).")
      .def("update_market", &LiveRefresh::update_market, py::arg("price"), py::arg("pm") = py::none(),
           "Replace the bound prices and, under PM, the keys' parameters, rates and coin moves (read from the PM "
           "inputs `pm`) in place: an index move without a new binding.")
      .def("__call__", &LiveRefresh::call, py::arg("starts"), py::arg("ends"), py::arg("indices"), py::arg("quantity"),
           py::arg("average"), py::arg("rows"), py::arg("find_worst") = true, py::arg("capture_top") = 0,
           py::arg("trusted") = false,
           "Recompute the engine accounts `rows` (positions starts[a] .. ends[a] - 1 of the pool arrays) into the "
           "engine's arrays: (first row with a non-finite figure or -1, indices a whose level changed, their "
           "previous levels, None or what was captured of them).  With find_worst=False the PM keys' worst scenario "
           "indices keep their values (the worst P&L and every margin figure are recomputed), except those of the "
           "accounts whose level changed.  With capture_top > 0, each account whose level changed as the call left "
           "it: (figures: margin balance, IM, MM, available funds in USD, MM ratio, worst P&L in USD, then per "
           "currency balance, equity, IM, MM; worst: largest group and its worst scenario index; the capture_top "
           "positions losing most there: instruments (-2 first where that scenario awaits a search), quantities, "
           "P&L in USD), one row per account.  With trusted (the caller verified these pool arrays and has kept "
           "them read-only since), the positions are not read again: honoured only while starts, ends and indices "
           "are read-only.");
  riskoffset_bindings::add_fast_method(live, &live_trade_def);
  riskoffset_bindings::add_fast_method(live, &live_what_if_def);
  riskoffset_bindings::add_fast_method(live, &live_balance_def);
  riskoffset_bindings::add_fast_method(live, &live_option_tick_def);
}
