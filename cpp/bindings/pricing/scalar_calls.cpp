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
#include "output_names.hpp"
#include "riskoffset/dispatch.hpp"
#include "riskoffset/kernels.hpp"
#include "scalar_row.hpp"

namespace {

using riskoffset::Column;
using riskoffset_bindings::Chosen;
using riskoffset_bindings::output_keys;
using riskoffset_bindings::read_outputs;
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
