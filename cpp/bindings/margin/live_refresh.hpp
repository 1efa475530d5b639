// _core.margin.LiveRefresh: the live engine's recomputation of a set of accounts in one call (portfolio margin on
// the keys an update touched, options value, futures P&L, margin per currency, equity against margin and the
// level), written into the engine's own arrays where no other figure gives them (the rest `figures` adds up and
// settles again on demand).  Equity against margin is cpp/src/accounts/settle.hpp (one implementation for this
// and _core.margin.settle); the PM sums and steps are the active SIMD target's pm_live kernel (the same code as
// the bulk pass).
// This header holds the class and what its files share; the members are defined by concept:
//   live_refresh_bind.cpp    its construction, the checks of the bound arrays and of a call's accounts;
//   live_refresh_settle.cpp  the recomputation of many accounts (PM or grid, settle, capture) and the figures
//                            read back from what it keeps;
//   live_refresh_one.cpp     the calls of one event: a trade, a what-if, a balance, an option's vol tick;
// register_live.cpp binds it (its per-event calls through the fastcall convention).
// A member declared `inline` here is defined in the one file that calls it: inline as in the class body it had, so
// that the compiler inlines it as before (not inline, some were no longer inlined: pm_margins and cell_sums, in the
// settle's loop over accounts, among them).
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "../../src/accounts/positions.hpp"
#include "../../src/accounts/settle.hpp"
#include "../../src/margin/contributors.hpp"
#include "../common/arrays.hpp"
#include "../common/require.hpp"
#include "../scenarios/option_reprice.hpp"
#include "grid_live.hpp"
#include "span_account.hpp"
#include "standard_units.hpp"
#include "riskoffset/margin_kernels.hpp"

namespace riskoffset_bindings {

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
// columns an update recomputes), the per-account arrays (`segments`: off PM, with settle cells, the segments whose
// cells an update re-sums), the currencies' prices and haircuts: one of the three
// margin methods is bound, or the margin is given (the `instruments` dict's "given_margin": the accounts' margin
// columns as the engine wrote them).
// The engine builds a new one when it replaces one of them; calls then pass only the accounts' positions.
class LiveRefresh {
 public:
  using Doubles = DoubleArray;
  using Ints = pybind11::array_t<std::int64_t, pybind11::array::c_style | pybind11::array::forcecast>;
  using Bytes = pybind11::array_t<std::uint8_t, pybind11::array::c_style | pybind11::array::forcecast>;

  LiveRefresh(const pybind11::dict& instruments, const std::optional<pybind11::dict>& pm, const pybind11::dict& state,
              const Doubles& price_in, const std::optional<Doubles>& cut_im_in, const std::optional<Doubles>& cut_mm_in,
              int threads, const std::optional<Bytes>& grid_keys, const std::optional<Bytes>& segments);

  // Recompute the accounts whose positions are starts[a] .. ends[a] - 1 of the pool arrays (engine rows
  // `rows`): (first engine row with a non-finite figure or -1, indices a whose level changed, their previous
  // levels, what was captured of them or None).  Without find_worst the PM keys' worst_index cells keep their
  // values (PmLiveKeys), except for the accounts whose level changed: they are searched.  With capture_top > 0,
  // each account whose level changed is captured as the refresh leaves it, while its rows are in cache (an
  // event's figures and contributors, read later, would each miss the caches): Captured.
  // trusted: the caller verified the pool arrays (a call without it checked them all) and has kept them read-only
  // since, its own writers keeping every segment in the pool, in the table and ascending (checked_accounts).
  pybind11::tuple call(const Ints& starts, const Ints& ends, const Ints& indices, const Doubles& quantity_in,
                 const Doubles& average_in, const Ints& rows, bool find_worst, std::int64_t capture_top,
                 bool trusted);

