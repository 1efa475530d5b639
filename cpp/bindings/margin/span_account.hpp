// One account's SPAN margin in one call: its positions netted, grouped by combined commodity (CC), routed, the
// pass of cpp/src/margin/span_margin.hpp in the maintenance class (and in the initial class where the file
// computes it directly), the groups added up.  The same steps, in the same order, as
// riskoffset.margining.span.bulk.span_margins gives that account; an account that function hands to its full
// path (a cross-commodity spread that could form, a CC or row the pass does not cover, several currencies, a
// missing conversion, no position) is refused (`margin` returns false) so the caller takes that path.
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

// The pass over groups [0, n_groups) of `model` (positions row/n, group_start offsets, group_cc), the rows it reads
// checked first (ValueError naming the position) unless the caller has (`checked`).
void span_run_groups(const SpanModel& model, const std::int64_t* group_start, const std::int64_t* group_cc,
                     std::size_t n_groups, const std::int64_t* row, const double* n,
                     const riskoffset::SpanColumns& out, std::vector<double>& scratch, bool release_gil,
                     bool checked = false);

struct SpanAccountFigures {
  double initial = 0.0, maintenance = 0.0;
  std::int64_t currency = 0;  // index into the routing's currencies
};

// Bound once per (file, options): the compiled models and the routing arrays (bulk.py, `_prepare`).  Not
// re-entrant: a caller serialises its calls (the bindings hold the GIL).
class SpanAccount {
 public:
  SpanAccount(const pybind11::dict& model_m, const std::optional<pybind11::dict>& model_i,
              const pybind11::dict& routing);

  // The figures of the account holding n[p] contracts of contract row rows[p], p < count (rows repeated and in
  // any order); false where the full path computes the account.  Throws std::invalid_argument (ValueError) for a
  // row outside the file or a quantity that is not finite.
  bool margin(const std::int64_t* rows, const double* n, std::size_t count, SpanAccountFigures& out);

  std::int64_t n_rows() const { return model_m_.n_rows; }
  pybind11::ssize_t n_currencies() const { return n_currencies_; }

 private:
  struct Columns {  // the pass's output for a few groups
    std::vector<double> scan, intra, spot, som, nov, risk;
    std::vector<std::int64_t> active;
    std::vector<std::uint8_t> formed, unsupported;
    riskoffset::SpanColumns out;
    void resize(std::size_t n);
  };

  bool covered();

  SpanModel model_m_;
  std::optional<SpanModel> model_i_;
  SpanArray<std::uint8_t> supported_m_, row_ok_m_, supported_i_, row_ok_i_, cap_anov_, divide_, missing_;
  SpanArray<std::int64_t> risk_i_mode_, cc_cur_, need_;
  SpanArray<double> adj_val_, factor_;
  pybind11::ssize_t n_currencies_ = 0;
  std::int64_t currency_ = -1, account_currency_ = 0;
  std::vector<std::vector<std::int64_t>> spreads_of_cc_;
  std::vector<std::int64_t> held_;  // per spread: its CCs the account holds (zero between calls)
  std::vector<std::uint8_t> checked_;  // per contract row: check_row passed in both models
  // per call (members: a call allocates nothing once they have grown)
  struct Position {
    std::int64_t key, units;  // (CC + 1) x rows + row; contracts in units of 1e-8
  };
  std::vector<Position> positions_;
  std::vector<std::int64_t> row_, group_start_, group_cc_;
  std::vector<double> n_, scratch_;
  Columns m_, i_;
};

}  // namespace riskoffset_bindings
