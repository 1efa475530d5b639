// An account's SPAN margin from its positions: netted, grouped by combined commodity (CC), routed, the pass of
// cpp/src/margin/span_margin.hpp in the maintenance class (and in the initial class where the file computes it
// directly) with the super, inter-commodity and scanning spreads across its groups, the groups added up in the
// account's currency.  One account (a live trade's, a what-if order's) or every account of a book
// (riskoffset.margining.span.bulk.span_margins) through the same steps.  An account the pass does not cover (a
// spread the pass cannot compute that forms, a CC or row the pass cannot compute, several currencies, a missing
// conversion, no position) is refused, and the caller computes it by SPAN's per-account path
// (riskoffset.margining.span.algorithm.span_account).
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "riskoffset/grid_span_kernels.hpp"
#include "span_model.hpp"

namespace riskoffset_bindings {

struct SpanAccountFigures {
  double initial = 0.0, maintenance = 0.0;
  std::int64_t currency = 0;  // index into the routing's currencies
};

// The breakdown of an account's SPAN in its currency (what the many-account path reports per account): each
// component summed over its combined commodities, the kinds of the intra spreads formed, and its worst
// scenario (that of the CC with the largest converted scan risk, the first of equals; -1 without one).
struct SpanAccountDetails {
  double scan_risk = 0.0, intra_spread_charge = 0.0, spot_charge = 0.0, inter_spread_credit = 0.0, som_excess = 0.0,
         initial_adjustment = 0.0, net_option_value = 0.0;
  std::uint8_t formed = 0, inter_formed = 0;  // the kinds of the intra and of the inter spreads formed
  std::int64_t worst_cc = -1, worst_index = -1;
  double worst_pnl = 0.0;
};

// Bound once per (file, options): the compiled models and the routing arrays (bulk.py, `_prepare`).  `margin`
// works in the object's own buffers: its callers serialise their calls (the bindings hold the GIL); `accounts`
// works in buffers of its own and runs without the GIL.
class SpanAccount {
 public:
  SpanAccount(const pybind11::dict& model_m, const std::optional<pybind11::dict>& model_i,
              const pybind11::dict& routing);

  // The figures of the account holding n[p] contracts of contract row rows[p], p < count (rows repeated and in
  // any order), and with `details` its breakdown; false where the full path computes the account.  Throws
  // std::invalid_argument (ValueError) for a row outside the file or a quantity that is not finite.
  bool margin(const std::int64_t* rows, const double* n, std::size_t count, SpanAccountFigures& out,
              SpanAccountDetails* details = nullptr);

  // Accounts a < n_accounts holding positions indptr[a] .. indptr[a + 1] - 1 of rows / n: per account whether
  // it is covered (else the caller computes it), its figures and its breakdown.
  struct Many {
    std::vector<std::uint8_t> covered;
    std::vector<SpanAccountFigures> figures;
    std::vector<SpanAccountDetails> details;
  };
  Many accounts(const std::int64_t* indptr, std::size_t n_accounts, const std::int64_t* rows, const double* n);

  std::int64_t n_rows() const { return model_m_.n_rows; }
  pybind11::ssize_t n_currencies() const { return n_currencies_; }

 private:
  struct Columns {  // the pass's output for a few groups, and the inter spreads' credit per group
    std::vector<double> scan, intra, spot, som, nov, risk, inter, price_risk, inter_orig, inter_delta, pool_state;
    std::vector<double> scan_now;  // (with scanning spreads) the scan risk a group keeps after them
    std::vector<std::int64_t> active;
    std::vector<std::uint8_t> formed, unsupported;
    std::vector<std::uint8_t> absorbed, offset;  // a scanning spread moved its losses into another, or took it
    riskoffset::SpanColumns out;
    // n groups; with inter_stride > 0, what the inter spreads read (inter_stride pools a group); with pool_stride >
    // 0, the groups' pools kept between the pass's phases (the super spreads run in between)
    void resize(std::size_t n, std::size_t inter_stride, std::size_t pool_stride);
  };
  struct CrossPools {  // where a kind of cross spreads reads and moves the groups' pools (stride apart a group)
    double* delta;
    const double* orig;
    double* consumed;  // (null: not recorded)
    std::size_t stride;
    double* losses;  // the groups' scenario losses as scanning spreads leave them (null: no scanning spreads)
    std::size_t losses_stride, n_points;
    bool inter_level;  // (a scanning spread then zeroes the inter pools of the groups it takes)
  };
  struct Position {
    std::int64_t key, units;  // (CC + 1) x rows + row; contracts in units of 1e-8
  };
  // What one account's computation works in (a call allocates nothing once they have grown).
  struct Work {
    std::vector<Position> positions;
    std::vector<std::int64_t> row, group_start, group_cc;
    std::vector<double> n, scratch;
    std::vector<std::int64_t> held;      // per spread: its CCs the account holds (zero between accounts)
    std::vector<std::uint8_t> checked;   // per contract row: check_row passed in both models
    std::int64_t account_currency = 0;
    Columns m, i;
    std::vector<std::int64_t> group_of_cc;   // per CC: the account's group of it, -1 (between accounts: all -1)
    std::vector<std::int64_t> spread_held;   // per cross spread: its CCs the account holds (0 between accounts)
    std::vector<std::int64_t> formable;
    std::vector<double> combined;  // a scanning spread's joint losses
  };
  Work fresh_work() const;
  bool compute(Work& w, const std::int64_t* rows, const double* n, std::size_t count, SpanAccountFigures& out,
               SpanAccountDetails* details) const;
  bool covered(Work& w) const;
  bool run_class(const SpanModel& model, Work& w, Columns& c, std::uint8_t& formed) const;
  bool cross_spreads(const SpanCrossSpreads& x, Work& w, Columns& c, const CrossPools& pools,
                     std::uint8_t& formed) const;
  bool scanning_spread(const SpanCrossSpreads& x, std::int64_t s, Work& w, Columns& c, const CrossPools& pools,
                       std::uint8_t& formed) const;

  SpanModel model_m_;
  std::optional<SpanModel> model_i_;
  SpanArray<std::uint8_t> supported_m_, row_ok_m_, supported_i_, row_ok_i_, cap_anov_, divide_, missing_;
  SpanArray<std::int64_t> risk_i_mode_, cc_cur_, need_;
  SpanArray<double> adj_val_, factor_;
  pybind11::ssize_t n_currencies_ = 0;
  std::int64_t currency_ = -1;
  std::size_t need_count_ = 0;  // spreads
  std::vector<std::vector<std::int64_t>> spreads_of_cc_;
  Work one_;  // `margin`'s
};

}  // namespace riskoffset_bindings
