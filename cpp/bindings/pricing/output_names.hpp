// The outputs a pricing call asks for, read from what the caller wrote: None or "all", a name, a list or tuple
// of names (each kept once, where it first appears), or a tuple of output indices.  Shared by the scalar and
// the array calls.
#pragma once
#include <Python.h>

#include "riskoffset/kernels.hpp"

namespace riskoffset_bindings {

// The output names as interned strings (module lifetime), or null with a Python error set.
PyObject* const* output_keys();

enum class Chosen { kOk, kUnusual, kError };

// The outputs asked for, in order, among the first `count` (kLinearOutputCount for linear settlement):
// kUnusual for what the caller's Python path reads or words (an unknown name, another iterable), kError with a
// Python error set for a malformed tuple of indices.
Chosen read_outputs(PyObject* spec, PyObject* const* keys, int count, int* chosen, int& n_chosen);

}  // namespace riskoffset_bindings
