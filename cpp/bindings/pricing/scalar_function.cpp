// ScalarFunction(model, output, scale, nargs, fallback): a callable taking vollib's positional arguments
// (flag, S, K, t, r, sigma[, q]); for plain numbers inside the model's domain it returns scale * output
// (vollib units), for anything else it calls fallback(*args, **kwargs).  Written against the raw CPython
// API (vectorcall): pybind11's argument machinery costs several times the pricing of one option.
#include <Python.h>
#include <structmember.h>  // PyMemberDef, T_PYSSIZET, READONLY (Python < 3.12)

#include <cmath>

#include "../common/module_objects.hpp"
#include "output_index.hpp"
#include "scalar_row.hpp"

namespace {

using riskoffset_bindings::as_double;
using riskoffset_bindings::price_one;

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
    ok = ok && row[1] >= riskoffset::kMinMagnitude && row[1] <= riskoffset::kMaxMagnitude &&
         row[2] >= riskoffset::kMinMagnitude && row[2] <= riskoffset::kMaxMagnitude && row[3] > 0.0 && row[5] > 0.0 &&
         std::fabs(row[4] * row[3]) <= riskoffset::kMaxRateTime;  // else the checked general path decides
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
  if (model < 0 || model > 1 || output < 0 || output >= riskoffset_bindings::kLinearOutputCount || nargs < 6 || nargs > 7 || !PyCallable_Check(fallback)) {
    PyErr_SetString(PyExc_ValueError, "ScalarFunction: bad model, output, nargs or fallback");
    return nullptr;
  }
  PyObject* dict = PyDict_New();
  if (!dict) return nullptr;
  auto* self = reinterpret_cast<ScalarFunction*>(type->tp_alloc(type, 0));
  if (!self) {
    Py_DECREF(dict);
    return nullptr;
  }
  self->vectorcall = scalar_function_call;
  self->dict = dict;
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
  PyTypeObject* type = Py_TYPE(o);
  PyObject_GC_UnTrack(o);
  scalar_function_clear(o);
  type->tp_free(o);
  Py_DECREF(type);  // instances of a heap type own a reference to it
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
    "riskoffset._core.pricing.ScalarFunction", sizeof(ScalarFunction), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL, scalar_function_slots};

}  // namespace

bool register_scalar_function(PyObject* module) {
  return riskoffset_bindings::add_object(module, "ScalarFunction", PyType_FromSpec(&scalar_function_spec));
}
