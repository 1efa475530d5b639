// Methods of a pybind11 class called through CPython's fastcall convention (METH_FASTCALL), for the calls a
// trading process makes once per message: pybind11's general dispatch of a dozen arguments costs more than the
// work of one such call.  The method reads its positional arguments with FastArgs (a TypeError naming the
// argument when one has the wrong type) and reports C++ exceptions as pybind11 would (`python_error`).
#pragma once
#include <Python.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

namespace riskoffset_bindings {

// The positional arguments of `method` (its Python name, for messages): between `least` and `most` of them.
class FastArgs {
 public:
  FastArgs(const char* method, PyObject* const* args, Py_ssize_t n, Py_ssize_t least, Py_ssize_t most)
      : method_(method), args_(args), n_(n) {
    if (n < least || n > most)
      throw pybind11::type_error(std::string(method) + " takes " + std::to_string(least) + " to " +
                                 std::to_string(most) + " positional arguments (" + std::to_string(n) + " given)");
  }
  pybind11::handle object(Py_ssize_t i) const { return args_[i]; }
  // An int (or an object with __index__, such as a numpy integer).
  std::int64_t integer(Py_ssize_t i, const char* name) const {
    std::int64_t v = 0;
    if (!read_integer(args_[i], v)) {
      PyErr_Clear();
      throw pybind11::type_error(what(name) + " must be an integer that fits 64 bits");
    }
    return v;
  }
  std::int64_t integer(Py_ssize_t i, const char* name, std::int64_t otherwise) const {
    return i < n_ ? integer(i, name) : otherwise;
  }
  // A float or an int (or an object with __float__).
  double number(Py_ssize_t i, const char* name) const {
    double v = 0.0;
    if (!read_number(args_[i], v)) {
      PyErr_Clear();
      throw pybind11::type_error(what(name) + " must be a number");
    }
    return v;
  }
  // True or False (a numpy bool too), nothing else.
  bool flag(Py_ssize_t i, const char* name) const {
    PyObject* o = args_[i];
    if (o == Py_True) return true;
    if (o == Py_False) return false;
    const char* type = Py_TYPE(o)->tp_name;
    if (std::strcmp(type, "numpy.bool") == 0 || std::strcmp(type, "numpy.bool_") == 0) {
      const int v = PyObject_IsTrue(o);
      if (v >= 0) return v != 0;
      PyErr_Clear();
    }
    throw pybind11::type_error(what(name) + " must be True or False");
  }
  bool flag(Py_ssize_t i, const char* name, bool otherwise) const { return i < n_ ? flag(i, name) : otherwise; }
  // An instance of the pybind11 class T.
  template <typename T>
  T& instance(Py_ssize_t i, const char* name) const {
    if (!pybind11::isinstance<T>(args_[i])) throw pybind11::type_error(what(name) + " has the wrong type");
    return pybind11::cast<T&>(pybind11::handle(args_[i]));
  }
  // A list or tuple of ints (or objects with __index__), as a vector.
  std::vector<std::int64_t> integers(Py_ssize_t i, const char* name) const {
    return sequence<std::int64_t>(i, name, "integers that fit 64 bits", read_integer);
  }
  // A list or tuple of numbers (floats, ints or objects with __float__), as a vector.
  std::vector<double> numbers(Py_ssize_t i, const char* name) const {
    return sequence<double>(i, name, "numbers", read_number);
  }
  // A C-contiguous array of T: the argument itself when it is one, else converted (as pybind11's forcecast).
  template <typename T>
  pybind11::array_t<T, pybind11::array::c_style | pybind11::array::forcecast> array(Py_ssize_t i, const char* name) const {
    auto a = pybind11::array_t<T, pybind11::array::c_style | pybind11::array::forcecast>::ensure(args_[i]);
    if (!a) {
      PyErr_Clear();
      throw pybind11::type_error(what(name) + " must be an array of numbers");
    }
    return a;
  }

