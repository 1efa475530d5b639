// Scalar entry points written against the raw CPython API (METH_FASTCALL / vectorcall): for one option
// from plain Python numbers, pybind11's general argument machinery costs several times the pricing itself.
//
//  value_scalar(output, flag, underlying, strike, t, r, sigma, q, model, settlement) -> float | None
//  greeks_scalar(flag, underlying, strike, t, r, sigma, q, model, settlement) -> dict | None
//  implied_vol_scalar(price, flag, underlying, strike, t, r, q, model, settlement) -> (sigma, status) | None
// (ScalarFunction, the vollib-compatible callable, is in scalar_function.cpp.)
#include <Python.h>
#include <structmember.h>  // PyMemberDef, T_PYSSIZET, READONLY (Python < 3.12)

#include <cmath>
#include <string>

#include "../common/module_objects.hpp"
#include "output_index.hpp"
#include "riskoffset/dispatch.hpp"
#include "riskoffset/kernels.hpp"
#include "scalar_row.hpp"

namespace {

using riskoffset::Column;
using riskoffset_bindings::as_double;
using riskoffset_bindings::as_flag;
using riskoffset_bindings::price_one;

PyObject* value_scalar(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 10) {
    PyErr_SetString(PyExc_TypeError, "value_scalar takes 10 positional arguments");
    return nullptr;
  }
  const long output = PyLong_AsLong(args[0]);
  const long model = PyLong_AsLong(args[8]);
  const long settlement = PyLong_AsLong(args[9]);
  if (PyErr_Occurred()) return nullptr;
  if (output < 0 || output >= riskoffset::kOutputCount || (model != 0 && model != 1) ||
      (settlement != 0 && settlement != 1)) {
    PyErr_SetString(PyExc_ValueError, "value_scalar: output, model or settlement code out of range");
    return nullptr;
  }
  double row[7];
  row[0] = as_flag(args[1]);
  if (row[0] == 0.0) Py_RETURN_NONE;
  for (int k = 1; k < 7; ++k)
    if (!as_double(args[k + 1], row[k])) Py_RETURN_NONE;
  double value = 0.0;
  if (!price_one(row, static_cast<int>(model), static_cast<int>(settlement), static_cast<int>(output), value))
    Py_RETURN_NONE;
  return PyFloat_FromDouble(value);
}

// Reads flag, underlying, strike, t, r, sigma, q from args[0..7).  False if any is not a plain scalar.
bool read_row(PyObject* const* args, double row[7]) {
  row[0] = as_flag(args[0]);
  if (row[0] == 0.0) return false;
  for (int k = 1; k < 7; ++k)
    if (!as_double(args[k], row[k])) return false;
  return true;
}

bool read_codes(PyObject* model_obj, PyObject* settlement_obj, long& model, long& settlement) {
  model = PyLong_AsLong(model_obj);
  settlement = PyLong_AsLong(settlement_obj);
  if (PyErr_Occurred()) return false;
  if ((model != 0 && model != 1) || (settlement != 0 && settlement != 1)) {
    PyErr_SetString(PyExc_ValueError, "model and settlement codes must be 0 or 1");
    return false;
  }
  return true;
}

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
int output_of_name(PyObject* name, PyObject* const* keys, int count) {
  if (!PyUnicode_Check(name)) return -1;
  for (int k = 0; k < count; ++k)
    if (name == keys[k]) return k;
  for (int k = 0; k < count; ++k)
    if (PyUnicode_Compare(name, keys[k]) == 0) return k;
  return -1;
}

enum class Chosen { kOk, kUnusual, kError };

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
    const long k = PyLong_AsLong(items[j]);
    if (PyErr_Occurred()) return Chosen::kError;
    if (k < 0 || k >= count) {
      PyErr_SetString(PyExc_ValueError, "greeks_scalar: output index out of range");
      return Chosen::kError;
    }
    chosen[n_chosen++] = static_cast<int>(k);
  }
  return Chosen::kOk;
}

