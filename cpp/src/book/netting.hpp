// Netting: position rows (account code, instrument row, amount in integer units) -> a CSR book whose
// accounts list their instruments in ascending row order with the amounts summed exactly (integers, so the
// order of addition cannot change a result) and exact zeros dropped.
//
// A stable counting sort by account (linear in rows + accounts), then per account a scatter into a dense
// accumulator indexed by instrument row and a sort of the (few) rows it touched.  Deterministic by
// construction; an int64 overflow of a sum is reported, never wrapped.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace riskoffset::book {

struct NettedBook {
  std::vector<std::int64_t> indptr;   // n_accounts + 1 (an account whose rows all net to zero is empty)
  std::vector<std::int64_t> indices;  // instrument row per netted position
  std::vector<std::int64_t> units;    // summed integer amount per netted position (never 0)
};

// Every account code must lie in [0, n_accounts) and every row in [0, n_instruments): the binding checks.
inline NettedBook net_positions(const std::int64_t* account, const std::int64_t* row, const std::int64_t* units,
                                std::size_t n, std::size_t n_accounts, std::size_t n_instruments) {
  std::vector<std::int64_t> start(n_accounts + 1, 0);
  for (std::size_t p = 0; p < n; ++p) ++start[static_cast<std::size_t>(account[p]) + 1];
  for (std::size_t a = 0; a < n_accounts; ++a) start[a + 1] += start[a];
  std::vector<std::int64_t> order(n);
  {
    std::vector<std::int64_t> next(start.begin(), start.end() - 1);
    for (std::size_t p = 0; p < n; ++p)
      order[static_cast<std::size_t>(next[static_cast<std::size_t>(account[p])]++)] = static_cast<std::int64_t>(p);
  }
  NettedBook out;
  out.indptr.assign(n_accounts + 1, 0);
  out.indices.reserve(n);
  out.units.reserve(n);
  std::vector<std::int64_t> sum(n_instruments, 0);
  std::vector<std::uint8_t> touched(n_instruments, 0);
  std::vector<std::int64_t> rows;
  for (std::size_t a = 0; a < n_accounts; ++a) {
    rows.clear();
    for (std::int64_t k = start[a]; k < start[a + 1]; ++k) {
      const auto p = static_cast<std::size_t>(order[static_cast<std::size_t>(k)]);
      const auto r = static_cast<std::size_t>(row[p]);
      if (!touched[r]) touched[r] = 1, rows.push_back(row[p]);
      if (__builtin_add_overflow(sum[r], units[p], &sum[r]))
        throw std::invalid_argument("netting: the summed amount of instrument row " + std::to_string(r) +
                                  " in account code " + std::to_string(a) + " overflows");
    }
    std::sort(rows.begin(), rows.end());
    for (const std::int64_t r : rows) {
      const auto ru = static_cast<std::size_t>(r);
      if (sum[ru] != 0) out.indices.push_back(r), out.units.push_back(sum[ru]);
      sum[ru] = 0, touched[ru] = 0;
    }
    out.indptr[a + 1] = static_cast<std::int64_t>(out.indices.size());
  }
  return out;
}

}  // namespace riskoffset::book
