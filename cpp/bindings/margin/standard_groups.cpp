// _core.margin.standard_groups: Deribit standard margin of a whole book per (account, settlement currency) group in
// one pass over its positions.  Each position's margin is riskoffset::standard_position_margin (the function the
// live engine runs); a group adds its positions' margins in CSR order, so its sums are those of the group's
// positions listed in order, whatever the book's size.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "../common/arrays.hpp"
#include "../common/require.hpp"
#include "../memory/buffer_pool.hpp"
#include "standard_units.hpp"

namespace py = pybind11;

namespace {

using Ints = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;
using Doubles = py::array_t<double, py::array::c_style | py::array::forcecast>;

constexpr std::size_t kSums = 6;  // IM, MM, the IM of futures and of options, then their MM

// One currency's running figures within an account.
struct GroupSums {
  double sum[kSums];
  std::int64_t weakest[2];  // per component (futures, options), the weakest rank of its charged positions
  bool present[2];          // per component, whether the group holds a position of it
  bool held;
};

}  // namespace

void register_standard_groups(py::module_& m) {
  m.def(
      "standard_groups",
      [](const Ints& indptr, const Ints& indices, const Doubles& quantity, const py::dict& units,
         const Ints& currency_in, std::int64_t n_currencies, const Ints& status_rank, std::int64_t n_ranks) {
        RO_CHECK(indptr.ndim() == 1 && indptr.size() >= 1, "indptr needs n_accounts + 1 entries");
        RO_CHECK(indices.ndim() == 1 && quantity.ndim() == 1 && indices.size() == quantity.size(),
                 "indices and quantity must be equal-length vectors");
        RO_CHECK(units.contains("short_initial"), "no array 'short_initial'");
        const auto n_instruments = static_cast<std::size_t>(py::array(units["short_initial"]).size());
        const riskoffset_bindings::BoundStandardUnits bound(units, n_instruments);
        RO_CHECK(currency_in.ndim() == 1 && static_cast<std::size_t>(currency_in.size()) == n_instruments,
                 "currency needs one entry per instrument");
        RO_CHECK(status_rank.ndim() == 1 && static_cast<std::size_t>(status_rank.size()) == n_instruments,
                 "status_rank needs one entry per instrument");
        RO_CHECK(n_currencies >= 1 && n_currencies <= 4096, "n_currencies must be in [1, 4096]");
        RO_CHECK(n_ranks >= 1 && n_ranks <= 64, "n_ranks must be in [1, 64]");
        const std::int64_t no_rank = n_ranks;  // past the strongest calibration: no charged position
        const std::int64_t *ip = indptr.data(), *ix = indices.data(), *cur = currency_in.data();
        const std::int64_t* rank = status_rank.data();
        const double* q = quantity.data();
        const auto n_accounts = static_cast<std::size_t>(indptr.size()) - 1;
        const auto n_positions = static_cast<std::int64_t>(indices.size());
        RO_CHECK(ip[0] == 0 && ip[n_accounts] == n_positions, "indptr must run over the positions");
        for (std::size_t a = 0; a < n_accounts; ++a)
          RO_CHECK(ip[a] <= ip[a + 1], "indptr decreases at account " + std::to_string(a));
        for (std::int64_t p = 0; p < n_positions; ++p)
          RO_CHECK(ix[p] >= 0 && static_cast<std::size_t>(ix[p]) < n_instruments,
                   "position " + std::to_string(p) + " names an instrument row outside the unit margins");
        for (std::size_t i = 0; i < n_instruments; ++i) {
          RO_CHECK(cur[i] >= 0 && cur[i] < n_currencies,
                   "instrument row " + std::to_string(i) + ": currency outside [0, n_currencies)");
          RO_CHECK(rank[i] >= 0 && rank[i] < n_ranks, "instrument row " + std::to_string(i) + ": status rank outside [0, n_ranks)");
        }
        const riskoffset::StandardUnits& u = bound.units();
        const auto n_cur = static_cast<std::size_t>(n_currencies);
        std::vector<std::int64_t> ids;
        std::vector<double> sums;
        std::vector<std::int64_t> weakest;
        std::vector<std::uint8_t> present;
        {
          py::gil_scoped_release release;
          // Every account has a group per currency it holds: reserve for one each (most hold one or two).
          ids.reserve(n_accounts), sums.reserve(n_accounts * kSums), weakest.reserve(2 * n_accounts);
          present.reserve(2 * n_accounts);
          std::vector<GroupSums> group(n_cur);
          std::vector<std::size_t> touched;  // the account's currencies, in the order first met
          for (std::size_t a = 0; a < n_accounts; ++a) {
            touched.clear();
            for (std::int64_t p = ip[a]; p < ip[a + 1]; ++p) {
              const auto i = static_cast<std::size_t>(ix[p]);
              const auto c = static_cast<std::size_t>(cur[i]);
              GroupSums& g = group[c];
              if (!g.held) {
                g = GroupSums{{0.0, 0.0, 0.0, 0.0, 0.0, 0.0}, {no_rank, no_rank}, {false, false}, true};
                touched.push_back(c);
              }
              const riskoffset::PositionMargin margin = riskoffset::standard_position_margin(u, i, q[p]);
              const std::int8_t component = u.component[i];
              g.sum[0] += margin.initial, g.sum[1] += margin.maintenance;
              if (component == 2) continue;  // neither futures nor options (spot): no component of its own
              g.sum[2 + component] += margin.initial, g.sum[4 + component] += margin.maintenance;
              g.present[component] = true;
              const bool charged = component == 0 || q[p] < 0;  // futures always, options when short
              if (charged) g.weakest[component] = std::min(g.weakest[component], rank[i]);
            }
            std::sort(touched.begin(), touched.end());  // groups in currency order, as ids ascend
            for (const std::size_t c : touched) {
              GroupSums& g = group[c];
              ids.push_back(static_cast<std::int64_t>(a * n_cur + c));
              sums.insert(sums.end(), g.sum, g.sum + kSums);
              weakest.insert(weakest.end(), g.weakest, g.weakest + 2);
              present.push_back(g.present[0]), present.push_back(g.present[1]);
              g.held = false;
            }
          }
        }
        const auto n_groups = static_cast<py::ssize_t>(ids.size());
        py::array_t<std::int64_t> ids_out = riskoffset_bindings::vector_array(ids);
        // One row per figure (each a contiguous column of the groups: what the caller hands on without a copy).
        py::array_t<double> sums_out = riskoffset_bindings::new_double_array({static_cast<py::ssize_t>(kSums), n_groups});
        double* out = sums_out.mutable_data();
        for (std::size_t g = 0; g < ids.size(); ++g)
          for (std::size_t k = 0; k < kSums; ++k) out[k * ids.size() + g] = sums[g * kSums + k];
        py::array_t<std::int64_t> weakest_out({n_groups, py::ssize_t{2}});
        std::copy(weakest.begin(), weakest.end(), weakest_out.mutable_data());
        py::array_t<bool> present_out({n_groups, py::ssize_t{2}});
        std::transform(present.begin(), present.end(), present_out.mutable_data(), [](std::uint8_t b) { return b != 0; });
        return py::make_tuple(ids_out, sums_out, weakest_out, present_out);
      },
      py::arg("indptr"), py::arg("indices"), py::arg("quantity"), py::arg("units"), py::arg("currency"),
      py::arg("n_currencies"), py::arg("status_rank"), py::arg("n_ranks"),
      "Deribit standard margin per (account, settlement currency) group of a CSR book: (ids = account x "
      "n_currencies + currency, ascending; sums (6, groups): IM, MM, the IM of futures and of options, then their "
      "MM, each a sum of its positions' margins in CSR order; the weakest status rank of each component's charged "
      "positions (futures always, options when short; n_ranks where none is); whether the group holds that component).");
}
