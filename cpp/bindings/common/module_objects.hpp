// Adding raw CPython objects to a module with every failure checked (the pybind11-free fast paths).
#pragma once
#include <Python.h>

namespace riskoffset_bindings {

// Adds `value` under `name`; steals the reference on success and on failure.  False with a Python error set.
inline bool add_object(PyObject* module, const char* name, PyObject* value) {
  if (!value) return false;
  if (PyModule_AddObject(module, name, value) < 0) {
    Py_DECREF(value);
    return false;
  }
  return true;
}

// A METH_FASTCALL function of `module` whose __module__ is the module's name (as a def in Python would be).
inline bool add_function(PyObject* module, PyMethodDef* def) {
  PyObject* module_name = PyModule_GetNameObject(module);
  if (!module_name) return false;
  PyObject* fn = PyCFunction_NewEx(def, nullptr, module_name);
  Py_DECREF(module_name);
  return add_object(module, def->ml_name, fn);
}

}  // namespace riskoffset_bindings
