// _core.book: the CSR product L = Q . P (per-group P&L of a book's positions).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "../common/arrays.hpp"
#include "../memory/buffer_pool.hpp"
#include "riskoffset/pricing.hpp"

namespace py = pybind11;
using riskoffset_bindings::DoubleArray;
using IndexArray = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

void register_netting(py::module_& m);  // netting.cpp

namespace {
IndexArray aligned_index(const IndexArray& a) {
  if (reinterpret_cast<std::uintptr_t>(a.data()) % alignof(std::int64_t) == 0) return a;
  return IndexArray::ensure(a.attr("copy")());
}
}  // namespace

void register_book(py::module_& m) {
  m.def(
      "csr_product",
      [](const IndexArray& starts_in, const IndexArray& lengths_in, const IndexArray& instrument_in,
         const DoubleArray& quantity_in, const DoubleArray& pnl_in, int threads) {
        const IndexArray starts = aligned_index(starts_in), lengths = aligned_index(lengths_in);
        const IndexArray instrument = aligned_index(instrument_in);
        const DoubleArray quantity = riskoffset_bindings::aligned(quantity_in), pnl = riskoffset_bindings::aligned(pnl_in);
        if (pnl.ndim() != 2) throw std::invalid_argument("pnl must be a 2-D array (instruments x columns)");
        if (starts.size() != lengths.size()) throw std::invalid_argument("starts and lengths differ in length");
        if (instrument.size() != quantity.size())
          throw std::invalid_argument("instrument and quantity differ in length");
        const auto n_positions = static_cast<std::int64_t>(instrument.size());
        const auto n_instruments = static_cast<std::int64_t>(pnl.shape(0));
        const std::int64_t* s = starts.data();
        const std::int64_t* l = lengths.data();
        // l[g] > n - s[g], not s[g] + l[g] > n: the sum of two int64 can overflow.
        for (py::ssize_t g = 0; g < starts.size(); ++g)
          if (s[g] < 0 || l[g] < 0 || s[g] > n_positions || l[g] > n_positions - s[g])
            throw std::invalid_argument("group " + std::to_string(g) + " lies outside the positions");
        const std::int64_t* ins = instrument.data();
        for (std::int64_t p = 0; p < n_positions; ++p)
          if (ins[p] < 0 || ins[p] >= n_instruments)
            throw std::invalid_argument("position " + std::to_string(p) + " names instrument row " +
                                        std::to_string(ins[p]) + ", outside the P&L matrix");
        riskoffset::CsrProductInputs in;
        in.starts = s, in.lengths = l, in.instrument = ins, in.quantity = quantity.data(), in.pnl = pnl.data();
        in.n_columns = static_cast<std::size_t>(pnl.shape(1));
        const auto n_groups = static_cast<std::size_t>(starts.size());
        py::array_t<double> out = riskoffset_bindings::new_double_array(
            {static_cast<py::ssize_t>(n_groups), static_cast<py::ssize_t>(in.n_columns)});
        double* data = out.mutable_data();
        {
          py::gil_scoped_release release;  // arrays referenced by this frame; no Python touched
          riskoffset::csr_product(in, data, n_groups, threads);
        }
        return out;
      },
      py::arg("starts"), py::arg("lengths"), py::arg("instrument"), py::arg("quantity"), py::arg("pnl"),
      py::arg("threads"));
  m.def(
      "group_positions",
      [](const IndexArray& indptr_in, const IndexArray& key_in, std::int64_t n_keys) -> py::tuple {
        const IndexArray indptr = aligned_index(indptr_in), key_of = aligned_index(key_in);
        if (indptr.ndim() != 1 || indptr.size() < 1) throw std::invalid_argument("indptr needs n_accounts + 1 entries");
        if (key_of.ndim() != 1) throw std::invalid_argument("key must be a vector (one entry per position)");
        const auto n_accounts = static_cast<std::int64_t>(indptr.size()) - 1;
        const auto n = static_cast<std::int64_t>(key_of.size());
        const std::int64_t *ip = indptr.data(), *key = key_of.data();
        if (n_keys < 1 || n_keys > (std::int64_t{1} << 40) / std::max<std::int64_t>(n_accounts, 1))
          throw std::invalid_argument("n_keys must be >= 1 (and accounts x keys within range)");
        if (ip[0] != 0 || ip[n_accounts] != n) throw std::invalid_argument("indptr must run over the positions");
        for (std::int64_t a = 0; a < n_accounts; ++a)
          if (ip[a] > ip[a + 1]) throw std::invalid_argument("indptr decreases at account " + std::to_string(a));
        for (std::int64_t p = 0; p < n; ++p)
          if (key[p] < 0 || key[p] >= n_keys)
            throw std::invalid_argument("position " + std::to_string(p) + ": key outside [0, n_keys)");
        // Group of each position: account x n_keys + key.  Already grouped when non-decreasing in CSR order;
        // otherwise a stable counting sort (CSR order within a group).
        std::vector<std::int64_t> group(static_cast<std::size_t>(n));
        bool grouped = true;
        std::vector<std::int64_t> order;
        {
          py::gil_scoped_release release;
          for (std::int64_t a = 0; a < n_accounts; ++a)
            for (std::int64_t p = ip[a]; p < ip[a + 1]; ++p) {
              group[static_cast<std::size_t>(p)] = a * n_keys + key[p];
              grouped = grouped && (p == 0 || group[static_cast<std::size_t>(p - 1)] <= group[static_cast<std::size_t>(p)]);
            }
          if (!grouped) {
            std::vector<std::int64_t> next(static_cast<std::size_t>(n_accounts * n_keys) + 1, 0);
            for (const std::int64_t g : group) ++next[static_cast<std::size_t>(g) + 1];
            for (std::size_t g = 1; g < next.size(); ++g) next[g] += next[g - 1];
            order.resize(static_cast<std::size_t>(n));
            for (std::int64_t p = 0; p < n; ++p) order[static_cast<std::size_t>(next[static_cast<std::size_t>(group[static_cast<std::size_t>(p)])]++)] = p;
          }
        }
        std::vector<std::int64_t> starts, ids;
        for (std::int64_t i = 0; i < n; ++i) {
          const std::int64_t g = group[static_cast<std::size_t>(grouped ? i : order[static_cast<std::size_t>(i)])];
          if (ids.empty() || g != ids.back()) starts.push_back(i), ids.push_back(g);
        }
        const auto as_array = [](const std::vector<std::int64_t>& v) {
          py::array_t<std::int64_t> out(static_cast<py::ssize_t>(v.size()));
          std::copy(v.begin(), v.end(), out.mutable_data());
          return out;
        };
        return py::make_tuple(grouped ? py::object(py::none()) : py::object(as_array(order)), as_array(starts),
                              as_array(ids));
      },
      py::arg("indptr"), py::arg("key"), py::arg("n_keys"),
      "The (account, key) groups of a book's positions (CSR `indptr`, a `key` < `n_keys` per position): (the "
      "order that puts each group's positions together, CSR order within a group, or None when CSR order already "
      "does; where each group starts in that order; its id, account x n_keys + key), groups ascending.");
  register_netting(m);
}
