// The private compiled module riskoffset._core: one submodule per concept, each filled by its own
// register_<concept> function (bindings/<concept>/register_<concept>.cpp).
#include <pybind11/pybind11.h>

namespace py = pybind11;

void register_simd(py::module_& m);
void register_pricing(py::module_& m);
void register_scenarios(py::module_& m);
void register_book(py::module_& m);
void register_memory(py::module_& m);
void register_margin(py::module_& m);
void register_grid(py::module_& m);
namespace riskoffset_bindings {
void register_span(py::module_& m);
}
void register_contributors(py::module_& m);
void register_account_rows(py::module_& m);

PYBIND11_MODULE(_core, m) {
  m.doc() = "riskoffset compiled core (private: use the riskoffset package)";
  auto simd = m.def_submodule("simd", "SIMD targets: which are compiled, supported and active");
  register_simd(simd);
  auto pricing = m.def_submodule("pricing", "Prices, Greeks and implied volatility of European options");
  register_pricing(pricing);
  auto scenarios = m.def_submodule("scenarios", "Full revaluation of instruments under scenarios");
  register_scenarios(scenarios);
  auto book = m.def_submodule("book", "Netting and the CSR product L = Q . P of a book");
  register_book(book);
  auto margin = m.def_submodule("margin", "Portfolio margin of every account group of a book");
  register_margin(margin);
  register_grid(margin);
  riskoffset_bindings::register_span(margin);
  register_contributors(margin);
  register_account_rows(margin);
  auto memory = m.def_submodule("memory", "The pool of reused result buffers");
  register_memory(memory);
}
