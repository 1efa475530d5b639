// _core.margin (grid and SPAN part): the scenario-grid pass over a whole book and its steps for one group
// (cpp/src/margin/grid_margin.hpp), and SPAN per (account, combined commodity) in one rate class
// (cpp/src/margin/span_margin.hpp), run by the active SIMD target.  Inputs are checked here, once, with the
// field and row named; the passes run without the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "../common/arrays.hpp"
#include "../common/require.hpp"
#include "../memory/buffer_pool.hpp"
#include "riskoffset/dispatch.hpp"

namespace py = pybind11;

namespace {

using Doubles = riskoffset_bindings::DoubleArray;
using Ints = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

Ints aligned_ints(const Ints& a) {
  if (reinterpret_cast<std::uintptr_t>(a.data()) % alignof(std::int64_t) == 0) return a;
  return Ints::ensure(a.attr("copy")());
}

py::array_t<double> doubles(std::size_t n) {
  return riskoffset_bindings::new_double_array({static_cast<py::ssize_t>(n)});
}
py::array_t<std::int64_t> ints(std::size_t n) { return py::array_t<std::int64_t>(static_cast<py::ssize_t>(n)); }

void check_finite(const Doubles& a, const char* name, bool non_negative = false) {
  const double* d = a.data();
  for (py::ssize_t j = 0; j < a.size(); ++j)
    RO_CHECK(std::isfinite(d[j]) && (!non_negative || d[j] >= 0),
             std::string(name) + " entry " + std::to_string(j) + " is " + std::to_string(d[j]) +
                 (non_negative ? ": must be finite and >= 0" : ": must be finite"));
}

// A CSR book (indptr over accounts, instrument row and quantity per position) checked against n_instruments.
struct Csr {
  Ints indptr, indices;
  Doubles quantity;
  std::size_t n_accounts = 0;
};

Csr checked_csr(const Ints& indptr_in, const Ints& indices_in, const Doubles& quantity_in, std::size_t n_instruments) {
  Csr c{aligned_ints(indptr_in), aligned_ints(indices_in), riskoffset_bindings::aligned(quantity_in), 0};
  RO_CHECK(c.indptr.ndim() == 1 && c.indptr.size() >= 1, "indptr needs n_accounts + 1 entries");
  RO_CHECK(c.indices.ndim() == 1 && c.indices.size() == c.quantity.size(), "indices and quantity differ in length");
  c.n_accounts = static_cast<std::size_t>(c.indptr.size()) - 1;
  const std::int64_t* ip = c.indptr.data();
  RO_CHECK(ip[0] == 0 && ip[c.n_accounts] == c.indices.size(), "indptr must run from 0 to the number of positions");
  for (std::size_t a = 0; a < c.n_accounts; ++a)
    RO_CHECK(ip[a] <= ip[a + 1], "indptr decreases at account " + std::to_string(a));
  const std::int64_t* ix = c.indices.data();
  for (py::ssize_t p = 0; p < c.indices.size(); ++p)
    RO_CHECK(ix[p] >= 0 && static_cast<std::size_t>(ix[p]) < n_instruments,
             "position " + std::to_string(p) + " names instrument row " + std::to_string(ix[p]) + ", outside the table");
  const double* q = c.quantity.data();
  for (py::ssize_t p = 0; p < c.quantity.size(); ++p)
    RO_CHECK(std::isfinite(q[p]), "position " + std::to_string(p) + ": quantity is not finite");
  return c;
}

// Row of each account's first group (n_accounts + 1 entries): one group per distinct key of its positions.
std::vector<std::int64_t> group_starts(const Csr& c, const std::int64_t* key, std::size_t n_keys) {
  std::vector<std::int64_t> first(c.n_accounts + 1, 0);
  std::vector<std::uint8_t> seen(n_keys, 0);
  const std::int64_t* ip = c.indptr.data();
  const std::int64_t* ix = c.indices.data();
  for (std::size_t a = 0; a < c.n_accounts; ++a) {
    std::int64_t n = 0;
    for (std::int64_t p = ip[a]; p < ip[a + 1]; ++p) {
      const auto k = static_cast<std::size_t>(key[ix[p]]);
      if (!seen[k]) seen[k] = 1, ++n;
    }
    for (std::int64_t p = ip[a]; p < ip[a + 1]; ++p) seen[static_cast<std::size_t>(key[ix[p]])] = 0;
    first[a + 1] = first[a] + n;
  }
  return first;
}

py::dict grid_accounts(const Ints& indptr, const Ints& indices, const Doubles& quantity, const Ints& key_in,
                       std::int64_t n_keys, const Doubles& pnl_in, const Doubles& weight_in, double maintenance_ratio,
                       double provisions, const std::optional<Doubles>& delta_in,
                       const std::optional<Ints>& underlying_in, const std::optional<Doubles>& index_in,
                       const std::optional<py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>>& usd_like_in,
                       double net_rate, double hedged_rate, bool keep_vectors) {
  const Doubles pnl = riskoffset_bindings::aligned(pnl_in), weight = riskoffset_bindings::aligned(weight_in);
  const Ints key = aligned_ints(key_in);
  RO_CHECK(pnl.ndim() == 2, "pnl must be a (instruments, scenarios) matrix");
  const auto n_instruments = static_cast<std::size_t>(pnl.shape(0)), m = static_cast<std::size_t>(pnl.shape(1));
  RO_CHECK(weight.ndim() == 1 && static_cast<std::size_t>(weight.size()) == m, "weight needs one entry per scenario");
  check_finite(weight, "weight", true);
  RO_CHECK(std::isfinite(maintenance_ratio) && maintenance_ratio >= 0, "maintenance_ratio must be finite and >= 0");
  RO_CHECK(std::isfinite(provisions), "provisions must be finite");
  RO_CHECK(n_keys >= 0, "n_keys must be >= 0");
  RO_CHECK(key.ndim() == 1 && static_cast<std::size_t>(key.size()) == n_instruments,
           "instrument_key needs one entry per row of pnl");
  for (std::size_t i = 0; i < n_instruments; ++i)
    RO_CHECK(key.data()[i] >= 0 && key.data()[i] < n_keys,
             "instrument row " + std::to_string(i) + ": key outside [0, n_keys)");
  const Csr c = checked_csr(indptr, indices, quantity, n_instruments);

  riskoffset::GridBook book;
  book.indptr = c.indptr.data(), book.indices = c.indices.data(), book.quantity = c.quantity.data();
  book.n_accounts = c.n_accounts, book.key = key.data(), book.n_keys = static_cast<std::size_t>(n_keys);
  book.pnl = pnl.data(), book.n_scenarios = m, book.weight = weight.data();
  book.maintenance_ratio = maintenance_ratio, book.provisions = provisions;
  Doubles delta, index;
  Ints underlying;
  py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast> usd_like;
  const bool with_delta = delta_in.has_value() || underlying_in.has_value() || index_in.has_value() || usd_like_in.has_value();
  if (with_delta) {
    RO_CHECK(delta_in && underlying_in && index_in && usd_like_in, "delta, underlying, index and usd_like go together");
    delta = riskoffset_bindings::aligned(*delta_in), underlying = aligned_ints(*underlying_in);
    index = riskoffset_bindings::aligned(*index_in), usd_like = *usd_like_in;
    RO_CHECK(std::isfinite(net_rate) && net_rate >= 0 && std::isfinite(hedged_rate) && hedged_rate >= 0,
             "net_rate and hedged_rate must be finite and >= 0");
    RO_CHECK(static_cast<std::size_t>(delta.size()) == n_instruments && static_cast<std::size_t>(underlying.size()) == n_instruments,
             "delta and underlying need one entry per row of pnl");
    RO_CHECK(static_cast<std::int64_t>(usd_like.size()) == n_keys, "usd_like needs one entry per key");
    const auto n_u = static_cast<std::int64_t>(index.size());
    for (std::size_t i = 0; i < n_instruments; ++i)
      RO_CHECK(underlying.data()[i] >= 0 && underlying.data()[i] < n_u,
               "instrument row " + std::to_string(i) + ": underlying outside index");
    book.delta = delta.data(), book.underlying = underlying.data(), book.n_underlyings = static_cast<std::size_t>(n_u);
    book.index = index.data(), book.usd_like = usd_like.data(), book.net_rate = net_rate, book.hedged_rate = hedged_rate;
  }
  std::vector<std::int64_t> first;
  {
    py::gil_scoped_release release;
    first = group_starts(c, book.key, book.n_keys);
  }
  const auto n_groups = static_cast<std::size_t>(first[c.n_accounts]);
  auto account = ints(n_groups), group_key = ints(n_groups), worst = ints(n_groups);
  auto scan = doubles(n_groups), worst_pnl = doubles(n_groups), min_delta = doubles(n_groups),
       required = doubles(n_groups), initial = doubles(n_groups), maintenance = doubles(n_groups);
  py::array_t<double> vectors;
  riskoffset::GridColumns out;
  out.account = account.mutable_data(), out.key = group_key.mutable_data(), out.worst = worst.mutable_data();
  out.scan = scan.mutable_data(), out.worst_pnl = worst_pnl.mutable_data(), out.min_delta = min_delta.mutable_data();
  out.required = required.mutable_data(), out.initial = initial.mutable_data();
  out.maintenance = maintenance.mutable_data();
  if (keep_vectors) {
    vectors = riskoffset_bindings::new_double_array({static_cast<py::ssize_t>(n_groups), static_cast<py::ssize_t>(m)});
    out.pnl = vectors.mutable_data();
  }
  {
    py::gil_scoped_release release;  // writes only the fresh arrays above and this frame's scratch
    const std::size_t cells = book.n_keys * (book.n_underlyings ? book.n_underlyings : 1);
    std::vector<double> sums(book.n_keys * m), net(cells), gross(cells);
    std::vector<std::uint8_t> used(book.n_keys, 0), held(cells, 0);
    const riskoffset::GridScratch scratch{sums.data(), net.data(), gross.data(), used.data(), held.data()};
    riskoffset::active_kernels().grid_accounts(book, first.data(), out, scratch, 0, c.n_accounts);
  }
  py::dict result;
  result["account"] = account, result["key"] = group_key, result["scan"] = scan, result["worst_index"] = worst;
  result["worst_pnl"] = worst_pnl, result["min_delta"] = min_delta, result["required"] = required;
  result["initial"] = initial, result["maintenance"] = maintenance;
  if (keep_vectors) result["pnl"] = vectors;
  return result;
}

// ---------------------------------------------------------------------------------------------- SPAN
template <typename T>
using Array = py::array_t<T, py::array::c_style | py::array::forcecast>;

// One named array of the compiled SPAN model, with `size` entries (or any number when size < 0).
template <typename T>
Array<T> model_array(const py::dict& model, const char* name, py::ssize_t size) {
  RO_CHECK(model.contains(name), std::string("SPAN model: no '") + name + "' array");
  Array<T> a = Array<T>::ensure(model[name]);
  RO_CHECK(a, std::string("SPAN model: '") + name + "' is not a numeric array");
  if (reinterpret_cast<std::uintptr_t>(a.data()) % alignof(T) != 0) a = Array<T>::ensure(a.attr("copy")());
  RO_CHECK(size < 0 || a.size() == size, std::string("SPAN model: '") + name + "' has " + std::to_string(a.size()) +
                                             " entries, expected " + std::to_string(size));
  return a;
}

template <typename T>
void check_offsets(const Array<T>& offsets, std::int64_t total, const char* name) {
  RO_CHECK(offsets.size() >= 1 && offsets.data()[0] == 0 && offsets.data()[offsets.size() - 1] == total,
           std::string("SPAN model: '") + name + "' must run from 0 to " + std::to_string(total));
  for (py::ssize_t j = 0; j + 1 < offsets.size(); ++j)
    RO_CHECK(offsets.data()[j] <= offsets.data()[j + 1], std::string("SPAN model: '") + name + "' decreases at " + std::to_string(j));
}

py::dict span_groups(const Ints& group_start_in, const Ints& group_cc_in, const Ints& row_in, const Doubles& n_in,
                     const py::dict& model) {
  const Ints group_start = aligned_ints(group_start_in), group_cc = aligned_ints(group_cc_in), row = aligned_ints(row_in);
  const Doubles n = riskoffset_bindings::aligned(n_in);
  const auto arrays = model_array<double>(model, "arrays", -1);
  RO_CHECK(arrays.ndim() == 2, "SPAN model: 'arrays' must be (contracts, points)");
  const py::ssize_t n_rows = arrays.shape(0), n_points = arrays.shape(1);
  const auto delta = model_array<double>(model, "delta", n_rows);
  const auto period_pool = model_array<std::int64_t>(model, "period_pool", n_rows);
  const auto som_mask = model_array<std::uint64_t>(model, "som_mask", n_rows);
  const auto scan_mask = model_array<std::uint64_t>(model, "scan_mask", n_rows);
  const auto option = model_array<std::int8_t>(model, "option", n_rows);
  const auto premium = model_array<std::uint8_t>(model, "premium", n_rows);
  const auto price = model_array<double>(model, "price", n_rows);
  const auto cvf = model_array<double>(model, "cvf", n_rows);
  const auto cc_of_row = model_array<std::int64_t>(model, "cc_of_row", n_rows);
  const auto pool_offset = model_array<std::int64_t>(model, "pool_offset", -1);
  const py::ssize_t n_cc = pool_offset.size() - 1;
  RO_CHECK(n_cc >= 0, "SPAN model: 'pool_offset' needs n_cc + 1 entries");
  const auto n_tier_pools = model_array<std::int64_t>(model, "n_tier_pools", n_cc);
  const auto star = model_array<std::uint8_t>(model, "star", n_cc);
  const auto n_scan_tiers = model_array<std::int64_t>(model, "n_scan_tiers", n_cc);
  const auto spread_offset = model_array<std::int64_t>(model, "spread_offset", n_cc + 1);
  const auto som_offset = model_array<std::int64_t>(model, "som_offset", n_cc + 1);
  const auto spot_offset = model_array<std::int64_t>(model, "spot_offset", n_cc + 1);
  const py::ssize_t n_spot = spot_offset.data()[n_cc];
  const auto spot_sprd = model_array<double>(model, "spot_sprd", n_spot);
  const auto spot_outr = model_array<double>(model, "spot_outr", n_spot);
  const auto spot_pool_offset = model_array<std::int64_t>(model, "spot_pool_offset", n_spot + 1);
  const auto spot_pool = model_array<std::int64_t>(model, "spot_pool", spot_pool_offset.data()[n_spot]);
  const auto som_gross = model_array<std::uint8_t>(model, "som_gross", n_cc);
  const auto period_tier = model_array<std::int64_t>(model, "period_tier", pool_offset.data()[n_cc]);
  const auto som_rate = model_array<double>(model, "som_rate", som_offset.data()[n_cc]);
  const py::ssize_t n_spreads = spread_offset.data()[n_cc];
  const auto leg_offset = model_array<std::int64_t>(model, "leg_offset", n_spreads + 1);
  const auto method = model_array<std::int8_t>(model, "method", n_spreads);
  const auto amount = model_array<double>(model, "amount", n_spreads);
  const auto kind = model_array<std::uint8_t>(model, "kind", n_spreads);
  const py::ssize_t n_legs = leg_offset.data()[n_spreads];
  const auto leg_pool = model_array<std::int64_t>(model, "leg_pool", n_legs);
  const auto leg_side = model_array<double>(model, "leg_side", n_legs);
  const auto leg_ratio = model_array<double>(model, "leg_ratio", n_legs);
  const auto leg_rate = model_array<double>(model, "leg_rate", n_legs);

  check_offsets(pool_offset, pool_offset.data()[n_cc], "pool_offset");
  check_offsets(spread_offset, n_spreads, "spread_offset");
  check_offsets(som_offset, som_rate.size(), "som_offset");
  check_offsets(leg_offset, n_legs, "leg_offset");
  check_offsets(spot_offset, n_spot, "spot_offset");
  check_offsets(spot_pool_offset, spot_pool.size(), "spot_pool_offset");
  for (py::ssize_t r = 0; r < n_spot; ++r)
    RO_CHECK(std::isfinite(spot_sprd.data()[r]) && std::isfinite(spot_outr.data()[r]),
             "SPAN model: spot rate " + std::to_string(r) + " is not finite");
  std::size_t max_pools = 1, max_scan_tiers = 0;
  for (py::ssize_t c = 0; c < n_cc; ++c) {
    RO_CHECK(n_scan_tiers.data()[c] >= 0 && n_scan_tiers.data()[c] <= 64,
             "SPAN model: CC " + std::to_string(c) + ": scan tiers outside 0..64");
    max_scan_tiers = std::max<std::size_t>(max_scan_tiers, static_cast<std::size_t>(n_scan_tiers.data()[c]));
    const std::int64_t size = pool_offset.data()[c + 1] - pool_offset.data()[c], tiers = n_tier_pools.data()[c];
    RO_CHECK(size >= 1 && tiers >= 0 && tiers < size, "SPAN model: CC " + std::to_string(c) + ": bad pool layout");
    RO_CHECK(!star.data()[c] || tiers == 0, "SPAN model: CC " + std::to_string(c) + ": a '*' CC has no tier pools");
    for (std::int64_t k = 0; k < size; ++k) {
      const std::int64_t t = period_tier.data()[pool_offset.data()[c] + k];
      RO_CHECK(t >= -1 && t < std::max<std::int64_t>(tiers, 1) && (k >= tiers || t == -1),
               "SPAN model: CC " + std::to_string(c) + ": pool " + std::to_string(k) + " names a tier outside its pools");
    }
    RO_CHECK(som_offset.data()[c + 1] - som_offset.data()[c] <= 64, "SPAN model: CC " + std::to_string(c) + ": more than 64 SOM tiers");
    for (std::int64_t s = spread_offset.data()[c]; s < spread_offset.data()[c + 1]; ++s) {
      RO_CHECK(method.data()[s] >= 0 && method.data()[s] <= 2, "SPAN model: spread " + std::to_string(s) + ": method outside 0..2");
      const std::int64_t legs = leg_offset.data()[s + 1] - leg_offset.data()[s];
      RO_CHECK(method.data()[s] == 2 || legs <= 8, "SPAN model: spread " + std::to_string(s) + ": more than 8 legs");
      for (std::int64_t l = leg_offset.data()[s]; l < leg_offset.data()[s + 1]; ++l) {
        RO_CHECK(leg_pool.data()[l] >= 0 && leg_pool.data()[l] < size,
                 "SPAN model: spread " + std::to_string(s) + ": a leg names a pool outside its CC");
        RO_CHECK(std::isfinite(leg_ratio.data()[l]) && leg_ratio.data()[l] > 0,
                 "SPAN model: spread " + std::to_string(s) + ": leg ratio must be finite and > 0");
      }
    }
    for (std::int64_t r = spot_offset.data()[c]; r < spot_offset.data()[c + 1]; ++r)
      for (std::int64_t q = spot_pool_offset.data()[r]; q < spot_pool_offset.data()[r + 1]; ++q)
        RO_CHECK(spot_pool.data()[q] >= tiers + (star.data()[c] ? 1 : 0) && spot_pool.data()[q] < size - 1,
                 "SPAN model: spot rate " + std::to_string(r) + " names a pool that is not one of its CC's periods");
    max_pools = std::max<std::size_t>(max_pools, static_cast<std::size_t>(size));
  }
  RO_CHECK(group_start.ndim() == 1 && group_start.size() >= 1, "group_start needs n_groups + 1 entries");
  const auto n_groups = static_cast<std::size_t>(group_start.size() - 1);
  RO_CHECK(static_cast<std::size_t>(group_cc.size()) == n_groups, "group_cc needs one entry per group");
  RO_CHECK(row.size() == n.size(), "row and n differ in length");
  RO_CHECK(group_start.data()[0] == 0 && group_start.data()[n_groups] == row.size(),
           "group_start must run from 0 to the number of positions");
  for (std::size_t g = 0; g < n_groups; ++g) {
    RO_CHECK(group_start.data()[g] <= group_start.data()[g + 1], "group_start decreases at group " + std::to_string(g));
    const std::int64_t c = group_cc.data()[g];
    RO_CHECK(c >= 0 && c < n_cc, "group " + std::to_string(g) + ": CC outside the model");
    for (std::int64_t p = group_start.data()[g]; p < group_start.data()[g + 1]; ++p) {
      const std::int64_t i = row.data()[p];
      RO_CHECK(i >= 0 && i < n_rows, "position " + std::to_string(p) + " names contract row " + std::to_string(i) + ", outside the file");
      RO_CHECK(cc_of_row.data()[i] == c, "position " + std::to_string(p) + ": contract row " + std::to_string(i) +
                                             " is not in its group's combined commodity");
      const std::int64_t pp = period_pool.data()[i];  // only the rows held are read: only they are checked
      RO_CHECK(pp >= n_tier_pools.data()[c] + (star.data()[c] ? 1 : 0) && pp < pool_offset.data()[c + 1] - pool_offset.data()[c],
               "SPAN model: contract row " + std::to_string(i) + ": period pool outside its CC");
      RO_CHECK(std::isfinite(n.data()[p]), "position " + std::to_string(p) + ": contracts not finite");
      const double* a = arrays.data() + i * n_points;
      for (py::ssize_t j = 0; j < n_points; ++j)
        RO_CHECK(std::isfinite(a[j]), "contract row " + std::to_string(i) + ": risk array not finite");
      RO_CHECK(std::isfinite(delta.data()[i]), "contract row " + std::to_string(i) + ": delta not finite");
      RO_CHECK(!premium.data()[i] || (std::isfinite(price.data()[i]) && std::isfinite(cvf.data()[i])),
               "contract row " + std::to_string(i) + ": price or cvf not finite");
    }
  }
  riskoffset::SpanBook b;
  b.group_start = group_start.data(), b.group_cc = group_cc.data(), b.n_groups = n_groups;
  b.row = row.data(), b.n = n.data(), b.arrays = arrays.data(), b.n_points = static_cast<std::size_t>(n_points);
  b.delta = delta.data(), b.period_pool = period_pool.data(), b.som_mask = som_mask.data(), b.option = option.data();
  b.scan_mask = scan_mask.data(), b.n_scan_tiers = n_scan_tiers.data(), b.max_scan_tiers = max_scan_tiers;
  b.premium = premium.data(), b.price = price.data(), b.cvf = cvf.data();
  b.pool_offset = pool_offset.data(), b.n_tier_pools = n_tier_pools.data(), b.period_tier = period_tier.data();
  b.star = star.data(), b.spread_offset = spread_offset.data(), b.som_offset = som_offset.data();
  b.som_gross = som_gross.data(), b.som_rate = som_rate.data(), b.leg_offset = leg_offset.data();
  b.method = method.data(), b.amount = amount.data(), b.kind = kind.data(), b.leg_pool = leg_pool.data();
  b.leg_side = leg_side.data(), b.leg_ratio = leg_ratio.data(), b.leg_rate = leg_rate.data(), b.max_pools = max_pools;
  b.spot_offset = spot_offset.data(), b.spot_sprd = spot_sprd.data(), b.spot_outr = spot_outr.data();
  b.spot_pool_offset = spot_pool_offset.data(), b.spot_pool = spot_pool.data();
  auto scan = doubles(n_groups), intra = doubles(n_groups), spot = doubles(n_groups), som = doubles(n_groups),
       nov = doubles(n_groups), risk = doubles(n_groups);
  auto active = ints(n_groups);
  Array<std::uint8_t> formed(static_cast<py::ssize_t>(n_groups)), unsupported(static_cast<py::ssize_t>(n_groups));
  riskoffset::SpanColumns out;
  out.scan = scan.mutable_data(), out.active = active.mutable_data(), out.intra = intra.mutable_data();
  out.spot = spot.mutable_data();
  out.som = som.mutable_data(), out.nov = nov.mutable_data(), out.risk = risk.mutable_data();
  out.formed = formed.mutable_data(), out.unsupported = unsupported.mutable_data();
  {
    py::gil_scoped_release release;  // reads the checked arrays above, writes the fresh ones
    std::vector<double> scratch(4 * max_pools + (1 + max_scan_tiers) * (static_cast<std::size_t>(n_points) + 1));
    riskoffset::active_kernels().span_groups(b, out, scratch.data(), 0, n_groups);
  }
  py::dict result;
  result["scan"] = scan, result["active"] = active, result["intra"] = intra, result["spot"] = spot, result["som"] = som;
  result["nov"] = nov, result["risk"] = risk, result["formed"] = formed, result["unsupported"] = unsupported;
  return result;
}

}  // namespace

