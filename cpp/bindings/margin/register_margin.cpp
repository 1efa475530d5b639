// _core.margin: the Deribit portfolio-margin pass over a whole book, its group layout, and the same steps
// for one group (the what-if path and the live engine call them, so the steps exist once:
// cpp/src/margin/portfolio_margin.hpp, run by the active SIMD target).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "group_starts.hpp"
#include "../common/arrays.hpp"
#include "../common/require.hpp"
#include "../memory/buffer_pool.hpp"
#include "standard_units.hpp"
#include "riskoffset/dispatch.hpp"

namespace py = pybind11;

namespace {

using Doubles = riskoffset_bindings::DoubleArray;
using Ints = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

// The order of a key's parameters in the `keys` matrix (Python builds it from KEY_FIELDS).
constexpr const char* kKeyFields[] = {"price_range",
                                      "index",
                                      "extended_dampener",
                                      "pnl_offset",
                                      "max_offsetable_pnl",
                                      "annualised_move_risk",
                                      "min_annualised_move",
                                      "delta_total_liq_shock_threshold",
                                      "m_inc",
                                      "max_delta_shock",
                                      "addons",
                                      "coin"};
constexpr std::size_t kKeyFieldCount = sizeof(kKeyFields) / sizeof(kKeyFields[0]);

Ints aligned_ints(const Ints& a) {
  if (reinterpret_cast<std::uintptr_t>(a.data()) % alignof(std::int64_t) == 0) return a;
  return Ints::ensure(a.attr("copy")());
}

std::vector<riskoffset::PmKey> keys_of(const Doubles& keys) {
  RO_CHECK(keys.ndim() == 2 && static_cast<std::size_t>(keys.shape(1)) == kKeyFieldCount,
           "keys must be a (n_keys, " + std::to_string(kKeyFieldCount) + ") float64 matrix (see KEY_FIELDS)");
  std::vector<riskoffset::PmKey> out(static_cast<std::size_t>(keys.shape(0)));
  for (std::size_t k = 0; k < out.size(); ++k) {
    const double* f = keys.data() + k * kKeyFieldCount;
    for (std::size_t j = 0; j < kKeyFieldCount; ++j)
      RO_CHECK(std::isfinite(f[j]), "key " + std::to_string(k) + ": " + kKeyFields[j] + " is not finite");
    RO_CHECK(f[0] > 0, "key " + std::to_string(k) + ": price_range must be > 0");
    RO_CHECK(f[1] > 0, "key " + std::to_string(k) + ": index must be > 0");
    riskoffset::PmKey& key = out[k];
    key.price_range = f[0], key.index = f[1], key.dampener = f[2], key.pnl_offset = f[3];
    key.max_offsetable_pnl = f[4], key.annualised_move_risk = f[5], key.min_annualised_move = f[6];
    key.delta_threshold = f[7], key.m_inc = f[8], key.max_delta_shock = f[9], key.addons = f[10];
    key.coin = f[11] != 0.0;
    key.derive();
  }
  return out;
}

riskoffset::PmShape shape_of(std::size_t n_standard, const Doubles& extended_moves, double mm_factor) {
  RO_CHECK(std::isfinite(mm_factor) && mm_factor >= 0, "mm_factor must be finite and >= 0");
  for (py::ssize_t j = 0; j < extended_moves.size(); ++j)
    RO_CHECK(std::isfinite(extended_moves.data()[j]), "extended_moves must be finite");
  riskoffset::PmShape shape;
  shape.n_standard = n_standard;
  shape.n_extended = static_cast<std::size_t>(extended_moves.size());
  shape.extended_moves = extended_moves.data();
  shape.mm_factor = mm_factor;
  return shape;
}

// The arguments of a pass, checked once (shapes, index ranges) and kept alive for its duration.
struct CheckedBook {
  Ints indptr, indices, instrument_key, column;
  Doubles quantity, vectors, delta, t_column, extended_moves;
  std::vector<riskoffset::PmKey> keys;
  riskoffset::PmShape shape;
  riskoffset::PmBook book;
};

CheckedBook checked_book(const Ints& indptr, const Ints& indices, const Doubles& quantity, const Ints& instrument_key,
                         const Doubles& vectors, std::size_t n_standard, const Doubles& extended_moves,
                         const Doubles& delta, const Ints& column, const Doubles& t_column, const Doubles& keys,
                         double mm_factor) {
  CheckedBook c{aligned_ints(indptr),
                aligned_ints(indices),
                aligned_ints(instrument_key),
                aligned_ints(column),
                riskoffset_bindings::aligned(quantity),
                riskoffset_bindings::aligned(vectors),
                riskoffset_bindings::aligned(delta),
                riskoffset_bindings::aligned(t_column),
                riskoffset_bindings::aligned(extended_moves),
                keys_of(keys),
                {},
                {}};
  c.shape = shape_of(n_standard, c.extended_moves, mm_factor);
  RO_CHECK(c.vectors.ndim() == 2 && static_cast<std::size_t>(c.vectors.shape(1)) == c.shape.width(),
           "vectors must be (instruments, n_standard + n_extended)");
  const auto n_instruments = static_cast<std::size_t>(c.vectors.shape(0));
  RO_CHECK(static_cast<std::size_t>(c.instrument_key.size()) == n_instruments &&
               static_cast<std::size_t>(c.delta.size()) == n_instruments &&
               static_cast<std::size_t>(c.column.size()) == n_instruments,
           "instrument_key, delta and column need one entry per row of vectors");
  RO_CHECK(c.indptr.ndim() == 1 && c.indptr.size() >= 1, "indptr needs n_accounts + 1 entries");
  RO_CHECK(c.indices.size() == c.quantity.size(), "indices and quantity differ in length");
  const std::size_t n_accounts = static_cast<std::size_t>(c.indptr.size()) - 1;
  const auto n_positions = static_cast<std::int64_t>(c.indices.size());
  const std::int64_t* ip = c.indptr.data();
  RO_CHECK(ip[0] == 0 && ip[n_accounts] == n_positions, "indptr must run from 0 to the number of positions");
  for (std::size_t a = 0; a < n_accounts; ++a)
    RO_CHECK(ip[a] <= ip[a + 1], "indptr decreases at account " + std::to_string(a));
  const std::int64_t* ix = c.indices.data();
  for (std::int64_t p = 0; p < n_positions; ++p)
    RO_CHECK(ix[p] >= 0 && static_cast<std::size_t>(ix[p]) < n_instruments,
             "position " + std::to_string(p) + " names instrument row " + std::to_string(ix[p]) + ", outside the table");
  const auto n_keys = c.keys.size();
  const auto n_columns = static_cast<std::size_t>(c.t_column.size());
  for (std::size_t i = 0; i < n_instruments; ++i) {
    const std::int64_t k = c.instrument_key.data()[i], col = c.column.data()[i];
    RO_CHECK(k >= -1 && k < static_cast<std::int64_t>(n_keys),
             "instrument row " + std::to_string(i) + ": key outside the keys");
    RO_CHECK(col >= 0 && static_cast<std::size_t>(col) < n_columns,
             "instrument row " + std::to_string(i) + ": expiry column outside t_column");
  }
  riskoffset::PmBook& b = c.book;
  b.indptr = ip, b.indices = ix, b.quantity = c.quantity.data();
  b.n_accounts = n_accounts, b.n_instruments = n_instruments, b.key = c.instrument_key.data();
  b.vectors = c.vectors.data(), b.delta = c.delta.data(), b.column = c.column.data();
  b.t_column = c.t_column.data(), b.n_columns = n_columns, b.keys = c.keys.data(), b.n_keys = n_keys;
  return c;
}

// Row of each account's first group (n_accounts + 1 entries): an account has one group per distinct key of
// its positions, in key order.
std::vector<std::int64_t> group_starts(const riskoffset::PmBook& book) {
  return riskoffset_bindings::group_starts(book.indptr, book.indices, book.key, book.n_accounts, book.n_keys);
}

// Large outputs come from the buffer pool: fresh pages cost more than the pass itself at exchange scale.
py::array_t<double> doubles(std::size_t n) {
  return riskoffset_bindings::new_double_array({static_cast<py::ssize_t>(n)});
}
py::array_t<std::int64_t> ints(std::size_t n) { return py::array_t<std::int64_t>(static_cast<py::ssize_t>(n)); }

// The steps after the sum for one group at a time, with the parameters bound once: the what-if path calls
// it per order, so the call returns a plain tuple (no dict) and copies the vector into scratch it owns.
class GroupSteps {
 public:
  GroupSteps(std::size_t n_standard, const Doubles& extended_moves, const Doubles& keys, const Doubles& t_column)
      : extended_(riskoffset_bindings::aligned(extended_moves)),
        t_column_(riskoffset_bindings::aligned(t_column)),
        keys_(keys_of(keys)) {
    shape_ = shape_of(n_standard, extended_, 0.0);
    for (py::ssize_t c = 0; c < t_column_.size(); ++c)
      RO_CHECK(std::isfinite(t_column_.data()[c]), "t_column must be finite");
    scratch_.resize(shape_.width());
  }
  py::tuple figures(const Doubles& pre_in, std::size_t key, const Doubles& net_in, double mm_factor) {
    RO_CHECK(key < keys_.size(), "key " + std::to_string(key) + " outside the keys");
    const Doubles pre = riskoffset_bindings::aligned(pre_in), net = riskoffset_bindings::aligned(net_in);
    RO_CHECK(static_cast<std::size_t>(pre.size()) == shape_.width(), "pre has the wrong number of entries");
    RO_CHECK(net.size() == t_column_.size(), "net_by_column needs one entry per expiry column");
    std::copy(pre.data(), pre.data() + pre.size(), scratch_.begin());
    riskoffset::PmShape shape = shape_;
    shape.mm_factor = mm_factor;
    const riskoffset::PmGroupFigures f = riskoffset::active_kernels().pm_group(
        scratch_.data(), shape, keys_[key], net.data(), t_column_.data(), static_cast<std::size_t>(t_column_.size()));
    return py::make_tuple(f.initial, f.maintenance, f.worst_case, f.worst_index, f.worst_pnl, f.roll_shock,
                          f.delta_shock, f.delta);
  }

