#include "output_names.hpp"

namespace riskoffset_bindings {

// The output names as interned strings, made once (module lifetime): building them per call was half the cost
// of a call, and names the caller passes are usually these very objects (literals are interned too).
PyObject* const* output_keys() {
  static PyObject* keys[riskoffset::kOutputCount] = {};
  if (!keys[riskoffset::kOutputCount - 1])
    for (int k = 0; k < riskoffset::kOutputCount; ++k)
      if (!keys[k] && !(keys[k] = PyUnicode_InternFromString(riskoffset::kOutputNames[k]))) return nullptr;
  return keys;
}

// Index of the output called `name` among the first `count`, or -1 (not a str, or not one of them).
static int output_of_name(PyObject* name, PyObject* const* keys, int count) {
  if (!PyUnicode_Check(name)) return -1;
  for (int k = 0; k < count; ++k)
    if (name == keys[k]) return k;
  for (int k = 0; k < count; ++k)
    if (PyUnicode_Compare(name, keys[k]) == 0) return k;
  return -1;
}

// The outputs asked for, in order: None or "all" for every output; a name; a tuple or list of names (what
// users write: the caller's Python path reports an unknown name and reads other iterables, so those give
// kUnusual); or a tuple of output indices (checked: an index out of range is an error).
Chosen read_outputs(PyObject* spec, PyObject* const* keys, int count, int* chosen, int& n_chosen) {
  n_chosen = 0;
  if (spec == Py_None || (PyUnicode_Check(spec) && PyUnicode_CompareWithASCIIString(spec, "all") == 0)) {
    for (int k = 0; k < count; ++k) chosen[n_chosen++] = k;
    return Chosen::kOk;
  }
  if (PyUnicode_Check(spec)) {
    const int k = output_of_name(spec, keys, count);
    if (k < 0) return Chosen::kUnusual;
    chosen[n_chosen++] = k;
    return Chosen::kOk;
  }
  const bool is_tuple = PyTuple_Check(spec);
  if (!is_tuple && !PyList_Check(spec)) return Chosen::kUnusual;  // another iterable: the caller reads it
  const Py_ssize_t size = is_tuple ? PyTuple_GET_SIZE(spec) : PyList_GET_SIZE(spec);
  PyObject* const* items = PySequence_Fast_ITEMS(spec);  // a tuple's or a list's item array
  if (size == 0) return Chosen::kUnusual;
  if (PyUnicode_Check(items[0])) {  // names; a repeated one is kept once, where it first appears
    if (size > 4 * riskoffset::kOutputCount) return Chosen::kUnusual;
    for (Py_ssize_t j = 0; j < size; ++j) {
      const int k = output_of_name(items[j], keys, count);
      if (k < 0) return Chosen::kUnusual;
      bool seen = false;
      for (int i = 0; i < n_chosen; ++i) seen = seen || chosen[i] == k;
      if (!seen) chosen[n_chosen++] = k;
    }
    return Chosen::kOk;
  }
  if (!is_tuple || size > riskoffset::kOutputCount) {
    PyErr_SetString(PyExc_TypeError, "greeks_scalar: outputs must be names or a tuple of output indices");
    return Chosen::kError;
  }
  for (Py_ssize_t j = 0; j < size; ++j) {
    if (!PyLong_Check(items[j])) {  // (PyLong_AsLong would take a float through __int__ on older Pythons)
      PyErr_SetString(PyExc_TypeError, "outputs must be names or a tuple of output indices");
      return Chosen::kError;
    }
    const long k = PyLong_AsLong(items[j]);
    if (PyErr_Occurred()) return Chosen::kError;
    if (k < 0 || k >= count) {
      PyErr_SetString(PyExc_ValueError, "output index out of range");
      return Chosen::kError;
    }
    chosen[n_chosen++] = static_cast<int>(k);
  }
  return Chosen::kOk;
}

}  // namespace riskoffset_bindings
