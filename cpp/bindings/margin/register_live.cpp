// _core.margin.live_refresh and settle: the live engine's recomputation of a set of accounts in one call
// (portfolio margin on the keys an update touched, options value, futures P&L, margin per currency, the
// account's USD figures and level), written into the engine's own arrays; and the account view's settle.
// Equity against margin is cpp/src/accounts/settle.hpp (one implementation for both); the PM sums and steps
// are the active SIMD target's pm_live kernel (the same code as the bulk pass).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "../../src/accounts/settle.hpp"
#include "../common/arrays.hpp"
#include "riskoffset/dispatch.hpp"

namespace py = pybind11;

std::vector<riskoffset::PmKey> pm_keys_of(const riskoffset_bindings::DoubleArray& keys);  // register_margin.cpp

namespace {

using Doubles = riskoffset_bindings::DoubleArray;
using Ints = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;
using Bytes = py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>;

#define RO_CHECK(ok, message)                                       \
  do {                                                              \
    if (!(ok)) throw std::invalid_argument(std::string(message));   \
  } while (0)

// One of the engine's arrays, written in place: exactly dtype T, `size` elements, C-contiguous, writeable.
template <typename T>
T* state_array(const py::dict& state, const char* name, py::ssize_t size) {
  RO_CHECK(state.contains(name), std::string("state has no array '") + name + "'");
  py::handle h = state[name];
  RO_CHECK(py::isinstance<py::array>(h), std::string(name) + " must be a numpy array");
  auto a = py::reinterpret_borrow<py::array>(h);
  // Equivalent, not identical: an array read back from a pickle carries its own dtype object.
  if (!a.dtype().equal(py::dtype::of<T>())) throw py::type_error(std::string(name) + " has the wrong dtype");
  RO_CHECK(a.size() == size, std::string(name) + " has " + std::to_string(a.size()) + " elements, expected " +
                                 std::to_string(size));
  RO_CHECK((a.flags() & py::array::c_style) && (a.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_) && a.writeable(),
           std::string(name) + " must be C-contiguous, aligned and writeable");
  return static_cast<T*>(a.mutable_data());
}

template <typename A>
void same_length(const A& a, std::size_t n, const char* name) {
  RO_CHECK(a.ndim() == 1 && static_cast<std::size_t>(a.size()) == n,
           std::string(name) + " needs one entry per instrument");
}

}  // namespace

