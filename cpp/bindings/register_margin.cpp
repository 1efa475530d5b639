// riskoffset._core.margin: the Deribit portfolio-margin pass over a whole book, and the same reduction for
// one group (the what-if path and the live engine call it, so the steps exist once).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "margin/portfolio_margin.hpp"

namespace py = pybind11;
namespace rm = riskoffset::margin;

namespace {

using Doubles = py::array_t<double, py::array::c_style | py::array::forcecast>;
using Ints = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

// The order of a key's parameters in the `keys` matrix (Python builds it from the same names).
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

// The message is built only on failure: these checks run once per position.
#define RO_REQUIRE(ok, message)                                 \
  do {                                                          \
    if (!(ok)) throw std::invalid_argument(std::string(message)); \
  } while (0)

std::vector<rm::PmKey> keys_of(const Doubles& keys) {
  RO_REQUIRE(keys.ndim() == 2 && static_cast<std::size_t>(keys.shape(1)) == kKeyFieldCount,
          "keys must be a (n_keys, " + std::to_string(kKeyFieldCount) + ") float64 matrix (see KEY_FIELDS)");
  std::vector<rm::PmKey> out(static_cast<std::size_t>(keys.shape(0)));
  for (std::size_t k = 0; k < out.size(); ++k) {
    const double* f = keys.data() + k * kKeyFieldCount;
    for (std::size_t j = 0; j < kKeyFieldCount; ++j)
      RO_REQUIRE(std::isfinite(f[j]), std::string("key ") + std::to_string(k) + ": " + kKeyFields[j] + " is not finite");
    RO_REQUIRE(f[0] > 0, "key " + std::to_string(k) + ": price_range must be > 0");
    RO_REQUIRE(f[1] > 0, "key " + std::to_string(k) + ": index must be > 0");
    rm::PmKey& key = out[k];
    key.price_range = f[0], key.index = f[1], key.dampener = f[2], key.pnl_offset = f[3];
    key.max_offsetable_pnl = f[4], key.annualised_move_risk = f[5], key.min_annualised_move = f[6];
    key.delta_threshold = f[7], key.m_inc = f[8], key.max_delta_shock = f[9], key.addons = f[10];
    key.coin = f[11] != 0.0;
  }
  return out;
}

rm::PmShape shape_of(std::size_t n_standard, const Doubles& extended_moves, double mm_factor) {
  rm::PmShape shape;
  shape.n_standard = n_standard;
  shape.n_extended = static_cast<std::size_t>(extended_moves.size());
  shape.extended_moves = extended_moves.data();
  shape.mm_factor = mm_factor;
  return shape;
}

py::array_t<double> doubles(std::size_t n) { return py::array_t<double>(static_cast<py::ssize_t>(n)); }
py::array_t<std::int64_t> ints(std::size_t n) { return py::array_t<std::int64_t>(static_cast<py::ssize_t>(n)); }

}  // namespace

