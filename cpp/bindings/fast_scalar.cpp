// Scalar entry points written against the raw CPython API (METH_FASTCALL / vectorcall): for one option
// from plain Python numbers, pybind11's general argument machinery costs several times the pricing itself.
//
//  value_scalar(output, flag, underlying, strike, t, r, sigma, q, model, settlement) -> float | None
//  greeks_scalar(flag, underlying, strike, t, r, sigma, q, model, settlement) -> dict | None
//  implied_vol_scalar(price, flag, underlying, strike, t, r, q, model, settlement) -> (sigma, status) | None
//  ScalarFunction(model, output, scale, nargs, fallback): a callable taking vollib's positional arguments
//      (flag, S, K, t, r, sigma[, q]); for plain numbers inside the model's domain it returns
//      scale * output (vollib units), for anything else it calls fallback(*args, **kwargs).
#include <Python.h>
#include <structmember.h>  // PyMemberDef, T_PYSSIZET, READONLY (Python < 3.12)

#include <cmath>
#include <string>

#include "riskoffset/dispatch.hpp"
#include "riskoffset/kernels.hpp"

namespace {

using riskoffset::Column;

bool as_double(PyObject* o, double& out) {
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
double as_flag(PyObject* o) {
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
bool price_one(const double row[7], int model, int settlement, int output, double& value) {
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

// greeks_scalar(flag, underlying, strike, t, r, sigma, q, model, settlement) -> dict | None
PyObject* greeks_scalar(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 9) {
    PyErr_SetString(PyExc_TypeError, "greeks_scalar takes 9 positional arguments");
    return nullptr;
  }
  long model = 0, settlement = 0;
  if (!read_codes(args[7], args[8], model, settlement)) return nullptr;
  double row[7];
  if (!read_row(args, row)) Py_RETURN_NONE;
  riskoffset::PricingInputs in;
  in.flag = riskoffset::FlagColumn{&row[0], nullptr, 0}, in.underlying = Column{&row[1], 0}, in.strike = Column{&row[2], 0};
  in.t = Column{&row[3], 0}, in.r = Column{&row[4], 0}, in.sigma = Column{&row[5], 0};
  in.q = Column{&row[6], 0};
  in.model = static_cast<riskoffset::Model>(model);
  in.settlement = static_cast<riskoffset::Settlement>(settlement);
  const int count = settlement == 1 ? riskoffset::kOutputCount : 9;
  double values[riskoffset::kOutputCount] = {};
  riskoffset::PricingOutputs out;
  for (int k = 0; k < count; ++k) out.out[k] = &values[k];
  if (riskoffset::active_kernels().price_greeks(in, out, 0, 1) >= 0) Py_RETURN_NONE;
  // Interned key strings, made once (module lifetime): building them per call was half the cost.
  static PyObject* keys[riskoffset::kOutputCount] = {};
  if (!keys[0])
    for (int k = 0; k < riskoffset::kOutputCount; ++k) keys[k] = PyUnicode_InternFromString(riskoffset::kOutputNames[k]);
  PyObject* d = PyDict_New();
  if (!d) return nullptr;
  for (int k = 0; k < count; ++k) {
    PyObject* v = PyFloat_FromDouble(values[k]);
    if (!v || PyDict_SetItem(d, keys[k], v) < 0) {
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

// ---------------------------------------------------------------------------------------- ScalarFunction
struct ScalarFunction {
  PyObject_HEAD
  vectorcallfunc vectorcall;
  PyObject* dict;  // __name__, __doc__, __wrapped__ ... (functools.update_wrapper fills it)
  PyObject* fallback;
  int model, output, nargs;
  double scale;
};

PyObject* scalar_function_call(PyObject* self_obj, PyObject* const* args, size_t nargsf, PyObject* kwnames) {
  auto* self = reinterpret_cast<ScalarFunction*>(self_obj);
  const Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
  if (kwnames == nullptr && nargs == self->nargs) {
    // vollib's own domain for the closed forms: flag exactly 'c' or 'p', positive finite S, K, t, sigma.
    double row[7] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    PyObject* flag = args[0];
    bool ok = PyUnicode_CheckExact(flag) && PyUnicode_GET_LENGTH(flag) == 1;
    if (ok) {
      const Py_UCS4 ch = PyUnicode_READ_CHAR(flag, 0);
      row[0] = ch == 'c' ? 1.0 : (ch == 'p' ? -1.0 : 0.0);
      ok = row[0] != 0.0;
    }
    for (int k = 1; ok && k < nargs; ++k) ok = as_double(args[k], row[k]) && std::isfinite(row[k]);
    ok = ok && row[1] > 0.0 && row[2] > 0.0 && row[3] > 0.0 && row[5] > 0.0;
    double value = 0.0;
    if (ok && price_one(row, self->model, 0, self->output, value) && std::isfinite(value))
      return PyFloat_FromDouble(value * self->scale);
  }
  return PyObject_Vectorcall(self->fallback, args, nargsf, kwnames);
}

PyObject* scalar_function_new(PyTypeObject* type, PyObject* args, PyObject* kwargs) {
  int model = 0, output = 0, nargs = 0;
  double scale = 1.0;
  PyObject* fallback = nullptr;
  static const char* keywords[] = {"model", "output", "scale", "nargs", "fallback", nullptr};
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "iidiO", const_cast<char**>(keywords), &model, &output,
                                   &scale, &nargs, &fallback))
    return nullptr;
  if (model < 0 || model > 1 || output < 0 || output > 8 || nargs < 6 || nargs > 7 || !PyCallable_Check(fallback)) {
    PyErr_SetString(PyExc_ValueError, "ScalarFunction: bad model, output, nargs or fallback");
    return nullptr;
  }
  auto* self = reinterpret_cast<ScalarFunction*>(type->tp_alloc(type, 0));
  if (!self) return nullptr;
  self->vectorcall = scalar_function_call;
  self->dict = PyDict_New();
  Py_INCREF(fallback);
  self->fallback = fallback;
  self->model = model, self->output = output, self->nargs = nargs, self->scale = scale;
  return reinterpret_cast<PyObject*>(self);
}

int scalar_function_traverse(PyObject* o, visitproc visit, void* arg) {
  auto* self = reinterpret_cast<ScalarFunction*>(o);
  Py_VISIT(self->dict);
  Py_VISIT(self->fallback);
  return 0;
}

int scalar_function_clear(PyObject* o) {
  auto* self = reinterpret_cast<ScalarFunction*>(o);
  Py_CLEAR(self->dict);
  Py_CLEAR(self->fallback);
  return 0;
}

void scalar_function_dealloc(PyObject* o) {
  PyObject_GC_UnTrack(o);
  scalar_function_clear(o);
  Py_TYPE(o)->tp_free(o);
}

// Bound as a method when stored on a class, like a Python function.
PyObject* scalar_function_get(PyObject* self, PyObject* obj, PyObject*) {
  if (obj == nullptr || obj == Py_None) {
    Py_INCREF(self);
    return self;
  }
  return PyMethod_New(self, obj);
}

PyMemberDef scalar_function_members[] = {
    {"__dictoffset__", T_PYSSIZET, offsetof(ScalarFunction, dict), READONLY, nullptr},
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(ScalarFunction, vectorcall), READONLY, nullptr},
    {nullptr, 0, 0, 0, nullptr}};

PyGetSetDef scalar_function_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr}};

PyType_Slot scalar_function_slots[] = {
    {Py_tp_getset, scalar_function_getset},
    {Py_tp_new, reinterpret_cast<void*>(scalar_function_new)},
    {Py_tp_dealloc, reinterpret_cast<void*>(scalar_function_dealloc)},
    {Py_tp_traverse, reinterpret_cast<void*>(scalar_function_traverse)},
    {Py_tp_clear, reinterpret_cast<void*>(scalar_function_clear)},
    {Py_tp_call, reinterpret_cast<void*>(PyVectorcall_Call)},
    {Py_tp_descr_get, reinterpret_cast<void*>(scalar_function_get)},
    {Py_tp_members, scalar_function_members},
    {Py_tp_doc, const_cast<char*>("A compiled fast path for one option with a Python fallback.")},
    {0, nullptr}};

PyType_Spec scalar_function_spec = {
    "riskoffset._core.ScalarFunction", sizeof(ScalarFunction), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL, scalar_function_slots};

PyMethodDef value_scalar_def = {"value_scalar", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(value_scalar)),
                                METH_FASTCALL,
                                "value_scalar(output, flag, underlying, strike, t, r, sigma, q, model, settlement)\n"
                                "One output of one option from plain Python numbers, or None."};

PyMethodDef greeks_scalar_def = {"greeks_scalar", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(greeks_scalar)),
                                 METH_FASTCALL,
                                 "greeks_scalar(flag, underlying, strike, t, r, sigma, q, model, settlement)\n"
                                 "All outputs of one option from plain Python numbers as a dict, or None."};

PyMethodDef implied_vol_scalar_def = {
    "implied_vol_scalar", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(implied_vol_scalar)),
    METH_FASTCALL,
    "implied_vol_scalar(price, flag, underlying, strike, t, r, q, model, settlement)\n"
    "(sigma, status) of one option from plain Python numbers, or None."};

}  // namespace

// Adds value_scalar and ScalarFunction to the module; returns false with a Python error set on failure.
bool register_fast_scalar(PyObject* module) {
  for (PyMethodDef* def : {&value_scalar_def, &greeks_scalar_def, &implied_vol_scalar_def}) {
    PyObject* fn = PyCFunction_NewEx(def, nullptr, nullptr);
    if (!fn || PyModule_AddObject(module, def->ml_name, fn) < 0) return false;
  }
  PyObject* type = PyType_FromSpec(&scalar_function_spec);
  if (!type || PyModule_AddObject(module, "ScalarFunction", type) < 0) return false;
  return true;
}
