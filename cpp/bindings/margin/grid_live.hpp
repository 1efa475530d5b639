// A scenario grid's per-instrument inputs for the live engine's refresh (riskoffset.margining.grid.GridInputs,
// over the engine's whole instrument table), read from a dict of the caller's arrays, bound as they are (the
// engine updates the P&L rows, deltas and indices in place) and checked once; and the grid margin of a slice of
// the engine's accounts, written into its per-account arrays.  The sums and steps are the active SIMD target's
// grid_accounts kernel, the same code as ro.margin's grid pass: the groups are (account, settlement currency),
// and an instrument's group key is its engine currency column.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../common/arrays.hpp"
#include "../common/require.hpp"
#include "riskoffset/dispatch.hpp"
#include "riskoffset/grid_span_kernels.hpp"

namespace riskoffset_bindings {

// Where a slice's grid figures go: per account row, per currency column (k cells) the group's IM, MM, worst
// scenario index (-1: none loses) and P&L there; and the account's largest group (by IM in USD): its currency
// column, worst scenario index and that scenario's P&L in USD.
struct GridLiveOut {
  double *initial, *maintenance, *group_worst_pnl, *worst_usd;
  std::int64_t *group_worst_index, *worst_key, *worst_index;
  const double* price;  // USD per unit of each currency column
};

class BoundGrid {
 public:
  BoundGrid() = default;
  // `d`: the grid's arrays; `key`: each instrument's currency column (n entries, checked by the caller, < k);
  // `key_on`: the currency columns a call recomputes (k entries; null: all), the others keep their figures.
  BoundGrid(const pybind11::dict& d, const std::int64_t* key, std::size_t n, std::size_t k, const std::uint8_t* key_on) {
    pnl_ = field<double>(d, "pnl");
    RO_CHECK(pnl_.ndim() == 2 && static_cast<std::size_t>(pnl_.shape(0)) == n, "grid pnl must be (instruments, scenarios)");
    const auto m = static_cast<std::size_t>(pnl_.shape(1));
    weight_ = field<double>(d, "weight");
    RO_CHECK(weight_.ndim() == 1 && static_cast<std::size_t>(weight_.size()) == m, "grid weight needs one entry per scenario");
    for (std::size_t j = 0; j < m; ++j)
      RO_CHECK(std::isfinite(weight_.data()[j]) && weight_.data()[j] >= 0, "grid weight of scenario " + std::to_string(j));
    if (key_on) {  // the positions of the other columns are skipped (the kernel skips key -1)
      key_on_.assign(key_on, key_on + k);
      filtered_key_.resize(n);
      for (std::size_t i = 0; i < n; ++i) filtered_key_[i] = key_on[key[i]] ? key[i] : -1;
    }
    book_.key = key, book_.n_keys = k, book_.pnl = pnl_.data(), book_.n_scenarios = m, book_.weight = weight_.data();
    book_.maintenance_ratio = number(d, "maintenance_ratio"), book_.provisions = d["provisions"].cast<double>();
    RO_CHECK(std::isfinite(book_.provisions), "grid provisions must be finite");
    if (!d["delta"].is_none()) {  // the minimum delta requirement
      delta_ = field<double>(d, "delta"), underlying_ = field<std::int64_t>(d, "underlying");
      index_ = field<double>(d, "index"), usd_like_ = field<std::uint8_t>(d, "usd_like");
      RO_CHECK(delta_.ndim() == 1 && static_cast<std::size_t>(delta_.size()) == n && underlying_.ndim() == 1 &&
                   static_cast<std::size_t>(underlying_.size()) == n,
               "grid delta and underlying need one entry per instrument");
      RO_CHECK(usd_like_.ndim() == 1 && static_cast<std::size_t>(usd_like_.size()) == k, "grid usd_like needs one entry per currency");
      const auto n_u = static_cast<std::size_t>(index_.size());
      for (std::size_t i = 0; i < n; ++i)
        RO_CHECK(underlying_.data()[i] >= 0 && static_cast<std::size_t>(underlying_.data()[i]) < n_u,
                 "grid underlying of instrument row " + std::to_string(i));
      book_.delta = delta_.data(), book_.underlying = underlying_.data(), book_.n_underlyings = n_u;
      book_.index = index_.data(), book_.usd_like = usd_like_.data();
      book_.net_rate = number(d, "net_rate"), book_.hedged_rate = number(d, "hedged_rate");
    }
    bound_ = true;
  }
  bool bound() const { return bound_; }
  std::size_t n_scenarios() const { return book_.n_scenarios; }
  const double* pnl() const { return book_.pnl; }