void register_margin(py::module_& m) {
  py::tuple fields(kKeyFieldCount);
  for (std::size_t j = 0; j < kKeyFieldCount; ++j) fields[j] = py::str(kKeyFields[j]);
  m.attr("KEY_FIELDS") = fields;

  m.def(
      "portfolio_margin_accounts",
      [](const Ints& indptr, const Ints& indices, const Doubles& quantity, const Ints& instrument_key,
         const Doubles& vectors, std::size_t n_standard, const Doubles& extended_moves, const Doubles& delta,
         const Ints& column, const Doubles& t_column, const Doubles& keys, double mm_factor, bool keep_vectors) {
        const std::vector<rm::PmKey> key_params = keys_of(keys);
        const rm::PmShape shape = shape_of(n_standard, extended_moves, mm_factor);
        RO_REQUIRE(vectors.ndim() == 2 && static_cast<std::size_t>(vectors.shape(1)) == shape.width(),
                "vectors must be (instruments, n_standard + n_extended)");
        const auto n_instruments = static_cast<std::size_t>(vectors.shape(0));
        RO_REQUIRE(static_cast<std::size_t>(instrument_key.size()) == n_instruments &&
                    static_cast<std::size_t>(delta.size()) == n_instruments &&
                    static_cast<std::size_t>(column.size()) == n_instruments,
                "instrument_key, delta and column need one entry per row of vectors");
        RO_REQUIRE(indptr.size() >= 1, "indptr needs n_accounts + 1 entries");
        RO_REQUIRE(indices.size() == quantity.size(), "indices and quantity differ in length");
        const std::size_t n_accounts = static_cast<std::size_t>(indptr.size()) - 1;
        const auto n_positions = static_cast<std::int64_t>(indices.size());
        const std::int64_t* ip = indptr.data();
        RO_REQUIRE(ip[0] == 0 && ip[n_accounts] == n_positions, "indptr must run from 0 to the number of positions");
        for (std::size_t a = 0; a < n_accounts; ++a)
          RO_REQUIRE(ip[a] <= ip[a + 1], "indptr decreases at account " + std::to_string(a));
        for (std::int64_t p = 0; p < n_positions; ++p) {
          const std::int64_t i = indices.data()[p];
          RO_REQUIRE(i >= 0 && static_cast<std::size_t>(i) < n_instruments,
                  "position " + std::to_string(p) + " names instrument row " + std::to_string(i) + ", outside the table");
        }
        const auto n_keys = key_params.size();
        const auto n_columns = static_cast<std::size_t>(t_column.size());
        for (std::size_t i = 0; i < n_instruments; ++i) {
          const std::int64_t k = instrument_key.data()[i], c = column.data()[i];
          RO_REQUIRE(k >= -1 && k < static_cast<std::int64_t>(n_keys), "instrument row " + std::to_string(i) + ": key outside the keys");
          RO_REQUIRE(c >= 0 && static_cast<std::size_t>(c) < n_columns, "instrument row " + std::to_string(i) + ": expiry column outside t_column");
        }
        rm::PmBook book;
        book.indptr = ip, book.indices = indices.data(), book.quantity = quantity.data();
        book.n_accounts = n_accounts, book.n_instruments = n_instruments, book.key = instrument_key.data();
        book.vectors = vectors.data(), book.delta = delta.data(), book.column = column.data();
        book.t_column = t_column.data(), book.n_columns = n_columns, book.keys = key_params.data(), book.n_keys = n_keys;

        std::vector<std::int64_t> first(n_accounts + 1, 0);
        std::size_t n_groups = 0;
        {
          py::gil_scoped_release release;  // reads only the arrays held by this frame
          rm::count_groups(book, first.data() + 1, 0, n_accounts);
          for (std::size_t a = 0; a < n_accounts; ++a) first[a + 1] += first[a];
          n_groups = static_cast<std::size_t>(first[n_accounts]);
        }
        auto account = ints(n_groups), key = ints(n_groups), worst_index = ints(n_groups);
        auto worst_case = doubles(n_groups), roll = doubles(n_groups), shock = doubles(n_groups),
             net = doubles(n_groups), rmm = doubles(n_groups), initial = doubles(n_groups),
             maintenance = doubles(n_groups);
        py::array_t<double> pre, aggregated;
        rm::PmColumns out;
        out.account = account.mutable_data(), out.key = key.mutable_data(), out.worst_index = worst_index.mutable_data();
        out.worst_case = worst_case.mutable_data(), out.roll_shock = roll.mutable_data();
        out.delta_shock = shock.mutable_data(), out.delta = net.mutable_data();
        out.risk_matrix_margin = rmm.mutable_data(), out.initial = initial.mutable_data();
        out.maintenance = maintenance.mutable_data();
        if (keep_vectors) {
          pre = py::array_t<double>({static_cast<py::ssize_t>(n_groups), static_cast<py::ssize_t>(shape.width())});
          aggregated = py::array_t<double>({static_cast<py::ssize_t>(n_groups), static_cast<py::ssize_t>(shape.width())});
          out.pre = pre.mutable_data(), out.aggregated = aggregated.mutable_data();
        }
        {
          py::gil_scoped_release release;  // writes only the fresh arrays above
          rm::portfolio_margin_accounts(book, shape, first.data(), out, 0, n_accounts);
        }
        py::dict result;
        result["account"] = account, result["key"] = key, result["worst_case"] = worst_case;
        result["worst_index"] = worst_index, result["roll_shock"] = roll, result["delta_shock"] = shock;
        result["delta"] = net, result["risk_matrix_margin"] = rmm, result["initial"] = initial;
        result["maintenance"] = maintenance;
        if (keep_vectors) result["pre_aggregated"] = pre, result["aggregated"] = aggregated;
        return result;
      },
      py::arg("indptr"), py::arg("indices"), py::arg("quantity"), py::arg("instrument_key"), py::arg("vectors"),
      py::arg("n_standard"), py::arg("extended_moves"), py::arg("delta"), py::arg("column"), py::arg("t_column"),
      py::arg("keys"), py::arg("mm_factor"), py::arg("keep_vectors") = false,
      "Deribit portfolio margin of every (account, key) group of a CSR book (columns in a dict).");

  m.def(
      "reduce_pm_group",
      [](const Doubles& pre, std::size_t n_standard, const Doubles& extended_moves, const Doubles& key,
         const Doubles& net_by_column, const Doubles& t_column, double mm_factor) {
        RO_REQUIRE(key.ndim() == 1, "key must be one key's parameters (KEY_FIELDS order)");
        Doubles row({py::ssize_t{1}, key.shape(0)});
        std::copy(key.data(), key.data() + key.size(), row.mutable_data());
        const std::vector<rm::PmKey> params = keys_of(row);
        RO_REQUIRE(params.size() == 1, "key must hold one key's parameters");
        const rm::PmShape shape = shape_of(n_standard, extended_moves, mm_factor);
        RO_REQUIRE(static_cast<std::size_t>(pre.size()) == shape.width(), "pre has the wrong number of entries");
        RO_REQUIRE(net_by_column.size() == t_column.size(), "net_by_column and t_column differ in length");
        py::array_t<double> entries(pre.size());
        std::copy(pre.data(), pre.data() + pre.size(), entries.mutable_data());
        const rm::PmGroupFigures f = rm::reduce_group(entries.mutable_data(), shape, params[0], net_by_column.data(),
                                                      t_column.data(), static_cast<std::size_t>(t_column.size()));
        py::dict out;
        out["aggregated"] = entries, out["worst_case"] = f.worst_case, out["worst_index"] = f.worst_index;
        out["roll_shock"] = f.roll_shock, out["delta_shock"] = f.delta_shock, out["delta"] = f.delta;
        out["risk_matrix_margin"] = f.risk_matrix_margin, out["initial"] = f.initial;
        out["maintenance"] = f.maintenance;
        return out;
      },
      py::arg("pre"), py::arg("n_standard"), py::arg("extended_moves"), py::arg("key"), py::arg("net_by_column"),
      py::arg("t_column"), py::arg("mm_factor"),
      "Steps of Deribit portfolio margin after the sum, for one group (the same code as the bulk pass).");
}