  // The market's part of the bound inputs, replaced in place after an index move: the currencies' prices and,
  // under PM (`pm`: the PM inputs, of which only these are read), the keys' parameters, their USD rates and the
  // coin balances' scenario moves.  Binding anew cost an index tick 0.1-0.3 ms.  Sizes must be those bound;
  // everything is checked before anything changes.  Memory stays where it was bound (a call on another thread
  // never reads freed memory), but the engine calls this between its calls, never during one.
  void update_market(const Doubles& price_in, const std::optional<pybind11::dict>& pm);

  // The figures of the engine's accounts `rows` as the refresh left them, from what it keeps: per currency (rows x
  // currencies) the options value, futures P&L, IM and MM, then the margin balance, IM, MM and available funds in
  // USD and the MM ratio, then the largest group, its worst scenario and worst P&L in USD (one per row): the
  // settle's own sums and settlement, so the same bits.
  pybind11::tuple figures(const Ints& rows) const;

  // One account's figures (`row`), in a capture's order (a list), its largest group and that group's worst
  // scenario: what `figures` gives for one row, without an array per figure.
  pybind11::tuple account_row(std::int64_t row) const;
  // Numbers as a Python list of floats (one account's: an array each would cost more than the figures).
  static pybind11::list float_list(const std::vector<double>& values) {
    pybind11::list out(values.size());
    for (std::size_t j = 0; j < values.size(); ++j)
      PyList_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(j), pybind11::float_(values[j]).release().ptr());
    return out;
  }

