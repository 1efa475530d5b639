// SpanAccount (span_account.hpp): an account's SPAN margin from its positions, or the account left to the full
// path.
#include "span_account.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "../common/require.hpp"
#include "riskoffset/dispatch.hpp"

namespace py = pybind11;

namespace riskoffset_bindings {
namespace {

#include "margin/span_spread_count.hpp"

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

// The pass over groups [0, n_groups) of `model` (positions row/n, group_start offsets, group_cc), on rows the
// caller has checked (SpanModel::check_row).
void span_run_groups(const SpanModel& model, const std::int64_t* group_start, const std::int64_t* group_cc,
                     std::size_t n_groups, const std::int64_t* row, const double* n,
                     riskoffset::SpanColumns& out, std::vector<double>& scratch, int phase) {
  riskoffset::SpanBook b = model.book();
  b.group_start = group_start, b.group_cc = group_cc, b.n_groups = n_groups, b.row = row, b.n = n;
  scratch.resize(model.scratch_size());
  out.phase = phase;
  riskoffset::active_kernels().span_groups(b, out, scratch.data(), 0, n_groups);
}

}  // namespace

void SpanAccount::Columns::resize(std::size_t n, std::size_t inter_stride, std::size_t pool_stride) {
  scan.resize(n), intra.resize(n), spot.resize(n), som.resize(n), nov.resize(n), risk.resize(n), inter.resize(n);
  active.resize(n), formed.resize(n), unsupported.resize(n);
  out.scan = scan.data(), out.active = active.data(), out.intra = intra.data(), out.spot = spot.data();
  out.som = som.data(), out.nov = nov.data(), out.risk = risk.data(), out.formed = formed.data();
  out.unsupported = unsupported.data();
  out.price_risk = out.inter_orig = out.inter_delta = out.pool_state = nullptr;
  out.inter_stride = inter_stride, out.pool_stride = pool_stride;
  if (inter_stride || pool_stride) price_risk.resize(n), out.price_risk = price_risk.data();
  if (inter_stride) {
    inter_orig.resize(n * inter_stride), inter_delta.resize(n * inter_stride);
    out.inter_orig = inter_orig.data(), out.inter_delta = inter_delta.data();
  }
  out.offset = nullptr;
  if (pool_stride) {
    pool_state.resize(n * pool_stride), out.pool_state = pool_state.data();
    scan_now.resize(n), absorbed.resize(n), offset.resize(n), out.offset = offset.data();
  }
}

// One class of `model` for the account grouped in `w` into `c`: the pass (in two phases around the super spreads
// when the model has some), the inter spreads, each group's risk.  `formed` gets the kinds of the cross-commodity
// spreads formed; false where the full path computes the account.
bool SpanAccount::run_class(const SpanModel& model, Work& w, Columns& c, std::uint8_t& formed) const {
  const std::size_t n_groups = w.group_cc.size();
  const SpanCrossSpreads super_spreads = model.super_spreads(), inter = model.inter();
  const std::size_t max_pools = model.max_pools(), n_points = static_cast<std::size_t>(model.n_points);
  const std::size_t pool_stride = model.two_phases() ? 4 * max_pools + n_points : 0;
  c.resize(n_groups, inter.n ? model.max_inter_pools() : 0, pool_stride);
  const auto run = [&](int phase) {
    span_run_groups(model, w.group_start.data(), w.group_cc.data(), n_groups, w.row.data(), w.n.data(), c.out,
                    w.scratch, phase);
  };
  for (std::size_t g = 0; g < n_groups; ++g) c.inter[g] = 0.0;
  double* losses = pool_stride ? c.pool_state.data() + 4 * max_pools : nullptr;
  if (pool_stride) {
    run(1);
    for (std::size_t g = 0; g < n_groups; ++g) c.scan_now[g] = c.scan[g], c.absorbed[g] = 0, c.offset[g] = 0;
    const CrossPools pools{c.pool_state.data(), c.pool_state.data() + max_pools, c.pool_state.data() + 2 * max_pools,
                           pool_stride, losses, pool_stride, n_points, false};
    if (!cross_spreads(super_spreads, w, c, pools, formed)) return false;
    run(2);
  } else {
    run(0);
  }
  for (std::size_t g = 0; g < n_groups; ++g)
    if (c.unsupported[g]) return false;
  if (inter.n) {
    const CrossPools pools{c.inter_delta.data(), c.inter_orig.data(), nullptr, c.out.inter_stride, losses,
                           pool_stride, n_points, true};
    if (!cross_spreads(inter, w, c, pools, formed)) return false;
  }
  for (std::size_t g = 0; g < n_groups; ++g) {
    const double base = c.scan[g] + c.intra[g] + c.spot[g] - c.inter[g];
    c.risk[g] = c.som[g] > base ? c.som[g] : base;
  }
  return true;
}

// SPAN's scanning spread `s` of `x` on the account's groups (riskoffset.margining.span.spreads.scanning_spread): it
// forms when its target and at least one other leg are held and not yet taken by another scanning spread, every
// required leg among them, and the legs' losses scanned together in the target (the others' gains at the allowance)
// come to less than their scan risks: each leg is credited the scan risk it gives up (the target keeps the joint
// scan), the others' losses move into the target, and every leg takes no delta-based credit after it.  False where
// the pass cannot compute a spread that forms (per-point aggregation, no rate).
bool SpanAccount::scanning_spread(const SpanCrossSpreads& x, std::int64_t s, Work& w, Columns& c,
                                  const CrossPools& pools, std::uint8_t& formed) const {
  const std::int64_t l0 = x.leg_offset[s], l1 = x.leg_offset[s + 1];
  std::size_t held[8], n_held = 0, target = 8;
  for (std::int64_t l = l0; l < l1; ++l) {
    const std::int64_t g = w.group_of_cc[static_cast<std::size_t>(x.leg_cc[l])];
    if (g < 0 || c.absorbed[static_cast<std::size_t>(g)]) {
      if (x.leg_rate[l] != 0.0) return true;  // a required leg missing: it does not form
      continue;
    }
    if (x.leg_side[l] != 0.0) target = n_held;
    held[n_held++] = static_cast<std::size_t>(g);
  }
  if (target == 8 || n_held < 2) return true;
  if (x.method[s] == 4) return false;
  const std::size_t m = pools.n_points;
  const auto losses_of = [&](std::size_t g) { return pools.losses + g * pools.losses_stride; };
  w.combined.assign(losses_of(held[target]), losses_of(held[target]) + m);
  const double allowance = x.amount[s];
  for (std::size_t k = 0; k < n_held; ++k) {
    if (k == target) continue;
    const double* other = losses_of(held[k]);
    for (std::size_t j = 0; j < m; ++j) w.combined[j] += other[j] > 0 ? other[j] : allowance * other[j];
  }
  double joint = 0.0;
  if (m) {
    double top = w.combined[0];
    for (std::size_t j = 1; j < m; ++j) top = w.combined[j] > top ? w.combined[j] : top;
    joint = top > 0.0 ? top : 0.0;
  }
  double separate = 0.0;
  for (std::size_t k = 0; k < n_held; ++k) separate += c.scan_now[held[k]];
  if (joint >= separate) return true;
  for (std::size_t k = 0; k < n_held; ++k) {
    const std::size_t g = held[k];
    const double after = k == target ? joint : 0.0;
    c.inter[g] += c.scan_now[g] - after;
    c.scan_now[g] = after;
    if (k != target) {
      c.absorbed[g] = 1;
      std::fill(losses_of(g), losses_of(g) + m, 0.0);
    }
    c.offset[g] = 1;
    if (pools.inter_level) std::fill(pools.delta + g * pools.stride, pools.delta + (g + 1) * pools.stride, 0.0);
  }
  std::copy(w.combined.begin(), w.combined.end(), losses_of(held[target]));
  formed |= x.kind[s];
  return true;
}

// SPAN's delta spreads across combined commodities on the account's groups (`c`, in the class of the model `x`
// belongs to), as riskoffset.margining.span.spreads forms them (super spreads before the intra spreads, on the
// CCs' delta pools; inter spreads after them, on the inter pools they left): in the model's order, a spread whose
// CCs the account all holds forms when every leg's pool is non-zero and the A legs have one sign, the B legs the
// other; N = min |delta| / i over the legs, and each leg's pool moves N i toward zero (what it took is recorded
// where `pools` keeps it: the spot charge and the inter pools read it).  W credits each leg's CC rate x N x i x its
// weighted futures price risk (price risk per delta of the pool before the spreads, capped at or set to the
// futures price scan range by wfprMeth); F and P charge N x the amount per spread, shared equally by the spread's
// CCs; both book into the groups' inter credit.  `formed` gets the kinds of the spreads formed; false where a
// spread the pass cannot charge would form.
bool SpanAccount::cross_spreads(const SpanCrossSpreads& x, Work& w, Columns& c, const CrossPools& pools,
                                std::uint8_t& formed) const {
  const std::size_t n_groups = w.group_cc.size(), stride = pools.stride;
  const auto& of_cc = *x.of_cc;
  const auto& n_ccs = *x.n_ccs;
  w.formable.clear();
  for (std::size_t g = 0; g < n_groups; ++g) {
    const auto cc = static_cast<std::size_t>(w.group_cc[g]);
    w.group_of_cc[cc] = static_cast<std::int64_t>(g);
    for (const std::int64_t s : of_cc[cc]) {  // (a delta spread needs all its CCs, a scanning spread two)
      const std::int64_t need = x.method[s] >= 3 ? 2 : n_ccs[static_cast<std::size_t>(s)];
      if (++w.spread_held[static_cast<std::size_t>(s)] == need) w.formable.push_back(s);
    }
  }
  std::sort(w.formable.begin(), w.formable.end());
  bool ok = true;
  for (const std::int64_t s : w.formable) {
    const std::int64_t l0 = x.leg_offset[s], l1 = x.leg_offset[s + 1];
    if (x.method[s] >= 3) {
      if (!scanning_spread(x, s, w, c, pools, formed)) {
        ok = false;
        break;
      }
      continue;
    }
    const double count = span_spread_count(l0, l1, x.leg_side, x.leg_ratio, [&](std::int64_t l) {
      const auto g = static_cast<std::size_t>(w.group_of_cc[static_cast<std::size_t>(x.leg_cc[l])]);
      return pools.delta[g * stride + static_cast<std::size_t>(x.leg_pool[l])];
    });
    if (!(count > 0.0)) continue;
    if (x.method[s] == 2) {
      ok = false;
      break;
    }
    // every leg reads its pool before any moves (two legs may share one); amounts per CC in the legs' order
    const auto n_legs = static_cast<std::size_t>(l1 - l0);
    double before[8], amount[8];
    std::size_t group[8], at[8], ccs[8], n_unique = 0;
    for (std::size_t l = 0; l < n_legs; ++l) {
      group[l] = static_cast<std::size_t>(w.group_of_cc[static_cast<std::size_t>(x.leg_cc[l0 + l])]);
      at[l] = group[l] * stride + static_cast<std::size_t>(x.leg_pool[l0 + l]);
      before[l] = pools.delta[at[l]];
      std::size_t u = 0;
      while (u < n_unique && ccs[u] != group[l]) ++u;
      if (u == n_unique) ccs[n_unique] = group[l], amount[n_unique++] = 0.0;
    }
    if (x.method[s] == 1) {
      for (std::size_t l = 0; l < n_legs; ++l) {
        const std::int64_t leg = l0 + static_cast<std::int64_t>(l);
        const auto cc = static_cast<std::size_t>(x.leg_cc[leg]);
        const double orig = std::fabs(pools.orig[at[l]]);
        double wfpr = orig > 0 ? c.price_risk[group[l]] / orig : 0.0;
        if (x.wfpr_mode[cc] == 1) wfpr = x.psr[cc] < wfpr ? x.psr[cc] : wfpr;
        if (x.wfpr_mode[cc] == 2) wfpr = x.psr[cc];
        std::size_t u = 0;
        while (ccs[u] != group[l]) ++u;
        amount[u] += -(x.leg_rate[leg] * count * x.leg_ratio[leg] * wfpr);
      }
    } else {
      const double shared = count * x.amount[s] / static_cast<double>(n_unique);
      for (std::size_t u = 0; u < n_unique; ++u) amount[u] = shared;
    }
    for (std::size_t l = 0; l < n_legs; ++l) {
      const double size = count * x.leg_ratio[l0 + static_cast<std::int64_t>(l)];
      const double moved = before[l] < 0 ? -size : size;
      pools.delta[at[l]] = before[l] - moved;
      if (pools.consumed) pools.consumed[at[l]] += moved;
    }
    for (std::size_t u = 0; u < n_unique; ++u) c.inter[ccs[u]] -= amount[u];
    formed |= x.kind[s];
  }
  for (std::size_t g = 0; g < n_groups; ++g) {
    const auto cc = static_cast<std::size_t>(w.group_cc[g]);
    w.group_of_cc[cc] = -1;
    for (const std::int64_t s : of_cc[cc]) w.spread_held[static_cast<std::size_t>(s)] = 0;
  }
  return ok;
}

SpanAccount::SpanAccount(const py::dict& model_m, const std::optional<py::dict>& model_i, const py::dict& routing_in)
    : model_m_(model_m) {
  const SpanDict routing{routing_in, "SPAN routing"};
  if (model_i) model_i_.emplace(*model_i);
  const py::ssize_t n_cc = model_m_.n_cc, n_rows = model_m_.n_rows;
  supported_m_ = routing.array<std::uint8_t>("supported_m", n_cc);
  row_ok_m_ = routing.array<std::uint8_t>("row_ok_m", n_rows);
  if (model_i_) {
    RO_CHECK(model_i_->n_cc == n_cc && model_i_->n_rows == n_rows,
             "SPAN model_i: its CCs and contract rows must be model_m's");
    supported_i_ = routing.array<std::uint8_t>("supported_i", n_cc);
    row_ok_i_ = routing.array<std::uint8_t>("row_ok_i", n_rows);
  }
  risk_i_mode_ = routing.array<std::int64_t>("risk_i_mode", n_cc);
  adj_val_ = routing.array<double>("adj_val", n_cc);
  cap_anov_ = routing.array<std::uint8_t>("cap_anov", n_cc);
  cc_cur_ = routing.array<std::int64_t>("cc_cur", n_cc);
  factor_ = routing.array<double>("factor", -1);
  RO_CHECK(factor_.ndim() == 2 && factor_.shape(0) >= n_cc, "SPAN routing: 'factor' must be (CCs, currencies)");
  n_currencies_ = factor_.shape(1);
  divide_ = routing.array<std::uint8_t>("divide", factor_.size());
  missing_ = routing.array<std::uint8_t>("missing", factor_.size());
  for (py::ssize_t c = 0; c < n_cc; ++c) {
    RO_CHECK(cc_cur_.data()[c] >= 0 && cc_cur_.data()[c] < n_currencies_,
             "SPAN routing: CC " + std::to_string(c) + ": currency outside the table");
    RO_CHECK(risk_i_mode_.data()[c] >= 0 && risk_i_mode_.data()[c] <= 3,
             "SPAN routing: CC " + std::to_string(c) + ": risk_i_mode outside 0..3");
    RO_CHECK(risk_i_mode_.data()[c] != 2 || model_i_,
             "SPAN routing: CC " + std::to_string(c) + " computes its initial class directly: model_i needed");
  }
  currency_ = routing_in["currency"].cast<std::int64_t>();
  RO_CHECK(currency_ >= -1 && currency_ < n_currencies_, "SPAN routing: 'currency' outside the table");
  // The cross-commodity spreads: per CC the spreads it is a member of (each once), and how many of a spread's
  // CCs an account must hold for it to form.
  const auto offset = routing.array<std::int64_t>("spread_offset", -1);
  const auto members = routing.array<std::int64_t>("spread_cc", -1);
  need_ = routing.array<std::int64_t>("spread_need", offset.size() - 1);
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
  need_count_ = static_cast<std::size_t>(offset.size() - 1);
  one_ = fresh_work();
}

SpanAccount::Work SpanAccount::fresh_work() const {
  Work w;
  w.held.assign(need_count_, 0);
  w.checked.assign(static_cast<std::size_t>(model_m_.n_rows), 0);
  w.group_of_cc.assign(static_cast<std::size_t>(model_m_.n_cc), -1);
  std::int64_t n_spreads = 0;
  for (const SpanModel* model : {&model_m_, model_i_ ? &*model_i_ : nullptr})
    if (model) n_spreads = std::max({n_spreads, model->inter().n, model->super_spreads().n});
  w.spread_held.assign(static_cast<std::size_t>(n_spreads), 0);
  return w;
}

bool SpanAccount::margin(const std::int64_t* rows, const double* n, std::size_t count, SpanAccountFigures& out,
                         SpanAccountDetails* details) {
  return compute(one_, rows, n, count, out, details);
}

SpanAccount::Many SpanAccount::accounts(const std::int64_t* indptr, std::size_t n_accounts, const std::int64_t* rows,
                                        const double* n) {
  Many many;
  many.covered.assign(n_accounts, 0);
  many.figures.resize(n_accounts), many.details.resize(n_accounts);
  Work w = fresh_work();
  py::gil_scoped_release release;  // (works in `w` and the object's constant arrays only)
  for (std::size_t a = 0; a < n_accounts; ++a) {
    const std::int64_t first = indptr[a];
    many.covered[a] = compute(w, rows + first, n + first, static_cast<std::size_t>(indptr[a + 1] - first),
                              many.figures[a], &many.details[a]);
  }
  return many;
}

bool SpanAccount::compute(Work& w, const std::int64_t* rows, const double* n, std::size_t count,
                          SpanAccountFigures& out, SpanAccountDetails* details) const {
  // 1. netted in integer units of 1e-8 contracts (rounded half to even, as numpy rounds), zero sums dropped, and
  //    ordered by CC, then row: one sort on the key (CC + 1) x rows + row (a row outside every CC sorts first)
  const std::int64_t n_rows = model_m_.n_rows;
  const std::int64_t* cc_of_row = model_m_.cc_of_row;
  w.positions.clear();
  for (std::size_t p = 0; p < count; ++p) {
    const std::int64_t i = rows[p];
    RO_CHECK(i >= 0 && i < n_rows,
             "position " + std::to_string(p) + " names contract row " + std::to_string(i) + ", outside the file");
    const double scaled = n[p] * 1e8;
    RO_CHECK(std::isfinite(n[p]), "position " + std::to_string(p) + ": contracts not finite");
    RO_CHECK(std::fabs(scaled) < 9.2e18, "contract row " + std::to_string(i) + ": " + std::to_string(n[p]) +
                                             " contracts, beyond the 9.2e10 SPAN nets in units of 1e-8");
    w.positions.push_back({(cc_of_row[i] + 1) * n_rows + i, static_cast<std::int64_t>(std::nearbyint(scaled))});
  }
  const auto by_key = [](const Position& x, const Position& y) { return x.key < y.key; };
  if (!std::is_sorted(w.positions.begin(), w.positions.end(), by_key))  // (a merge sort: no quadratic input)
    std::stable_sort(w.positions.begin(), w.positions.end(), by_key);
  w.row.clear(), w.n.clear(), w.group_start.assign(1, 0), w.group_cc.clear();
  for (std::size_t p = 0; p < w.positions.size();) {
    const std::int64_t key = w.positions[p].key;
    std::int64_t total = 0;
    std::size_t q = p;
    for (; q < w.positions.size() && w.positions[q].key == key; ++q)
      RO_CHECK(!__builtin_add_overflow(total, w.positions[q].units, &total),
               "contract row " + std::to_string(key % n_rows) + ": the position's sum overflows");
    p = q;
    if (total == 0) continue;
    if (key < n_rows) return false;  // a contract outside every CC: the full path
    const std::int64_t c = key / n_rows - 1;
    if (w.group_cc.empty() || w.group_cc.back() != c) {
      if (!w.group_cc.empty()) w.group_start.push_back(static_cast<std::int64_t>(w.row.size()));
      w.group_cc.push_back(c);
    }
    w.row.push_back(key % n_rows);
    w.n.push_back(static_cast<double>(total) / 1e8);
  }
  if (w.row.empty()) return false;
  w.group_start.push_back(static_cast<std::int64_t>(w.row.size()));
  // 2. routed
  if (!covered(w)) return false;
  // 3. the pass in the maintenance class, and in the initial class where the file computes it directly (each
  //    contract row checked the first time the work holds it: the file does not change)
  const std::size_t n_groups = w.group_cc.size();
  for (std::size_t g = 0; g < n_groups; ++g)
    for (std::int64_t p = w.group_start[g]; p < w.group_start[g + 1]; ++p) {
      const std::int64_t i = w.row[static_cast<std::size_t>(p)];
      if (!w.checked[static_cast<std::size_t>(i)]) {
        model_m_.check_row(i, w.group_cc[g]);
        if (model_i_) model_i_->check_row(i, w.group_cc[g]);
        w.checked[static_cast<std::size_t>(i)] = 1;
      }
    }
  std::uint8_t inter_formed = 0, unused = 0;
  if (!run_class(model_m_, w, w.m, inter_formed)) return false;
  bool direct = false;  // a CC whose initial class the pass computes itself
  for (std::size_t g = 0; g < n_groups; ++g) direct |= risk_i_mode_.data()[w.group_cc[g]] == 2;
  if (direct && !run_class(*model_i_, w, w.i, unused)) return false;
  // 4. the groups added up in the account's currency (and, with details, each component)
  SpanTotals totals;
  SpanAccountDetails d;
  double worst_scan = 0.0;
  const auto cur = static_cast<std::size_t>(w.account_currency);
  for (std::size_t g = 0; g < n_groups; ++g) {
    const auto c = static_cast<std::size_t>(w.group_cc[g]);
    const double risk_m = w.m.risk[g];
    const std::int64_t mode = risk_i_mode_.data()[c];
    const double risk_i = mode == 1 ? adj_val_.data()[c] * risk_m : (mode == 2 ? w.i.risk[g] : risk_m);
    const std::size_t at = c * static_cast<std::size_t>(n_currencies_) + cur;
    const double factor = factor_.data()[at];
    const bool divide = divide_.data()[at] != 0;
    totals.add(risk_m, risk_i, w.m.nov[g], cap_anov_.data()[c] != 0, factor, divide);
    if (!details) continue;
    const auto conv = [&](double v) { return divide ? v / factor : v * factor; };
    const double scan = conv(w.m.scan[g]);
    const double over = w.m.som[g] - (w.m.scan[g] + w.m.intra[g] + w.m.spot[g] - w.m.inter[g]);
    d.scan_risk += scan;
    d.intra_spread_charge += conv(w.m.intra[g]);
    d.spot_charge += conv(w.m.spot[g]);
    d.inter_spread_credit -= conv(w.m.inter[g]);
    d.som_excess += conv(over > 0.0 ? over : 0.0);
    d.initial_adjustment += conv(risk_i - risk_m);
    d.net_option_value -= conv(w.m.nov[g]);
    d.formed |= w.m.formed[g];
    d.inter_formed = inter_formed;
    if (w.m.active[g] > 0 && (d.worst_cc < 0 || scan > worst_scan))
      worst_scan = scan, d.worst_cc = w.group_cc[g], d.worst_index = w.m.active[g];
  }
  out.initial = SpanTotals::floored(totals.initial);
  out.maintenance = SpanTotals::floored(totals.maintenance);
  out.currency = w.account_currency;
  if (details) {
    d.worst_pnl = d.worst_cc < 0 ? 0.0 : -worst_scan;
    *details = d;
  }
  return true;
}

// Whether the pass covers the account grouped in w.row / w.group_cc (as span_margins routes it); sets
// w.account_currency.
bool SpanAccount::covered(Work& w) const {
  for (const std::int64_t c : w.group_cc) {
    if (!supported_m_.data()[c] || risk_i_mode_.data()[c] == 3) return false;
    if (model_i_ && !supported_i_.data()[c]) return false;
  }
  for (const std::int64_t i : w.row) {
    if (!row_ok_m_.data()[i]) return false;
    if (model_i_ && !row_ok_i_.data()[i]) return false;
  }
  bool forms = false;  // a cross-commodity spread with enough of its CCs held
  for (const std::int64_t c : w.group_cc)
    for (const std::int64_t s : spreads_of_cc_[static_cast<std::size_t>(c)])
      forms |= ++w.held[static_cast<std::size_t>(s)] >= need_.data()[s];
  for (const std::int64_t c : w.group_cc)
    for (const std::int64_t s : spreads_of_cc_[static_cast<std::size_t>(c)]) w.held[static_cast<std::size_t>(s)] = 0;
  if (forms) return false;
  w.account_currency = currency_ >= 0 ? currency_ : cc_cur_.data()[w.group_cc.front()];
  for (const std::int64_t c : w.group_cc) {
    if (currency_ < 0 && cc_cur_.data()[c] != w.account_currency) return false;
    if (missing_.data()[c * n_currencies_ + w.account_currency]) return false;
  }
  return true;
}

}  // namespace riskoffset_bindings