void register_grid_span(py::module_& m) {
  m.def("grid_margin_accounts", &grid_accounts, py::arg("indptr"), py::arg("indices"), py::arg("quantity"),
        py::arg("instrument_key"), py::arg("n_keys"), py::arg("pnl"), py::arg("weight"),
        py::arg("maintenance_ratio"), py::arg("provisions"), py::arg("delta") = py::none(),
        py::arg("underlying") = py::none(), py::arg("index") = py::none(), py::arg("usd_like") = py::none(),
        py::arg("net_rate") = 0.0, py::arg("hedged_rate") = 0.0, py::arg("keep_vectors") = false,
        "Scenario-grid margin of every (account, key) group of a CSR book (columns in a dict): scan risk and its "
        "scenario, the minimum delta requirement when delta/underlying/index/usd_like are given, IM and MM; "
        "keep_vectors adds each group's scenario P&L (groups x scenarios).");

  m.def(
      "grid_margin_group",
      [](const Doubles& pnl_in, const Doubles& weight_in, double min_delta, double maintenance_ratio,
         double provisions) {
        const Doubles pnl = riskoffset_bindings::aligned(pnl_in), weight = riskoffset_bindings::aligned(weight_in);
        RO_CHECK(pnl.ndim() == 1 && weight.ndim() == 1 && pnl.size() == weight.size(),
                 "pnl and weight must be vectors of one entry per scenario");
        check_finite(weight, "weight", true);
        const riskoffset::GridGroupFigures f = riskoffset::active_kernels().grid_group(
            pnl.data(), weight.data(), static_cast<std::size_t>(pnl.size()), min_delta, maintenance_ratio, provisions);
        py::dict out;
        out["scan"] = f.scan, out["worst_index"] = f.worst, out["worst_pnl"] = f.worst_pnl;
        out["min_delta"] = f.min_delta, out["required"] = f.required, out["initial"] = f.initial;
        out["maintenance"] = f.maintenance;
        return out;
      },
      py::arg("pnl"), py::arg("weight"), py::arg("min_delta"), py::arg("maintenance_ratio"), py::arg("provisions"),
      "Steps of grid margin after the sum, for one group's scenario P&L (the same code as the bulk pass).");

  m.def("span_margin_groups", &span_groups, py::arg("group_start"), py::arg("group_cc"), py::arg("row"), py::arg("n"),
        py::arg("model"),
        "SPAN per (account, combined commodity) group of netted positions in one rate class: scan risk and its "
        "scenario, intra-commodity spread charge, spot-month charge, short option minimum, net option value and risk (columns in a "
        "dict); model: the arrays compiled from the file (riskoffset.margining.span.bulk).");
}