// greeks_scalar(flag, underlying, strike, t, r, sigma, q, model, settlement[, outputs]) -> dict | None
// outputs as read_outputs takes them (the dict keeps their order); the kernel computes only those.  None when
// an argument is unusual (not a plain scalar, an unknown name): the Python caller then takes its general path.
PyObject* greeks_scalar(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 9 && nargs != 10) {
    PyErr_SetString(PyExc_TypeError, "greeks_scalar takes 9 or 10 positional arguments");
    return nullptr;
  }
  long model = 0, settlement = 0;
  if (!read_codes(args[7], args[8], model, settlement)) return nullptr;
  PyObject* const* keys = output_keys();
  if (!keys) return nullptr;
  const int count = settlement == 1 ? riskoffset::kOutputCount : riskoffset_bindings::kLinearOutputCount;
  int chosen[riskoffset::kOutputCount];  // distinct outputs: at most one each
  int n_chosen = 0;
  switch (read_outputs(nargs == 10 ? args[9] : Py_None, keys, count, chosen, n_chosen)) {
    case Chosen::kError: return nullptr;
    case Chosen::kUnusual: Py_RETURN_NONE;
    case Chosen::kOk: break;
  }
  double row[7];
  if (!read_row(args, row)) Py_RETURN_NONE;
  riskoffset::PricingInputs in;
  in.flag = riskoffset::FlagColumn{&row[0], nullptr, 0}, in.underlying = Column{&row[1], 0}, in.strike = Column{&row[2], 0};
  in.t = Column{&row[3], 0}, in.r = Column{&row[4], 0}, in.sigma = Column{&row[5], 0};
  in.q = Column{&row[6], 0};
  in.model = static_cast<riskoffset::Model>(model);
  in.settlement = static_cast<riskoffset::Settlement>(settlement);
  double values[riskoffset::kOutputCount] = {};
  riskoffset::PricingOutputs out;
  for (int j = 0; j < n_chosen; ++j) out.out[chosen[j]] = &values[chosen[j]];
  if (riskoffset::active_kernels().price_greeks(in, out, 0, 1) >= 0) Py_RETURN_NONE;
  PyObject* d = PyDict_New();
  if (!d) return nullptr;
  for (int j = 0; j < n_chosen; ++j) {
    PyObject* v = PyFloat_FromDouble(values[chosen[j]]);
    if (!v || PyDict_SetItem(d, keys[chosen[j]], v) < 0) {
      Py_XDECREF(v);
      Py_DECREF(d);
      return nullptr;
    }
    Py_DECREF(v);
  }
  return d;
}

// implied_vol_scalar(price, flag, underlying, strike, t, r, q, model, settlement) -> (sigma, status) | None
PyObject* implied_vol_scalar(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 9) {
    PyErr_SetString(PyExc_TypeError, "implied_vol_scalar takes 9 positional arguments");
    return nullptr;
  }
  long model = 0, settlement = 0;
  if (!read_codes(args[7], args[8], model, settlement)) return nullptr;
  double v[7];  // price, flag, underlying, strike, t, r, q
  v[1] = as_flag(args[1]);
  if (v[1] == 0.0 || !as_double(args[0], v[0])) Py_RETURN_NONE;
  for (int k = 2; k < 7; ++k)
    if (!as_double(args[k], v[k])) Py_RETURN_NONE;
  riskoffset::ImpliedVolInputs in;
  in.price = Column{&v[0], 0}, in.flag = riskoffset::FlagColumn{&v[1], nullptr, 0}, in.underlying = Column{&v[2], 0};
  in.strike = Column{&v[3], 0}, in.t = Column{&v[4], 0}, in.r = Column{&v[5], 0}, in.q = Column{&v[6], 0};
  in.model = static_cast<riskoffset::Model>(model);
  in.settlement = static_cast<riskoffset::Settlement>(settlement);
  double sigma = 0.0;
  std::int8_t status = 0;
  riskoffset::active_kernels().implied_vol(in, &sigma, &status, 0, 1);
  return Py_BuildValue("(di)", sigma, static_cast<int>(status));
}

PyMethodDef value_scalar_def = {"value_scalar", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(value_scalar)),
                                METH_FASTCALL,
                                "value_scalar(output, flag, underlying, strike, t, r, sigma, q, model, settlement)\n"
                                "One output of one option from plain Python numbers, or None."};

PyMethodDef greeks_scalar_def = {"greeks_scalar", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(greeks_scalar)),
                                 METH_FASTCALL,
                                 "greeks_scalar(flag, underlying, strike, t, r, sigma, q, model, settlement[, outputs])\n"
                                 "The outputs of one option (all, or those of the index tuple) as a dict, or None."};

PyMethodDef implied_vol_scalar_def = {
    "implied_vol_scalar", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(implied_vol_scalar)),
    METH_FASTCALL,
    "implied_vol_scalar(price, flag, underlying, strike, t, r, q, model, settlement)\n"
    "(sigma, status) of one option from plain Python numbers, or None."};

}  // namespace

// Adds value_scalar, greeks_scalar and implied_vol_scalar; returns false with a Python error set on failure.
bool register_scalar_calls(PyObject* module) {
  for (PyMethodDef* def : {&value_scalar_def, &greeks_scalar_def, &implied_vol_scalar_def})
    if (!riskoffset_bindings::add_function(module, def)) return false;
  return true;
}