 private:
  std::string what(const char* name) const { return std::string(method_) + ": " + name; }
  // One argument or entry read into `v`: false, with the Python error set, when it is not one.
  static bool read_integer(PyObject* o, std::int64_t& v) {
    const long long x = PyLong_AsLongLong(o);
    v = static_cast<std::int64_t>(x);
    return !(x == -1 && PyErr_Occurred());
  }
  static bool read_number(PyObject* o, double& v) {
    if (PyFloat_CheckExact(o)) return v = PyFloat_AS_DOUBLE(o), true;
    v = PyFloat_AsDouble(o);
    return !(v == -1.0 && PyErr_Occurred());
  }
  template <typename T, typename Read>
  std::vector<T> sequence(Py_ssize_t i, const char* name, const char* kind, Read read) const {
    PyObject* o = args_[i];
    if (!PyList_Check(o) && !PyTuple_Check(o)) throw pybind11::type_error(what(name) + " must be a list of " + kind);
    // A tuple of the items (the tuple itself when given one): an entry's __float__ or __index__ may change a list
    // while it is read, never the tuple.
    const auto items = pybind11::reinterpret_steal<pybind11::tuple>(PySequence_Tuple(o));
    if (!items) throw pybind11::error_already_set();
    const Py_ssize_t n = PyTuple_GET_SIZE(items.ptr());
    std::vector<T> out(static_cast<std::size_t>(n));
    for (Py_ssize_t k = 0; k < n; ++k)
      if (!read(PyTuple_GET_ITEM(items.ptr(), k), out[static_cast<std::size_t>(k)])) {
        PyErr_Clear();
        throw pybind11::type_error(what(name) + " must be a list of " + kind + " (entry " + std::to_string(k) + ")");
      }
    return out;
  }
  const char* method_;
  PyObject* const* args_;
  Py_ssize_t n_;
};

// The C++ object behind `self`, an instance of the pybind11 class T (the method's descriptor has checked its
// type); a TypeError when it was made without its __init__ (T.__new__(T)).
template <typename T>
T& fast_self(PyObject* self) {
  const pybind11::detail::value_and_holder v_h =
      reinterpret_cast<pybind11::detail::instance*>(self)->get_value_and_holder();
  if (!v_h || !v_h.holder_constructed())
    throw pybind11::type_error(std::string(Py_TYPE(self)->tp_name) + " object was not initialized (no __init__)");
  return *v_h.value_ptr<T>();
}

// Sets the Python error for the exception being handled, as pybind11 translates it; returns nullptr.
inline PyObject* python_error() {
  try {
    throw;
  } catch (pybind11::error_already_set& e) {
    e.restore();
  } catch (const pybind11::builtin_exception& e) {
    e.set_error();
  } catch (const std::invalid_argument& e) {
    PyErr_SetString(PyExc_ValueError, e.what());
  } catch (const std::out_of_range& e) {
    PyErr_SetString(PyExc_IndexError, e.what());
  } catch (const std::bad_alloc&) {
    PyErr_NoMemory();
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  } catch (...) {
    PyErr_SetString(PyExc_RuntimeError, "unknown C++ exception");
  }
  return nullptr;
}

// The body of a fast method of T: `body(self's T, its FastArgs)` returns a new reference or throws; a C++
// exception becomes the Python error (python_error).
template <typename T, typename Body>
PyObject* fast_call(PyObject* self, const char* method, PyObject* const* args, Py_ssize_t nargs, Py_ssize_t least,
                    Py_ssize_t most, Body&& body) {
  try {
    const FastArgs a(method, args, nargs, least, most);
    return body(fast_self<T>(self), a);
  } catch (...) {
    return python_error();
  }
}

// Installs `def` (METH_FASTCALL, static storage) as a method of the pybind11 class `cls`.
inline void add_fast_method(pybind11::handle cls, PyMethodDef* def) {
  PyObject* descr = PyDescr_NewMethod(reinterpret_cast<PyTypeObject*>(cls.ptr()), def);
  if (!descr) throw pybind11::error_already_set();
  pybind11::setattr(cls, def->ml_name, pybind11::reinterpret_steal<pybind11::object>(descr));
}

}  // namespace riskoffset_bindings
