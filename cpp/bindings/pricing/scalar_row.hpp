// One option from plain Python numbers: the argument reading shared by the scalar fast paths.
#pragma once
#include <Python.h>

#include "riskoffset/dispatch.hpp"
#include "riskoffset/kernels.hpp"

namespace riskoffset_bindings {

using riskoffset::Column;

inline bool as_double(PyObject* o, double& out) {
  if (PyFloat_Check(o)) {
    out = PyFloat_AS_DOUBLE(o);
    return true;
  }
  if (PyLong_CheckExact(o)) {
    out = PyLong_AsDouble(o);
    if (out == -1.0 && PyErr_Occurred()) {
      PyErr_Clear();
      return false;
    }
    return true;
  }
  return false;
}

// 'c'/'call' -> +1, 'p'/'put' -> -1 (any case), bool -> call/put; 0 for anything else.
inline double as_flag(PyObject* o) {
  if (PyBool_Check(o)) return o == Py_True ? 1.0 : -1.0;
  if (!PyUnicode_Check(o)) return 0.0;
  const Py_ssize_t n = PyUnicode_GET_LENGTH(o);
  if (n == 1) {
    const Py_UCS4 ch = PyUnicode_READ_CHAR(o, 0);
    if (ch == 'c' || ch == 'C') return 1.0;
    if (ch == 'p' || ch == 'P') return -1.0;
    return 0.0;
  }
  if (PyUnicode_CompareWithASCIIString(o, "call") == 0 || PyUnicode_CompareWithASCIIString(o, "Call") == 0 ||
      PyUnicode_CompareWithASCIIString(o, "CALL") == 0)
    return 1.0;
  if (PyUnicode_CompareWithASCIIString(o, "put") == 0 || PyUnicode_CompareWithASCIIString(o, "Put") == 0 ||
      PyUnicode_CompareWithASCIIString(o, "PUT") == 0)
    return -1.0;
  return 0.0;
}

// Runs the active kernel on one option.  Returns false if the row is invalid (the kernel's validation).
inline bool price_one(const double row[7], int model, int settlement, int output, double& value) {
  riskoffset::PricingInputs in;
  in.flag = riskoffset::FlagColumn{&row[0], nullptr, 0}, in.underlying = Column{&row[1], 0}, in.strike = Column{&row[2], 0};
  in.t = Column{&row[3], 0}, in.r = Column{&row[4], 0}, in.sigma = Column{&row[5], 0};
  in.q = Column{&row[6], 0};
  in.model = static_cast<riskoffset::Model>(model);
  in.settlement = static_cast<riskoffset::Settlement>(settlement);
  riskoffset::PricingOutputs out;
  out.out[output] = &value;
  return riskoffset::active_kernels().price_greeks(in, out, 0, 1) < 0;
}

}  // namespace riskoffset_bindings