  // An option's vol tick in one call: the option at `row` repriced at `sigma` by `reprice` (bound to the same
  // engine arrays), then the accounts of `rows` recomputed as `call` recomputes them (with or without the search of
  // their worst scenarios, `find_worst`), and the same tuple.  When a
  // kernel refuses an input, nothing changes and the first entry is -2.  When a figure comes out non-finite, the
  // option's values are put back, those accounts recomputed from them (the same code on the same inputs: the
  // same figures) and their levels restored; the first entry is then the account's engine row, and no level moved
  // (nor is anything captured).
  pybind11::tuple option_tick(riskoffset_bindings::OptionReprice& reprice, pybind11::ssize_t row, double sigma,
                              const Ints& starts, const Ints& ends, const Ints& indices, const Doubles& quantity_in,
                              const Doubles& average_in, const Ints& rows, std::int64_t capture_top,
                              bool trusted = false, bool find_worst = true);

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
    pybind11::object captured;  // (null: None)
    bool held_changed;
  };

  static std::string position_too_large(double amount) {
    return "the position would be " + pybind11::repr(pybind11::float_(amount)).cast<std::string>() +
           ": its size must stay below 9e+10, the largest a book nets in units of 1e-8";
  }

  OneOutcome trade(pybind11::handle start_in, pybind11::handle end_in, pybind11::handle indices_in,
                   pybind11::handle quantity_in, pybind11::handle average_in, std::int64_t size, std::int64_t row,
                   std::int64_t instrument, double quantity, double price, double fee, std::int64_t fee_col,
                   bool refresh, std::int64_t capture_top, bool in_place);

  // What-if of fills of the account at engine row `row`: fill j of instrument row instruments[j] (amounts[j]
  // signed, at prices[j], fees[j] in currency column fee_cols[j]) applied as `trade` applies one, each to the
  // positions the previous ones left (new segments written past `size`: the pool's used part is untouched), the
  // account recomputed and captured as a call captures it (capture_top contributors, at least 1), then
  // everything put back and the account recomputed from its inputs as they were (the same code on the same
  // inputs: the same figures), its level restored.  Returns (status, bad, level after the fills, captured):
  // status 0; -1 when the pool has no room for the fills' segments, -3 where SPAN's full path computes the
  // account (nothing changed, nothing captured); bad: a figure came out non-finite (everything put back); captured:
  // the account's figures (as `call` captures them, a list) and its largest group and that group's worst scenario.
  pybind11::tuple what_if(pybind11::handle start_in, pybind11::handle end_in, pybind11::handle indices_in,
                          pybind11::handle quantity_in, pybind11::handle average_in, std::int64_t size,
                          std::int64_t row, const std::vector<std::int64_t>& instruments,
                          const std::vector<double>& amounts, const std::vector<double>& prices,
                          const std::vector<double>& fees, const std::vector<std::int64_t>& fee_cols);

  // The balance of the account at engine row `row` in currency column `col` set to `amount` (or moved by it,
  // with `add`), then the account recomputed.  Returns (whether a figure came out non-finite, in which case the
  // balance, figures and level are put back as they were; the level before; the level after; what was captured
  // of the account, as `trade` captures it).
  OneOutcome balance(pybind11::handle start_in, pybind11::handle end_in, pybind11::handle indices_in,
                     pybind11::handle quantity_in, pybind11::handle average_in, std::int64_t size, std::int64_t row,
                     std::int64_t col, double amount, bool add, std::int64_t capture_top);

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
                            const Doubles& average_in, const Ints& rows, bool trusted = false) const;
  static constexpr std::size_t kCheckMinAccounts = 4096;

  // checked_accounts' checks of accounts [begin, end): whether all of them keep their positions in order.
  bool check_rows(const std::int64_t* ip, const std::int64_t* ep, const std::int64_t* r, const std::int64_t* ix,
                  std::int64_t n_pool, std::size_t begin, std::size_t end) const;
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
    pybind11::tuple captured_arrays(std::size_t n_figures) const;
    // (status, moved, before, captured or None) with the parts joined: the events come out in account order.
    pybind11::tuple tuple(std::int64_t status, std::size_t n_figures) const;
  };

  Outcome refresh_accounts(const Accounts& acc, bool find_worst = true, std::size_t capture_top = 0);

  // The pool arrays of the engine for a change of the account at `row` (checked: its segment lies in the
  // pool's first `size` entries and names instruments of the table).
  struct OneAccount {
    std::int64_t *start, *end, *indices;
    double *amounts, *average;
    std::int64_t capacity;
    std::size_t row;
    inline OneAccount(const LiveRefresh& r, pybind11::handle start_in, pybind11::handle end_in,
                      pybind11::handle indices_in, pybind11::handle quantity_in, pybind11::handle average_in,
                      std::int64_t row_in, std::int64_t size);
    riskoffset::PositionPool pool() const { return {indices, amounts, average, capacity}; }

   private:
    inline OneAccount(const LiveRefresh& r, pybind11::array_t<std::int64_t> start_in,
                      pybind11::array_t<std::int64_t> end_in, pybind11::array_t<std::int64_t> indices_in,
                      pybind11::array_t<double> quantity_in, pybind11::array_t<double> average_in, std::int64_t row_in,
                      std::int64_t size);
    // The segment's lines of the three pool arrays requested at once (each is a miss for a random account).
    inline void prefetch_segment(std::int64_t s, std::int64_t e) const;
  };

  // Every cell of the account at `row` a one-account call reads or writes, requested before any is read: for a
  // random account of a large venue each lies on its own cache line in memory, and the loads that follow would
  // otherwise wait for them one after another.
  inline void prefetch_account(std::size_t row, const std::int64_t* start, const std::int64_t* end) const;

  // The kept PM scratch for one call, held until the call ends; null (the call makes its own) without PM or while
  // another call holds it (a call that released the GIL, on another thread).
  struct KeptScratch {
    std::unique_lock<std::mutex> hold;
    riskoffset::PmScratch* scratch = nullptr;
  };
  // SPAN under a given margin (the `instruments` dict's "span" entry): its "account", a SpanAccount bound to the
  // file; per instrument row its "contract" row in the file (-1: none) and contracts per unit of the engine's
  // quantity ("per_unit"); per currency of the SpanAccount the engine's currency "column" (-1: none).
  void bind_span(const pybind11::dict& span, bool given);

  // The SPAN margin of the account of `acc` for the positions of its segment, in its margin columns (the old
  // ones saved for span_restore); false, with nothing written, where the full path computes it (an instrument
  // without contract, an account the SpanAccount refuses, a currency the engine lacks).
  inline bool span_margin(const OneAccount& acc);
  // Under SPAN, the account's margin for its positions now (span_margin), which the refresh then settles
  // against; where the full path computes the account, or the SPAN call throws, `put_back` undoes the fill
  // first.  True without SPAN.
  template <typename PutBack>
  inline bool span_margin_or_put_back(const OneAccount& acc, PutBack put_back);
  inline void span_restore(std::size_t row);

  KeptScratch kept_scratch();

  // The account recomputed from its inputs as they are (no capture).
  inline void recompute_one(const OneAccount& acc);

  // Recompute the account after a change; if a figure is not finite, `undo` puts its inputs back, the account
  // is recomputed from them (the same code on the same inputs: the same figures) and its level set to `was`.
  // Returns whether the change stands; when it does and the level changed, with capture_top > 0 `captured`
  // receives the account as `call` captures it.
  template <typename Undo>
  inline bool refresh_one(const OneAccount& acc, std::int8_t was, Undo undo, std::size_t capture_top,
                          pybind11::object& captured);

  // Accounts [begin, end) of `rows` (positions ip[a] .. ep[a] - 1 of the pool): PM on the bound keys, then
  // settle, then (with `capture`) capture_account of those whose level changed; the first engine row with a
  // non-finite figure, or -1.
  std::int64_t refresh_rows(const std::int64_t* ip, const std::int64_t* ep, const std::int64_t* ix,
                            const double* quantity, const double* average, const std::int64_t* r, std::size_t n_rows,
                            std::size_t begin, std::size_t end, std::vector<std::int64_t>& moved,
                            std::vector<std::int8_t>& before, bool rows_aligned = false, bool rows_sorted = false,
                            bool find_worst = true, Captured* capture = nullptr,
                            riskoffset::PmScratch* kept = nullptr) const;

  // Account a (engine row r[a]) as the refresh left it, appended to `out` (Captured).  Its contributors are
  // those of its largest group's worst scenario when that was searched: by this call (a bound key) or since
  // (not marked stale in the engine's worst_stale).
  void capture_account(const std::int64_t* ip, const std::int64_t* ep, const std::int64_t* ix, const double* quantity,
                       const std::int64_t* r, std::size_t a, Captured& out) const;
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
  bool copy_rows_aligned();
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

  void bind_pm(const pybind11::dict& d, const pybind11::dict& state);

  // The currencies' USD prices, each finite and >= 0.
  static std::vector<double> checked_prices(const Doubles& price_in);
  // The PM inputs' "key_rate": per key, what one unit of its currency is worth in USD.
  inline std::vector<double> checked_key_rate(const pybind11::dict& d) const;
  // The coin balances' scenario moves (dynamic collateral): per key a row of width() moves, the coin column it
  // takes (-1: none), and per currency the most a balance's scenario gain may count.
  struct Coins {
    std::vector<double> moves;
    std::vector<std::int64_t> col;
    std::vector<double> gain_cap;
  };
  Coins checked_coins(const pybind11::dict& d) const;

  // Options value, futures P&L, margin per currency, equity against margin and the level of each account.  The usual
  // numbers of currencies (BTC, ETH and USDC, the settlement currencies of Deribit's instruments, and USDT) get an
  // instance each: its loops over them have a known length (unrolled, no loop branches), the same operations
  // in the same order as the general one.
  inline std::int64_t settle_rows(const std::int64_t* ip, const std::int64_t* ep, const std::int64_t* ix,
                                  const double* quantity, const double* average, const std::int64_t* r,
                                  std::size_t begin, std::size_t end, std::vector<std::int64_t>& moved,
                                  std::vector<std::int8_t>& before, const SettleScope& scope,
                                  const riskoffset::PmLiveValues* summed = nullptr) const;
  template <bool kStandard>
  inline std::int64_t settle_rows_k(const std::int64_t* ip, const std::int64_t* ep, const std::int64_t* ix,
                                    const double* quantity, const double* average, const std::int64_t* r,
                                    std::size_t begin, std::size_t end, std::vector<std::int64_t>& moved,
                                    std::vector<std::int8_t>& before, const SettleScope& scope,
                                    const riskoffset::PmLiveValues* summed) const;
  // kK: the number of currencies, or 0 to read it from k_.  kStandard: standard margin is bound (its per-position
  // sums in the loop; the branch per position cost as much as a tenth of the loop).  `summed`: the PM pass
  // summed the options' values of accounts [begin, end) and listed their futures positions (PmLiveValues).
  template <std::size_t kK, bool kStandard>
  std::int64_t settle_rows_of(const std::int64_t* ip, const std::int64_t* ep, const std::int64_t* ix,
                              const double* quantity, const double* average, const std::int64_t* r, std::size_t begin,
                              std::size_t end, std::vector<std::int64_t>& moved, std::vector<std::int8_t>& before,
                              const SettleScope& scope, const riskoffset::PmLiveValues* summed) const;

  // The account at engine row `row` as the refresh left it: its options value, futures P&L, IM, MM and equity per
  // currency into the k-entry rows given, settled in USD (what the settle computed from the same inputs).
  inline riskoffset::SettledAccount account_figures(std::size_t row, double* opt, double* fut, double* im, double* mm,
                                                    double* eq, std::int64_t& top) const;

  // An account's largest group (-1: none), that group's worst scenario and worst P&L in USD: under PM from the
  // group figures (`top`: pm_margins' largest group), under a grid as kept, none under other methods.
  struct Worst {
    std::int64_t key = -1, index = -1;
    double usd = 0.0;
  };
  Worst worst_of(std::size_t row, std::int64_t top) const;

  // The figures of the account at `row` in a capture's order (n_figures() of them) appended to `out`: margin
  // balance, IM, MM and available funds in USD, MM ratio, worst P&L in USD, then per currency balance, equity, IM,
  // MM; returns its largest group and that group's worst scenario.
  Worst figures_row(std::size_t row, std::vector<double>& out) const;

  // An account's options value and futures P&L per currency from its settle cells (`opt_cell`, `fut_cell`): each
  // currency's cells summed in cell order, the one order of every path.  The engine keeps no currency column of
  // them: its queries add the cells up in the same order.
  inline void cell_sums(const double* opt_cell, const double* fut_cell, double* opt, double* fut) const;

  // Under PM, the margin per currency of the account at `row` from its keys' figures (the engine keeps no
  // currency column of it: its queries add the keys up in the same order), and the key with the largest IM in
  // USD (-1: none).  kK: the number of currencies k, or 0.
  template <std::size_t kK>
  inline std::int64_t pm_margins(std::size_t row, std::size_t k_in, double* im, double* mm) const;

  // Settle cells (SettleScope): kept by the engine, or the currencies.
  SettleScope every_scope_, pm_scope_;
  // Standard margin with settle cells: each account's IM and MM per cell (summed into its currencies' columns
  // by cell_sums).
  double *initial_part_ = nullptr, *maintenance_part_ = nullptr;
  // Off PM, the scope of an update on some segments (bound with `segments`).
  SettleScope segment_scope_;
  bool segment_scoped_ = false;
  bool values_fusable_ = false;  // the PM pass sums pm_scope_'s values (bind_pm)
  pybind11::array_t<std::int64_t> settle_cell_, cell_col_, cell_segment_;
  std::size_t n_cells_ = 0, n_segments_ = 0;
  std::vector<std::uint32_t> currency_cells_;  // every currency as (column, number of cells, its cells ascending)
  double *options_part_ = nullptr, *futures_part_ = nullptr;

  // The scope of a refresh: an update on PM keys, or off PM on some segments, re-sums their segments where the
  // accounts' positions are in ascending instrument row (its rows then bound where to read); anything else, every
  // cell.
  const SettleScope& settle_scope(bool rows_sorted) const {
    if (!n_cells_ || !rows_sorted) return every_scope_;
    if (pm_) return pm_scope_;
    return segment_scoped_ ? segment_scope_ : every_scope_;
  }

  // The instruments' "settle_cell" (its cell), "cell_currency" and "cell_segment" (per cell) and the state's
  // "options_part" and "futures_part" (rows x cells), when the engine keeps cells.
  void bind_settle_cells(const pybind11::dict& instruments, const pybind11::dict& state);

  // The cells of the segments `segment_on`, and the rows that hold their instruments.
  inline SettleScope scope_of(const std::vector<std::uint8_t>& segment_on) const;

  std::vector<pybind11::object> keep_;  // the dicts whose arrays the pointers below read
  int threads_ = 1;
  pybind11::array_t<double> unit_value_, mark_, balance_;
  std::vector<double> price_;
  Doubles cut_im_, cut_mm_;
  pybind11::array_t<std::uint8_t> is_future_, inverse_, is_option_;
  pybind11::array_t<std::int64_t> settle_col_;
  // Per instrument, settle_col, is_future and inverse in one word (they never change in place): one load per
  // position instead of three.
  static constexpr std::uint32_t kFutureBit = riskoffset::kSettleFutureBit, kInverseBit = riskoffset::kSettleInverseBit,
                                 kColumnBits = riskoffset::kSettleCellBits;
  std::vector<std::uint32_t> settle_meta_;
  std::size_t n_instr_ = 0, k_ = 0;
  pybind11::ssize_t n_total_ = 0;
  const double *cip_ = nullptr, *cmp_ = nullptr;
  double *options_ = nullptr, *futures_ = nullptr, *initial_ = nullptr, *maintenance_ = nullptr;
  double* worst_usd_ = nullptr;
  std::int64_t *worst_key_ = nullptr, *worst_index_ = nullptr;
  std::int8_t* level_ = nullptr;
  // portfolio margin
  bool pm_ = false;
  // standard margin (bound when the instruments carry it): unit margins and each instrument's margin currency
  riskoffset_bindings::BoundStandardUnits standard_;
  pybind11::array_t<std::int64_t> standard_col_;
  // a scenario grid (bound when the instruments carry one): its P&L rows, keyed by settle_col
  riskoffset_bindings::BoundGrid grid_;
  riskoffset_bindings::SpanAccount* span_ = nullptr;  // (its Python object is kept with the instruments dict)
  pybind11::array_t<std::int64_t> span_contract_, span_col_;
  pybind11::array_t<double> span_per_unit_;
  std::vector<std::int64_t> span_rows_;
  std::vector<double> span_n_, span_saved_;
  pybind11::array_t<std::int64_t> instrument_key_, column_, key_cur_;
  pybind11::array_t<double> vectors_, delta_, t_column_, extended_;
  std::vector<double> key_rate_;  // (the market's part: update_market rewrites it, coins_ and keys_ in place)
  Coins coins_;
  pybind11::array_t<std::uint8_t> key_on_;
  std::vector<riskoffset::PmKey> keys_;
  std::vector<std::int64_t> key_filtered_;
  std::size_t n_keys_ = 0;
  riskoffset::PmShape shape_;
  riskoffset::PmBook book_;
  riskoffset::PmLiveKeys live_;
  double *key_initial_ = nullptr, *key_maintenance_ = nullptr, *key_worst_pnl_ = nullptr;
  bool* worst_stale_ = nullptr;  // [row, key]: that worst scenario index awaits a search (PmLiveKeys::stale)
  std::int64_t* key_worst_index_ = nullptr;
};

}  // namespace riskoffset_bindings
