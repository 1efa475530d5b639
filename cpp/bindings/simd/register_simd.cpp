// _core.simd: which SIMD targets are compiled, supported and active; the vector maths for tests.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>

#include "riskoffset/dispatch.hpp"

namespace py = pybind11;

void register_simd(py::module_& m) {
  m.def("compiled_targets", &riskoffset::compiled_targets);
  m.def("supported_targets", &riskoffset::supported_targets);
  m.def("active_target", &riskoffset::active_target);
#ifdef RISKOFFSET_SANITIZED
  m.attr("sanitized") = true;  // built by tools/sanitize.sh: only the targets its machine runs are compiled
#else
  m.attr("sanitized") = false;
#endif
  m.def("set_active_target", &riskoffset::set_active_target, py::arg("name"));
  m.def(
      "vmath",
      [](const std::string& target, const std::string& function, double x) {
        const riskoffset::KernelTable& k = riskoffset::kernels_by_name(target);
        if (function == "exp") return k.exp(x);
        if (function == "log") return k.log(x);
        if (function == "erfcx") return k.erfcx(x);
        throw std::invalid_argument("unknown vector math function '" + function + "'");
      },
      py::arg("target"), py::arg("function"), py::arg("x"));
}
