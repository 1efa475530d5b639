// _core.margin's live engine calls: LiveRefresh (live_refresh.hpp) bound, its per-event calls through the fastcall
// convention, NOT_CAPTURED; and the account view's settle, collateral_usd, futures_fill and futures_pnl.
// Equity against margin is cpp/src/accounts/settle.hpp (one implementation for LiveRefresh and settle).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstddef>
#include <cstdint>
#include <optional>

#include "../../src/accounts/futures.hpp"
#include "../../src/accounts/settle.hpp"
#include "../common/arrays.hpp"
#include "../common/fast_method.hpp"
#include "../common/require.hpp"
#include "../scenarios/option_reprice.hpp"
#include "live_refresh.hpp"

namespace py = pybind11;

namespace {

using riskoffset_bindings::kNotCaptured;
using riskoffset_bindings::LiveRefresh;
using Doubles = riskoffset_bindings::DoubleArray;
using Bytes = py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>;

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
                    const std::optional<Doubles>&, const std::optional<Doubles>&, int, const std::optional<Bytes>&,
                    const std::optional<Bytes>&>(),
           py::arg("instruments"), py::arg("pm"), py::arg("state"), py::arg("price"), py::arg("cut_im") = py::none(),
           py::arg("cut_mm") = py::none(), py::arg("threads") = 1, py::arg("grid_keys") = py::none(),
           py::arg("segments") = py::none())
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
