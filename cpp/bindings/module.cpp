// The private compiled module riskoffset._core: one register function per concept.
#include <pybind11/pybind11.h>

namespace py = pybind11;

void register_simd(py::module_& m);
void register_pricing(py::module_& m);
bool register_fast_scalar(PyObject* module);
bool register_fast_arrays(PyObject* module);

PYBIND11_MODULE(_core, m) {
  m.doc() = "riskoffset compiled core (private: use the riskoffset package)";
  register_simd(m);
  register_pricing(m);
  if (!register_fast_scalar(m.ptr()) || !register_fast_arrays(m.ptr())) throw py::error_already_set();
}
