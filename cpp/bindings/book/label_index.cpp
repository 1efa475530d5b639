// _core.book.LabelIndex: the rows of integer account labels (cpp/src/book/label_index.hpp), looked up through a
// fastcall method since the live engine does it once per trade.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <vector>

#include "../common/fast_method.hpp"
#include "book/label_index.hpp"

namespace py = pybind11;

namespace label_index_binding {

// The row of one label: None where the label names no row (an int beyond 64 bits names none).
PyObject* label_index_get(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  return riskoffset_bindings::fast_call<riskoffset::LabelIndex>(
      self, "LabelIndex.get", args, nargs, 1, 1, [](riskoffset::LabelIndex& index, const riskoffset_bindings::FastArgs& a) {
        PyObject* label = a.object(0).ptr();
        if (!PyLong_Check(label) || PyBool_Check(label)) throw py::type_error("LabelIndex.get: label must be an int");
        int overflow = 0;
        const long long value = PyLong_AsLongLongAndOverflow(label, &overflow);
        if (value == -1 && PyErr_Occurred()) throw py::error_already_set();
        const std::int64_t row = overflow ? -1 : index.find(static_cast<std::int64_t>(value));
        if (row < 0) Py_RETURN_NONE;
        return PyLong_FromLongLong(row);
      });
}

PyMethodDef label_index_get_def = {
    "get", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(label_index_get)), METH_FASTCALL,
    "get(label), positional only\n\nThe row of the int `label`, or None when it names none."};

}  // namespace label_index_binding

void register_label_index(py::module_& m) {
  py::class_<riskoffset::LabelIndex> index(
      m, "LabelIndex",
      "The rows of integer account labels (row r for the r-th label), for lookups once per message: one cache "
      "line read per lookup where a dict of ints reads three.");
  index.def(py::init<const std::vector<std::int64_t>&>(), py::arg("labels"),
            "Row r for labels[r] (ints of 64 bits); a label given twice raises ValueError.");
  index.def("append", &riskoffset::LabelIndex::append, py::arg("label"), "The label of the next row.");
  index.def("truncate", &riskoffset::LabelIndex::truncate, py::arg("n"), "Forget the labels of rows n and after.");
  index.def("__len__", &riskoffset::LabelIndex::size);
  riskoffset_bindings::add_fast_method(index, &label_index_binding::label_index_get_def);
}