 private:
  Doubles extended_, t_column_;
  std::vector<riskoffset::PmKey> keys_;
  riskoffset::PmShape shape_;
  std::vector<double> scratch_;
};

}  // namespace

// The keys matrix (KEY_FIELDS order) checked and converted; the live refresh reads it too.
std::vector<riskoffset::PmKey> pm_keys_of(const riskoffset_bindings::DoubleArray& keys) { return keys_of(keys); }

void register_live(py::module_& m);
void register_standard_groups(py::module_& m);  // standard_groups.cpp

void register_margin(py::module_& m) {
  register_live(m);
  register_standard_groups(m);
  py::tuple fields(kKeyFieldCount);
  for (std::size_t j = 0; j < kKeyFieldCount; ++j) fields[j] = py::str(kKeyFields[j]);
  m.attr("KEY_FIELDS") = fields;

  m.def(
      "standard_positions",
      [](const Ints& indices_in, const Doubles& quantity_in, const py::dict& units, bool by_component) {
        const Ints ix = aligned_ints(indices_in);
        const Doubles quantity = riskoffset_bindings::aligned(quantity_in);
        RO_CHECK(ix.ndim() == 1 && quantity.ndim() == 1 && ix.size() == quantity.size(),
                 "indices and quantity must be equal-length vectors");
        RO_CHECK(units.contains("short_initial"), "no array 'short_initial'");
        const auto n_instruments = static_cast<std::size_t>(py::array(units["short_initial"]).size());
        const riskoffset_bindings::BoundStandardUnits bound(units, n_instruments);
        const auto n = static_cast<std::size_t>(ix.size());
        for (std::size_t p = 0; p < n; ++p)
          RO_CHECK(ix.data()[p] >= 0 && static_cast<std::size_t>(ix.data()[p]) < n_instruments,
                   "position " + std::to_string(p) + " names an instrument row outside the unit margins");
        const std::size_t width = by_component ? 6 : 2;
        // Pooled: a book's margin computed again reuses warm memory (riskoffset_bindings::new_double_array).
        py::array_t<double> out = riskoffset_bindings::new_double_array(
            {static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(width)});
        double* o = out.mutable_data();
        const std::int64_t* rows = ix.data();
        const double* q = quantity.data();
        const std::int8_t* component = bound.units().component;
        {
          py::gil_scoped_release release;
          for (std::size_t p = 0; p < n; ++p) {
            const auto i = static_cast<std::size_t>(rows[p]);
            const riskoffset::PositionMargin margin = riskoffset::standard_position_margin(bound.units(), i, q[p]);
            double* row = o + p * width;
            row[0] = margin.initial, row[1] = margin.maintenance;
            if (!by_component) continue;
            const bool futures = component[i] == 0, options = component[i] == 1;
            row[2] = futures ? margin.initial : 0.0, row[3] = options ? margin.initial : 0.0;
            row[4] = futures ? margin.maintenance : 0.0, row[5] = options ? margin.maintenance : 0.0;
          }
        }
        return out;
      },
      py::arg("indices"), py::arg("quantity"), py::arg("units"), py::arg("by_component") = false,
      "Deribit standard margin of positions (instrument rows `indices`, signed `quantity`) from the unit margins "
      "per instrument row (`units`: the arrays of riskoffset.margining.standard.UnitMargins by field name), in its "
      "settlement currency: a (positions, 2) matrix of initial and maintenance margin, or with `by_component` "
      "(positions, 6): then also the initial margin of futures and of options, and their maintenance margin.");

  m.def(
      "group_layout",
      [](const Ints& indptr, const Ints& indices, const Ints& instrument_key, std::int64_t n_keys) {
        const Ints ip = aligned_ints(indptr), ix = aligned_ints(indices), key = aligned_ints(instrument_key);
        RO_CHECK(ip.ndim() == 1 && ip.size() >= 1, "indptr needs n_accounts + 1 entries");
        const auto n_accounts = static_cast<std::size_t>(ip.size()) - 1;
        RO_CHECK(ip.data()[0] == 0 && ip.data()[n_accounts] == ix.size(), "indptr must run over the positions");
        for (std::size_t a = 0; a < n_accounts; ++a)
          RO_CHECK(ip.data()[a] <= ip.data()[a + 1], "indptr decreases at account " + std::to_string(a));
        for (py::ssize_t p = 0; p < ix.size(); ++p)
          RO_CHECK(ix.data()[p] >= 0 && ix.data()[p] < key.size(),
                   "position " + std::to_string(p) + " names an instrument row outside instrument_key");
        for (py::ssize_t i = 0; i < key.size(); ++i)
          RO_CHECK(key.data()[i] >= -1 && key.data()[i] < n_keys,
                   "instrument row " + std::to_string(i) + ": key outside [-1, n_keys)");
        riskoffset::PmBook book;
        book.indptr = ip.data(), book.indices = ix.data(), book.key = key.data();
        book.n_accounts = n_accounts, book.n_keys = static_cast<std::size_t>(n_keys);
        const std::vector<std::int64_t> first = group_starts(book);
        auto account = ints(static_cast<std::size_t>(first[n_accounts]));
        auto group_key = ints(static_cast<std::size_t>(first[n_accounts]));
        std::vector<std::uint8_t> seen(book.n_keys, 0);
        for (std::size_t a = 0; a < n_accounts; ++a) {
          auto g = static_cast<std::size_t>(first[a]);
          if (book.n_keys <= 64) {  // (its keys in ascending order: the bits of a word, lowest first)
            for (std::uint64_t held = riskoffset_bindings::held_keys(book.indptr, book.indices, book.key, a); held;
                 held &= held - 1)
              account.mutable_data()[g] = static_cast<std::int64_t>(a),
              group_key.mutable_data()[g++] = __builtin_ctzll(held);
            continue;
          }
          for (std::int64_t p = book.indptr[a]; p < book.indptr[a + 1]; ++p) {
            const std::int64_t k = book.key[book.indices[p]];
            if (k >= 0) seen[static_cast<std::size_t>(k)] = 1;
          }
          for (std::size_t k = 0; k < book.n_keys; ++k)
            if (seen[k]) seen[k] = 0, account.mutable_data()[g] = static_cast<std::int64_t>(a),
                         group_key.mutable_data()[g++] = static_cast<std::int64_t>(k);
        }
        return py::make_tuple(account, group_key);
      },
      py::arg("indptr"), py::arg("indices"), py::arg("instrument_key"), py::arg("n_keys"),
      "(account, key) of every group of portfolio_margin_accounts, in its row order.");

  m.def(
      "portfolio_margin_accounts",
      [](const Ints& indptr, const Ints& indices, const Doubles& quantity, const Ints& instrument_key,
         const Doubles& vectors, std::size_t n_standard, const Doubles& extended_moves, const Doubles& delta,
         const Ints& column, const Doubles& t_column, const Doubles& keys, double mm_factor, bool keep_vectors,
         const std::optional<Doubles>& collateral_in, const std::optional<Doubles>& coins_in,
         const std::optional<Doubles>& coin_moves_in, const std::optional<Ints>& coin_col_in,
         const std::optional<Doubles>& coin_gain_cap_in) {
        CheckedBook c = checked_book(indptr, indices, quantity, instrument_key, vectors, n_standard, extended_moves,
                                     delta, column, t_column, keys, mm_factor);
        const std::size_t width = c.shape.width(), n_accounts = c.book.n_accounts;
        std::vector<std::int64_t> first;
        {
          py::gil_scoped_release release;  // reads only the arrays held by `c`
          first = group_starts(c.book);
        }
        const auto n_groups = static_cast<std::size_t>(first[n_accounts]);
        const bool with_coins = coins_in.has_value() || coin_moves_in.has_value() || coin_col_in.has_value();
        RO_CHECK(!(with_coins && collateral_in), "give collateral or coins/coin_moves/coin_col, not both");
        RO_CHECK(with_coins || !coin_gain_cap_in, "coin_gain_cap goes with coins");
        Doubles coins, moves;
        Ints coin_col;
        Doubles gain_cap;
        if (with_coins) {
          RO_CHECK(coins_in && coin_moves_in && coin_col_in, "coins, coin_moves and coin_col go together");
          coins = riskoffset_bindings::aligned(*coins_in);
          moves = riskoffset_bindings::aligned(*coin_moves_in);
          coin_col = aligned_ints(*coin_col_in);
          RO_CHECK(coins.ndim() == 2 && static_cast<std::size_t>(coins.shape(0)) == n_accounts && coins.shape(1) <= 64,
                   "coins must be (n_accounts, n_coins), at most 64 coins");
          RO_CHECK(moves.ndim() == 2 && static_cast<std::size_t>(moves.shape(0)) == c.book.n_keys &&
                       static_cast<std::size_t>(moves.shape(1)) == width,
                   "coin_moves must be (n_keys, n_standard + n_extended)");
          RO_CHECK(coin_col.ndim() == 1 && static_cast<std::size_t>(coin_col.size()) == c.book.n_keys,
                   "coin_col needs one entry per key");
          for (py::ssize_t j = 0; j < coins.size(); ++j)
            RO_CHECK(std::isfinite(coins.data()[j]), "coins must be finite");
          for (py::ssize_t j = 0; j < moves.size(); ++j)
            RO_CHECK(std::isfinite(moves.data()[j]), "coin_moves must be finite");
          for (py::ssize_t k = 0; k < coin_col.size(); ++k)
            RO_CHECK(coin_col.data()[k] >= -1 && coin_col.data()[k] < coins.shape(1),
                     "coin_col: key " + std::to_string(k) + " names a coin column outside coins");
          c.book.coins = coins.data(), c.book.coin_moves = moves.data(), c.book.coin_col = coin_col.data();
          if (coin_gain_cap_in) {
            gain_cap = riskoffset_bindings::aligned(*coin_gain_cap_in);
            RO_CHECK(gain_cap.ndim() == 1 && gain_cap.size() == coins.shape(1),
                     "coin_gain_cap needs one entry per coin column");
            for (py::ssize_t j = 0; j < gain_cap.size(); ++j)
              RO_CHECK(gain_cap.data()[j] >= 0.0,  // false for NaN too
                       "coin_gain_cap: coin column " + std::to_string(j) + " must be >= 0 (inf: no cap)");
            c.book.coin_gain_cap = gain_cap.data();
          }
          c.book.n_coins = static_cast<std::size_t>(coins.shape(1));
        }
        Doubles collateral;
        if (collateral_in) {
          collateral = riskoffset_bindings::aligned(*collateral_in);
          RO_CHECK(collateral.ndim() == 2 && static_cast<std::size_t>(collateral.shape(0)) == n_groups &&
                       static_cast<std::size_t>(collateral.shape(1)) == width,
                   "collateral must be (groups, n_standard + n_extended) in the order of group_layout()");
          c.book.collateral = collateral.data();
        }
        auto account = ints(n_groups), key = ints(n_groups), worst_index = ints(n_groups);
        auto worst_case = doubles(n_groups), worst_pnl = doubles(n_groups), roll = doubles(n_groups), shock = doubles(n_groups),
             net_delta = doubles(n_groups), rmm = doubles(n_groups), initial = doubles(n_groups),
             maintenance = doubles(n_groups);
        py::array_t<double> pre, aggregated;
        riskoffset::PmColumns out;
        out.account = account.mutable_data(), out.key = key.mutable_data(), out.worst_index = worst_index.mutable_data();
        out.worst_case = worst_case.mutable_data(), out.worst_pnl = worst_pnl.mutable_data(), out.roll_shock = roll.mutable_data();
        out.delta_shock = shock.mutable_data(), out.delta = net_delta.mutable_data();
        out.risk_matrix_margin = rmm.mutable_data(), out.initial = initial.mutable_data();
        out.maintenance = maintenance.mutable_data();
        if (keep_vectors) {
          const std::vector<py::ssize_t> shape{static_cast<py::ssize_t>(n_groups), static_cast<py::ssize_t>(width)};
          pre = riskoffset_bindings::new_double_array(shape);
          aggregated = riskoffset_bindings::new_double_array(shape);
          out.pre = pre.mutable_data(), out.aggregated = aggregated.mutable_data();
        }
        {
          py::gil_scoped_release release;  // writes only the fresh arrays above and this frame's scratch
          riskoffset::PmScratchBuffers scratch(c.book.n_keys, width, c.book.n_columns);
          riskoffset::active_kernels().pm_accounts(c.book, c.shape, first.data(), out, scratch.view(), 0, n_accounts);
        }
        py::dict result;
        result["account"] = account, result["key"] = key, result["worst_case"] = worst_case;
        result["worst_index"] = worst_index, result["worst_pnl"] = worst_pnl, result["roll_shock"] = roll, result["delta_shock"] = shock;
        result["delta"] = net_delta, result["risk_matrix_margin"] = rmm, result["initial"] = initial;
        result["maintenance"] = maintenance;
        if (keep_vectors) result["pre_aggregated"] = pre, result["aggregated"] = aggregated;
        return result;
      },
      py::arg("indptr"), py::arg("indices"), py::arg("quantity"), py::arg("instrument_key"), py::arg("vectors"),
      py::arg("n_standard"), py::arg("extended_moves"), py::arg("delta"), py::arg("column"), py::arg("t_column"),
      py::arg("keys"), py::arg("mm_factor"), py::arg("keep_vectors") = false, py::arg("collateral") = py::none(),
      py::arg("coins") = py::none(), py::arg("coin_moves") = py::none(), py::arg("coin_col") = py::none(),
      py::arg("coin_gain_cap") = py::none(),
      "Deribit portfolio margin of every (account, key) group of a CSR book (columns in a dict); collateral "
      "(groups x columns) or coins (accounts x coins) with coin_moves (keys x columns), coin_col (per key) and "
      "optionally coin_gain_cap (per coin: the most a balance's gain counts; losses in full) "
      "are added to the groups' scenario vectors before the steps after the sum.");

  py::class_<GroupSteps>(m, "GroupSteps",
                         "Portfolio-margin steps after the sum, for one group at a time (parameters bound once)")
      .def(py::init<std::size_t, const Doubles&, const Doubles&, const Doubles&>(), py::arg("n_standard"),
           py::arg("extended_moves"), py::arg("keys"), py::arg("t_column"))
      .def("figures", &GroupSteps::figures, py::arg("pre"), py::arg("key"), py::arg("net_by_column"),
           py::arg("mm_factor"),
           "(initial, maintenance, worst_case, worst_index, worst_pnl, roll_shock, delta_shock, delta).");

  m.def(
      "portfolio_margin_group",
      [](const Doubles& pre_in, std::size_t n_standard, const Doubles& extended_moves_in, const Doubles& key,
         const Doubles& net_by_column_in, const Doubles& t_column_in, double mm_factor) {
        const Doubles pre = riskoffset_bindings::aligned(pre_in);
        const Doubles extended_moves = riskoffset_bindings::aligned(extended_moves_in);
        const Doubles net_by_column = riskoffset_bindings::aligned(net_by_column_in);
        const Doubles t_column = riskoffset_bindings::aligned(t_column_in);
        RO_CHECK(key.ndim() == 1, "key must be one key's parameters (KEY_FIELDS order)");
        Doubles row({py::ssize_t{1}, key.shape(0)});
        std::copy(key.data(), key.data() + key.size(), row.mutable_data());
        const std::vector<riskoffset::PmKey> params = keys_of(row);
        const riskoffset::PmShape shape = shape_of(n_standard, extended_moves, mm_factor);
        RO_CHECK(static_cast<std::size_t>(pre.size()) == shape.width(), "pre has the wrong number of entries");
        RO_CHECK(net_by_column.size() == t_column.size(), "net_by_column and t_column differ in length");
        py::array_t<double> entries(pre.size());
        std::copy(pre.data(), pre.data() + pre.size(), entries.mutable_data());
        const riskoffset::PmGroupFigures f = riskoffset::active_kernels().pm_group(
            entries.mutable_data(), shape, params[0], net_by_column.data(), t_column.data(),
            static_cast<std::size_t>(t_column.size()));
        py::dict out;
        out["aggregated"] = entries, out["worst_case"] = f.worst_case, out["worst_index"] = f.worst_index;
        out["worst_pnl"] = f.worst_pnl;
        out["roll_shock"] = f.roll_shock, out["delta_shock"] = f.delta_shock, out["delta"] = f.delta;
        out["risk_matrix_margin"] = f.risk_matrix_margin, out["initial"] = f.initial;
        out["maintenance"] = f.maintenance;
        return out;
      },
      py::arg("pre"), py::arg("n_standard"), py::arg("extended_moves"), py::arg("key"), py::arg("net_by_column"),
      py::arg("t_column"), py::arg("mm_factor"),
      "Steps of Deribit portfolio margin after the sum, for one group (the same code as the bulk pass).");
}
