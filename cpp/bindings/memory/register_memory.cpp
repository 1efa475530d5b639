#include <pybind11/pybind11.h>

#include "buffer_pool.hpp"

namespace py = pybind11;

void register_memory(py::module_& m) {
  m.def("release_pooled_memory", &riskoffset_bindings::release_pooled_memory,
        "Frees every idle pooled result buffer; returns the number of bytes released.");
  m.def("pooled_bytes", &riskoffset_bindings::pooled_bytes, "Bytes held idle by the result-buffer pool.");
}