  // One thread's scratch: the kernel's (zeroed) and a slice's groups, k per account.
  struct Work {
    std::vector<double> sums, net, gross, columns;
    std::vector<std::uint8_t> used, held;
    std::vector<std::int64_t> first, ints;
    riskoffset::GridScratch scratch;
    riskoffset::GridColumns out;
    Work(const Work&) = delete;  // (the views below point into the vectors: moved, they stay valid)
    Work(Work&&) = default;
    Work(const riskoffset::GridBook& b, std::size_t slice) {
      const std::size_t k = b.n_keys, cells = k * (b.n_underlyings ? b.n_underlyings : 1), groups = slice * k;
      sums.assign(k * b.n_scenarios, 0.0), net.assign(cells, 0.0), gross.assign(cells, 0.0);
      used.assign(k, 0), held.assign(cells, 0);
      scratch = {sums.data(), net.data(), gross.data(), used.data(), held.data()};
      first.resize(slice);
      for (std::size_t a = 0; a < slice; ++a) first[a] = static_cast<std::int64_t>(a * k);
      columns.assign(6 * groups, 0.0), ints.assign(3 * groups, 0);
      double* c = columns.data();
      std::int64_t* i = ints.data();
      out.scan = c, out.worst_pnl = c + groups, out.min_delta = c + 2 * groups, out.required = c + 3 * groups;
      out.initial = c + 4 * groups, out.maintenance = c + 5 * groups;
      out.account = i, out.key = i + groups, out.worst = i + 2 * groups;
    }
  };
  Work work(std::size_t slice) const { return Work(book_, slice); }

  // The accounts a = begin .. end - 1 of a call (positions ip[a] .. ep[a] - 1 of the pool, engine row r[a]), at
  // most the work's slice of them: their IM and MM per currency, and their largest group, into `o`.  With
  // `values`, the pass also takes the settle's sums of their positions of rows [first_row, stop_row)
  // (PmLiveValues, its futures_end counted from `begin`).
  void margin_rows(const std::int64_t* ip, const std::int64_t* ep, const std::int64_t* ix, const double* quantity,
                   const std::int64_t* r, std::size_t begin, std::size_t end, Work& w, const GridLiveOut& o,
                   const riskoffset::PmLiveValues* values = nullptr, std::int64_t first_row = 0,
                   std::int64_t stop_row = 0) const {
    riskoffset::GridBook b = book_;
    if (!filtered_key_.empty()) b.key = filtered_key_.data();  // (read here: a copied BoundGrid has its own)
    b.indptr = ip + begin, b.ends = ep + begin, b.indices = ix, b.quantity = quantity, b.n_accounts = end - begin;
    if (values) b.values = values, b.rows = r + begin, b.values_first_row = first_row, b.values_stop_row = stop_row;
    const std::size_t k = book_.n_keys, n = end - begin;
    for (std::size_t g = 0; g < n * k; ++g) w.out.account[g] = -1;  // (an account's unused group slots)
    riskoffset::active_kernels().grid_accounts(b, w.first.data(), w.out, w.scratch, 0, n);
    const std::uint8_t* on = key_on_.empty() ? nullptr : key_on_.data();
    for (std::size_t a = 0; a < n; ++a) {
      const auto row = static_cast<std::size_t>(r[begin + a]);
      double* im = o.initial + row * k;
      double* mm = o.maintenance + row * k;
      double* worst_pnl = o.group_worst_pnl + row * k;
      std::int64_t* worst_index = o.group_worst_index + row * k;
      for (std::size_t c = 0; c < k; ++c)
        if (!on || on[c]) im[c] = 0.0, mm[c] = 0.0, worst_pnl[c] = 0.0, worst_index[c] = -1;
      for (std::size_t g = a * k; g < (a + 1) * k && w.out.account[g] == static_cast<std::int64_t>(a); ++g) {
        const auto c = static_cast<std::size_t>(w.out.key[g]);
        im[c] = w.out.initial[g], mm[c] = w.out.maintenance[g];
        worst_index[c] = w.out.worst[g], worst_pnl[c] = w.out.worst_pnl[g];
      }
      // The largest group (the first of equal ones) and its worst scenario, recomputed or kept; none when no
      // scenario loses there (its margin is then the minimum delta's).
      std::size_t top = k;
      double top_usd = 0.0;
      for (std::size_t c = 0; c < k; ++c) {
        const double usd = im[c] * o.price[c];
        if (usd > 0.0 && (top == k || usd > top_usd)) top_usd = usd, top = c;
      }
      const bool worst = top < k && worst_index[top] >= 0;
      o.worst_key[row] = worst ? static_cast<std::int64_t>(top) : -1;
      o.worst_index[row] = worst ? worst_index[top] : -1;
      o.worst_usd[row] = worst ? worst_pnl[top] * o.price[top] : 0.0;
    }
  }

 private:
  template <typename T>
  static pybind11::array_t<T> field(const pybind11::dict& d, const char* name) {
    RO_CHECK(d.contains(name), std::string("grid: no array '") + name + "'");
    return exact_array<T>(d[name], name, false);
  }
  static double number(const pybind11::dict& d, const char* name) {
    RO_CHECK(d.contains(name), std::string("grid: no '") + name + "'");
    const double v = d[name].cast<double>();
    RO_CHECK(std::isfinite(v) && v >= 0, std::string("grid ") + name + " must be finite and >= 0");
    return v;
  }
  riskoffset::GridBook book_;
  std::vector<std::uint8_t> key_on_;          // empty: every currency column
  std::vector<std::int64_t> filtered_key_;    // per instrument its column, or -1 where the column is off
  pybind11::array_t<double> pnl_, weight_, delta_, index_;
  pybind11::array_t<std::int64_t> underlying_;
  pybind11::array_t<std::uint8_t> usd_like_;
  bool bound_ = false;
};

}  // namespace riskoffset_bindings