void register_live(py::module_& m) {
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

  m.def(
      "live_refresh",
      [](const Ints& indptr_in, const Ints& indices_in, const Doubles& quantity_in, const Doubles& average_in,
         const Ints& rows_in, const py::dict& instruments, const std::optional<py::dict>& pm, const py::dict& state,
         const Doubles& price_in, const std::optional<Doubles>& cut_im_in, const std::optional<Doubles>& cut_mm_in) {
        // ---- the accounts' positions (CSR of the rows refreshed)
        const Ints indptr = indptr_in, indices = indices_in, rows = rows_in;
        const Doubles quantity = riskoffset_bindings::aligned(quantity_in), average = riskoffset_bindings::aligned(average_in);
        RO_CHECK(indptr.ndim() == 1 && indptr.size() >= 1, "indptr needs n_rows + 1 entries");
        const auto n_rows = static_cast<std::size_t>(indptr.size() - 1);
        RO_CHECK(static_cast<std::size_t>(rows.size()) == n_rows, "rows needs one entry per CSR account");
        const auto n_pos = static_cast<std::int64_t>(indices.size());
        RO_CHECK(quantity.size() == n_pos && average.size() == n_pos, "indices, quantity and average differ in length");
        const std::int64_t* ip = indptr.data();
        RO_CHECK(ip[0] == 0 && ip[n_rows] == n_pos, "indptr must run from 0 to the number of positions");
        for (std::size_t a = 0; a < n_rows; ++a) RO_CHECK(ip[a] <= ip[a + 1], "indptr decreases at " + std::to_string(a));
        // ---- per instrument
        const Doubles unit_value = riskoffset_bindings::aligned(instruments["unit_value"].cast<Doubles>());
        const Doubles mark = riskoffset_bindings::aligned(instruments["mark"].cast<Doubles>());
        const Bytes is_future = instruments["is_future"].cast<Bytes>(), inverse = instruments["inverse"].cast<Bytes>();
        const Ints settle_col = instruments["settle_col"].cast<Ints>();
        const auto n_instr = static_cast<std::size_t>(unit_value.size());
        same_length(mark, n_instr, "mark"), same_length(is_future, n_instr, "is_future");
        same_length(inverse, n_instr, "inverse"), same_length(settle_col, n_instr, "settle_col");
        // ---- currencies and the engine's arrays
        const Doubles price = riskoffset_bindings::aligned(price_in);
        const auto k = static_cast<std::size_t>(price.size());
        for (std::size_t c = 0; c < k; ++c)
          RO_CHECK(std::isfinite(price.data()[c]) && price.data()[c] >= 0, "price of currency column " + std::to_string(c));
        RO_CHECK(cut_im_in.has_value() == cut_mm_in.has_value(), "give both haircuts (cross collateral) or neither");
        Doubles cut_im, cut_mm;
        if (cut_im_in) {
          cut_im = riskoffset_bindings::aligned(*cut_im_in), cut_mm = riskoffset_bindings::aligned(*cut_mm_in);
          RO_CHECK(static_cast<std::size_t>(cut_im.size()) == k && static_cast<std::size_t>(cut_mm.size()) == k,
                   "haircuts need one entry per currency");
        }
        const Doubles balance_arr = riskoffset_bindings::aligned(state["balance"].cast<Doubles>());
        RO_CHECK(balance_arr.ndim() == 2 && static_cast<std::size_t>(balance_arr.shape(1)) == k,
                 "balance must be rows x currencies");
        const auto n_total = static_cast<py::ssize_t>(balance_arr.shape(0));
        const auto nk = n_total * static_cast<py::ssize_t>(k);
        double* options = state_array<double>(state, "options", nk);
        double* futures = state_array<double>(state, "futures", nk);
        double* initial = state_array<double>(state, "initial", nk);
        double* maintenance = state_array<double>(state, "maintenance", nk);
        double* margin_balance = state_array<double>(state, "margin_balance", n_total);
        double* initial_usd = state_array<double>(state, "initial_usd", n_total);
        double* maintenance_usd = state_array<double>(state, "maintenance_usd", n_total);
        double* available = state_array<double>(state, "available", n_total);
        double* ratio = state_array<double>(state, "ratio", n_total);
        double* worst_usd = state_array<double>(state, "worst_usd", n_total);
        std::int64_t* worst_key = state_array<std::int64_t>(state, "worst_key", n_total);
        std::int64_t* worst_index = state_array<std::int64_t>(state, "worst_index", n_total);
        std::int8_t* level = state_array<std::int8_t>(state, "level", n_total);
        const std::int64_t* r = rows.data();
        for (std::size_t a = 0; a < n_rows; ++a) RO_CHECK(r[a] >= 0 && r[a] < n_total, "rows outside the engine's accounts");
        const std::int64_t* ix = indices.data();
        for (std::int64_t p = 0; p < n_pos; ++p)
          RO_CHECK(ix[p] >= 0 && static_cast<std::size_t>(ix[p]) < n_instr,
                   "position " + std::to_string(p) + " names an instrument row outside the table");
        for (std::size_t i = 0; i < n_instr; ++i)
          RO_CHECK(settle_col.data()[i] >= 0 && static_cast<std::size_t>(settle_col.data()[i]) < k,
                   "settle_col of instrument row " + std::to_string(i));
        // ---- portfolio margin (optional)
        riskoffset::PmBook book;
        riskoffset::PmShape shape;
        std::vector<riskoffset::PmKey> keys;
        std::vector<std::int64_t> key_filtered;
        Doubles vectors, delta, t_column, extended, key_rate, coin_moves, gain_cap;
        Ints column, key_cur, coin_col, instrument_key;
        Bytes key_on;
        double *key_initial = nullptr, *key_maintenance = nullptr, *key_worst_pnl = nullptr;
        std::int64_t* key_worst_index = nullptr;
        std::size_t n_keys = 0;
        if (pm) {
          const py::dict& d = *pm;
          instrument_key = d["instrument_key"].cast<Ints>();
          vectors = riskoffset_bindings::aligned(d["vectors"].cast<Doubles>());
          delta = riskoffset_bindings::aligned(d["delta"].cast<Doubles>());
          column = d["column"].cast<Ints>();
          t_column = riskoffset_bindings::aligned(d["t_column"].cast<Doubles>());
          extended = riskoffset_bindings::aligned(d["extended_moves"].cast<Doubles>());
          keys = pm_keys_of(riskoffset_bindings::aligned(d["keys"].cast<Doubles>()));
          n_keys = keys.size();
          key_on = d["key_on"].cast<Bytes>();
          key_cur = d["key_currency"].cast<Ints>();
          key_rate = riskoffset_bindings::aligned(d["key_rate"].cast<Doubles>());
          shape.n_standard = d["n_standard"].cast<std::size_t>();
          shape.n_extended = static_cast<std::size_t>(extended.size());
          shape.extended_moves = extended.data();
          shape.mm_factor = d["mm_factor"].cast<double>();
          const std::size_t width = shape.width();
          RO_CHECK(vectors.ndim() == 2 && static_cast<std::size_t>(vectors.shape(0)) == n_instr &&
                       static_cast<std::size_t>(vectors.shape(1)) == width,
                   "vectors must be (instruments, n_standard + n_extended)");
          same_length(instrument_key, n_instr, "instrument_key"), same_length(delta, n_instr, "delta");
          same_length(column, n_instr, "column");
          RO_CHECK(static_cast<std::size_t>(key_on.size()) == n_keys && static_cast<std::size_t>(key_cur.size()) == n_keys &&
                       static_cast<std::size_t>(key_rate.size()) == n_keys,
                   "key_on, key_currency and key_rate need one entry per key");
          for (std::size_t q = 0; q < n_keys; ++q)
            RO_CHECK(key_cur.data()[q] >= 0 && static_cast<std::size_t>(key_cur.data()[q]) < k, "key_currency outside the currencies");
          const auto n_cols = static_cast<std::size_t>(t_column.size());
          key_filtered.resize(n_instr);
          for (std::size_t i = 0; i < n_instr; ++i) {
            const std::int64_t q = instrument_key.data()[i], col = column.data()[i];
            RO_CHECK(q >= -1 && q < static_cast<std::int64_t>(n_keys), "instrument row " + std::to_string(i) + ": key outside the keys");
            RO_CHECK(col >= 0 && static_cast<std::size_t>(col) < n_cols, "instrument row " + std::to_string(i) + ": expiry column");
            key_filtered[i] = (q >= 0 && key_on.data()[q]) ? q : -1;
          }
          const auto nkk = n_total * static_cast<py::ssize_t>(n_keys);
          key_initial = state_array<double>(state, "key_initial", nkk);
          key_maintenance = state_array<double>(state, "key_maintenance", nkk);
          key_worst_index = state_array<std::int64_t>(state, "key_worst_index", nkk);
          key_worst_pnl = state_array<double>(state, "key_worst_pnl", nkk);
          book.indptr = ip, book.indices = ix, book.quantity = quantity.data(), book.n_accounts = n_rows;
          book.n_instruments = n_instr, book.key = key_filtered.data(), book.vectors = vectors.data();
          book.delta = delta.data(), book.column = column.data(), book.t_column = t_column.data();
          book.n_columns = n_cols, book.keys = keys.data(), book.n_keys = n_keys;
          if (!d["coin_moves"].is_none()) {
            coin_moves = riskoffset_bindings::aligned(d["coin_moves"].cast<Doubles>());
            coin_col = d["coin_col"].cast<Ints>();
            gain_cap = riskoffset_bindings::aligned(d["coin_gain_cap"].cast<Doubles>());
            RO_CHECK(static_cast<std::size_t>(coin_moves.size()) == n_keys * width && static_cast<std::size_t>(coin_col.size()) == n_keys &&
                         static_cast<std::size_t>(gain_cap.size()) == k && k <= 64,
                     "coin_moves (keys x width), coin_col (per key) and coin_gain_cap (per currency) do not fit");
            for (std::size_t q = 0; q < n_keys; ++q)
              RO_CHECK(coin_col.data()[q] >= -1 && coin_col.data()[q] < static_cast<std::int64_t>(k), "coin_col outside the currencies");
            book.coins = balance_arr.data(), book.coin_moves = coin_moves.data(), book.coin_col = coin_col.data();
            book.coin_gain_cap = gain_cap.data(), book.n_coins = k;
          }
        }
        // ---- the recomputation (no Python objects touched below)
        std::vector<std::int64_t> moved;
        std::vector<std::int8_t> before;
        std::int64_t bad_row = -1;
        {
          py::gil_scoped_release release;
          if (pm) {
            const std::size_t width = shape.width();
            std::vector<double> sums(n_keys * width), net(n_keys * book.n_columns);
            std::vector<std::uint8_t> used(n_keys, 0);
            const riskoffset::PmScratch scratch{sums.data(), net.data(), used.data()};
            riskoffset::PmLiveKeys live;
            live.rows = r, live.key_on = key_on.data(), live.initial = key_initial, live.maintenance = key_maintenance;
            live.worst_index = key_worst_index, live.worst_pnl = key_worst_pnl;
            riskoffset::active_kernels().pm_live(book, shape, live, scratch, 0, n_rows);
          }
          const double* bal = balance_arr.data();
          const double* cip = cut_im_in ? cut_im.data() : nullptr;
          const double* cmp = cut_im_in ? cut_mm.data() : nullptr;
          std::vector<double> eq(k);
          for (std::size_t a = 0; a < n_rows; ++a) {
            const auto row = static_cast<std::size_t>(r[a]);
            double* opt = options + row * k;
            double* fut = futures + row * k;
            for (std::size_t c = 0; c < k; ++c) opt[c] = 0.0, fut[c] = 0.0;
            bool finite = true;
            for (std::int64_t p = ip[a]; p < ip[a + 1]; ++p) {
              const auto i = static_cast<std::size_t>(ix[p]);
              const auto c = static_cast<std::size_t>(settle_col.data()[i]);
              const double q = quantity.data()[p];
              opt[c] += q * unit_value.data()[i];
              if (is_future.data()[i]) {
                const double avg = average.data()[p];
                finite = finite && std::isfinite(avg) && avg > 0.0;
                fut[c] += riskoffset::futures_pnl(q, avg, mark.data()[i], inverse.data()[i] != 0);
              }
            }
            if (pm) {  // margin per currency from the account's keys; the group with the largest IM in USD
              double* im = initial + row * k;
              double* mm = maintenance + row * k;
              for (std::size_t c = 0; c < k; ++c) im[c] = 0.0, mm[c] = 0.0;
              const double* ki = key_initial + row * n_keys;
              const double* km = key_maintenance + row * n_keys;
              double top_usd = 0.0;
              std::int64_t top = -1;
              for (std::size_t q = 0; q < n_keys; ++q) {
                const auto c = static_cast<std::size_t>(key_cur.data()[q]);
                im[c] += ki[q], mm[c] += km[q];
                const double usd = ki[q] * key_rate.data()[q];
                if (usd > 0.0 && (top < 0 || usd > top_usd)) top_usd = usd, top = static_cast<std::int64_t>(q);
              }
              worst_key[row] = top;
              worst_index[row] = top < 0 ? -1 : key_worst_index[row * n_keys + static_cast<std::size_t>(top)];
              worst_usd[row] = top < 0 ? 0.0 : key_worst_pnl[row * n_keys + static_cast<std::size_t>(top)] *
                                                   key_rate.data()[static_cast<std::size_t>(top)];
            }
            const double* im = initial + row * k;
            const double* mm = maintenance + row * k;
            for (std::size_t c = 0; c < k; ++c) {
              eq[c] = bal[row * k + c] + opt[c] + fut[c];
              finite = finite && std::isfinite(eq[c]) && std::isfinite(im[c]) && std::isfinite(mm[c]);
            }
            if (!finite && bad_row < 0) bad_row = static_cast<std::int64_t>(row);
            const riskoffset::SettledAccount s = riskoffset::settle_account(eq.data(), im, mm, price.data(), cip, cmp, k);
            margin_balance[row] = s.margin_balance, initial_usd[row] = s.initial_usd;
            maintenance_usd[row] = s.maintenance_usd, available[row] = s.available, ratio[row] = s.ratio;
            const std::int8_t now = s.below_maintenance ? 2 : (s.below_initial ? 1 : 0);
            if (now != level[row]) moved.push_back(static_cast<std::int64_t>(a)), before.push_back(level[row]);
            level[row] = now;
          }
        }
        Ints moved_out(static_cast<py::ssize_t>(moved.size()));
        py::array_t<std::int8_t> before_out(static_cast<py::ssize_t>(before.size()));
        std::copy(moved.begin(), moved.end(), moved_out.mutable_data());
        std::copy(before.begin(), before.end(), before_out.mutable_data());
        return py::make_tuple(bad_row, moved_out, before_out);
      },
      py::arg("indptr"), py::arg("indices"), py::arg("quantity"), py::arg("average"), py::arg("rows"),
      py::arg("instruments"), py::arg("pm"), py::arg("state"), py::arg("price"), py::arg("cut_im") = py::none(),
      py::arg("cut_mm") = py::none(),
      "Recompute the engine accounts `rows` (CSR positions given) into the engine's arrays `state`: (first row "
      "with a non-finite figure or -1, CSR indices whose level changed, their previous levels).");
}
