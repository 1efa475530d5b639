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

void register_netting(py::module_& m);     // netting.cpp
void register_cell_sums(py::module_& m);   // cell_sums.cpp
void register_label_index(py::module_& m);  // label_index.cpp

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
        // Group of each position: account x n_keys + key (computed where needed, never stored: at millions of
        // positions each fresh array costs its page faults).  Already grouped when non-decreasing in CSR order;
        // otherwise a stable counting sort (CSR order within a group), written into the (pooled) result.
        const auto group_of = [&](std::int64_t a, std::int64_t p) { return a * n_keys + key[p]; };
        bool grouped = true;
        std::int64_t n_groups = 0;
        {
          py::gil_scoped_release release;
          std::int64_t last = -1;
          for (std::int64_t a = 0; a < n_accounts; ++a)
            for (std::int64_t p = ip[a]; p < ip[a + 1]; ++p) {
              const std::int64_t g = group_of(a, p);
              grouped = grouped && g >= last;
              n_groups += g != last, last = g;
            }
        }
        std::vector<std::int64_t> next;  // with a sort: where each group's next position goes
        if (!grouped) {
          py::gil_scoped_release release;
          next.assign(static_cast<std::size_t>(n_accounts * n_keys) + 1, 0);
          for (std::int64_t a = 0; a < n_accounts; ++a)
            for (std::int64_t p = ip[a]; p < ip[a + 1]; ++p) ++next[static_cast<std::size_t>(group_of(a, p)) + 1];
          n_groups = 0;
          for (std::size_t g = 1; g < next.size(); ++g) n_groups += next[g] != 0, next[g] += next[g - 1];
        }
        using riskoffset_bindings::new_pooled_array;
        py::array_t<std::int64_t> order, starts = new_pooled_array<std::int64_t>({n_groups}),
                                         ids = new_pooled_array<std::int64_t>({n_groups});
        if (!grouped) order = new_pooled_array<std::int64_t>({n});
        std::int64_t *st = starts.mutable_data(), *id = ids.mutable_data(), *o = grouped ? nullptr : order.mutable_data();
        {
          py::gil_scoped_release release;
          std::int64_t at = 0;
          if (grouped) {
            std::int64_t last = -1;
            for (std::int64_t a = 0; a < n_accounts; ++a)
              for (std::int64_t p = ip[a]; p < ip[a + 1]; ++p) {
                const std::int64_t g = group_of(a, p);
                if (g != last) st[at] = p, id[at] = g, ++at, last = g;
              }
          } else {
            for (std::size_t g = 0; g + 1 < next.size(); ++g)  // (before the fill moves `next` on)
              if (next[g + 1] != next[g]) st[at] = next[g], id[at] = static_cast<std::int64_t>(g), ++at;
            for (std::int64_t a = 0; a < n_accounts; ++a)
              for (std::int64_t p = ip[a]; p < ip[a + 1]; ++p) o[next[static_cast<std::size_t>(group_of(a, p))]++] = p;
          }
        }
        return py::make_tuple(grouped ? py::object(py::none()) : py::object(order), starts, ids);
      },
      py::arg("indptr"), py::arg("key"), py::arg("n_keys"),
      "The (account, key) groups of a book's positions (CSR `indptr`, a `key` < `n_keys` per position): (the "
      "order that puts each group's positions together, CSR order within a group, or None when CSR order already "
      "does; where each group starts in that order; its id, account x n_keys + key), groups ascending.");
  register_netting(m);
  register_cell_sums(m);
  register_label_index(m);
}
