// _core.pricing.greeks_arrays / implied_vol_arrays: the common array calls of riskoffset.greeks and
// implied_vol with their argument handling in C++.
//
// Python's general path (broadcasting, conversions, error wording) costs ~6 us per call, which at 1,000
// options is a third of the time.  This entry takes the usual shapes only - every numeric argument a
// Python float/int or a C-contiguous float64 ndarray, all ndarrays of one shape; flag a call/put string,
// a bool, or a C-contiguous bool or call/put string ndarray of that shape - and returns None for anything else or for an
// invalid row, so the Python path handles (and words) every other case.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

#include "../common/arrays.hpp"
#include "../common/module_objects.hpp"
#include "../memory/buffer_pool.hpp"
#include "flags.hpp"
#include "output_index.hpp"
#include "output_names.hpp"
#include "riskoffset/kernels.hpp"
#include "riskoffset/pricing.hpp"

namespace py = pybind11;

namespace {

struct ArgColumn {
  double scalar = 0.0;
  const double* data = nullptr;
};

// The common shape of the array arguments, without a heap allocation per argument.
struct Shape {
  int ndim = -1;  // -1: no array seen yet
  py::ssize_t dims[32] = {};
  std::vector<py::ssize_t> vector() const { return std::vector<py::ssize_t>(dims, dims + std::max(ndim, 0)); }
  // Records the shape of `a` (nd >= 1) or checks it against the one recorded; false on a mismatch.
  bool take(const py::detail::PyArray_Proxy* a) {
    if (a->nd > 32) return false;
    if (ndim >= 0) {
      if (a->nd != ndim) return false;
      for (int d = 0; d < ndim; ++d)
        if (a->dimensions[d] != dims[d]) return false;
      return true;
    }
    ndim = a->nd;
    for (int d = 0; d < ndim; ++d) dims[d] = a->dimensions[d];
    return true;
  }
};

// numpy's float64 descriptor (the builtin one, compared by identity as dtype.is() does).
PyObject* float64_descr() {
  static PyObject* descr = py::dtype::of<double>().release().ptr();  // kept for the module's lifetime
  return descr;
}

// A plain number, or a float64 C-contiguous aligned ndarray.  Returns false for anything else; records the
// array's shape in `shape` (which must match earlier arrays).  Reads the array header directly: this runs
// seven times per call, where pybind11's accessors allocate.
bool read_numeric(PyObject* o, ArgColumn& col, Shape& shape) {
  if (PyFloat_Check(o)) {
    col.scalar = PyFloat_AS_DOUBLE(o);
    return true;
  }
  if (PyLong_CheckExact(o)) {
    col.scalar = PyLong_AsDouble(o);
    if (col.scalar == -1.0 && PyErr_Occurred()) {
      PyErr_Clear();
      return false;
    }
    return true;
  }
  if (!py::isinstance<py::array>(o)) return false;
  const auto* a = py::detail::array_proxy(o);
  // Unaligned views (a byte offset into a buffer) take the Python path, which reads them through a copy.
  constexpr int kNeeded = py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_ | py::detail::npy_api::NPY_ARRAY_ALIGNED_;
  if (a->descr != float64_descr() || (a->flags & kNeeded) != kNeeded) return false;
  if (a->nd == 0) {
    col.scalar = *reinterpret_cast<const double*>(a->data);
    return true;
  }
  if (!shape.take(a)) return false;
  col.data = reinterpret_cast<const double*>(a->data);
  return true;
}

// Flag: 'c'/'call'/'p'/'put' or a bool (scalar), or a C-contiguous bool or string ndarray of the common
// shape (an invalid value there raises ValueError naming it and its row, the same rule as every path).  A string
// array in the machine's byte order is left to the kernel (`strings`), which decodes it as it prices: an invalid
// value then sends the call down the Python path, which words the error.  Without `strings`, strings are decoded here.
bool read_flag(PyObject* f, double& scalar, const std::uint8_t*& bools, riskoffset::FlagStrings* strings,
               riskoffset_bindings::FlagStorage& storage, Shape& shape) {
  if (PyBool_Check(f)) {
    scalar = f == Py_True ? 1.0 : -1.0;
    return true;
  }
  if (PyUnicode_Check(f)) {
    if (PyUnicode_CompareWithASCIIString(f, "c") == 0 || PyUnicode_CompareWithASCIIString(f, "call") == 0)
      scalar = 1.0;
    else if (PyUnicode_CompareWithASCIIString(f, "p") == 0 || PyUnicode_CompareWithASCIIString(f, "put") == 0)
      scalar = -1.0;
    else
      return false;
    return true;
  }
  if (!py::isinstance<py::array>(f)) return false;
  const auto* proxy = py::detail::array_proxy(f);
  if (proxy->nd == 0 || !(proxy->flags & py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_)) return false;
  auto a = py::reinterpret_borrow<py::array>(f);
  if (!riskoffset_bindings::is_flag_dtype(a) || !shape.take(proxy)) return false;
  const py::dtype dt = a.dtype();
  const char kind = dt.kind();
  if (strings && (kind == 'S' || (kind == 'U' && dt.attr("isnative").cast<bool>()))) {
    *strings = riskoffset::FlagStrings{a.data(), kind == 'U', static_cast<std::size_t>(dt.itemsize()) / (kind == 'U' ? 4 : 1)};
    return true;
  }
  bools = riskoffset_bindings::flag_bytes(a, storage);
  return true;
}

// A C-contiguous float64 result array: small ones straight from numpy's constructor (pybind11's array_t
// costs a few hundred ns more each, which at 1,000 options is a few per cent of the call), large ones from
// the buffer pool.
py::object new_result_array(const Shape& shape, std::size_t n) {
  if (n * sizeof(double) >= riskoffset_bindings::kMinPooledBytes)
    return riskoffset_bindings::new_double_array(shape.vector());
  auto& api = py::detail::npy_api::get();
  PyObject* descr = float64_descr();
  Py_INCREF(descr);  // stolen by the constructor
  PyObject* a = api.PyArray_NewFromDescr_(api.PyArray_Type_, descr, shape.ndim, shape.dims, nullptr, nullptr, 0,
                                          nullptr);
  if (!a) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(a);
}

// The caller's array for output k, when `out` (a dict name -> array, or None) holds a writeable, aligned,
// C-contiguous float64 ndarray of exactly the call's shape under that name: the kernel writes into it.  Null
// otherwise (a missing name, another type or shape), which sends the call down the Python path that words why.
PyObject* caller_output(PyObject* out, int k, const Shape& shape) {
  PyObject* a = PyDict_GetItemWithError(out, riskoffset_bindings::output_keys()[k]);  // borrowed (keys made: the call read its outputs)
  if (!a || !py::isinstance<py::array>(a)) return nullptr;
  const auto* proxy = py::detail::array_proxy(a);
  constexpr int kNeeded = py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_ | py::detail::npy_api::NPY_ARRAY_ALIGNED_ |
                          py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  if (proxy->descr != float64_descr() || (proxy->flags & kNeeded) != kNeeded || proxy->nd != shape.ndim) return nullptr;
  for (int d = 0; d < shape.ndim; ++d)
    if (proxy->dimensions[d] != shape.dims[d]) return nullptr;
  return a;
}

int auto_threads(long requested, std::size_t n) {
  if (requested > 0) return static_cast<int>(requested);
  return n >= 200000 ? static_cast<int>(std::max(1u, std::thread::hardware_concurrency())) : 1;
}

PyObject* greeks_arrays(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  // (flag, underlying, strike, t, r, sigma, q, model, settlement, outputs, threads: int[, out])
  if (nargs != 11 && nargs != 12) {
    PyErr_SetString(PyExc_TypeError, "greeks_arrays takes 11 or 12 positional arguments");
    return nullptr;
  }
  try {
    Shape shape;
    ArgColumn cols[6];
    for (int k = 0; k < 6; ++k)
      if (!read_numeric(args[k + 1], cols[k], shape)) Py_RETURN_NONE;
    double flag_scalar = 0.0;
    const std::uint8_t* flag_bools = nullptr;
    riskoffset_bindings::FlagStorage flag_storage;
    riskoffset::FlagStrings flag_strings;
    if (!read_flag(args[0], flag_scalar, flag_bools, &flag_strings, flag_storage, shape)) Py_RETURN_NONE;
    // All scalars: shape () and one row; the result holds floats (scalars in, scalars out).
    const bool have_shape = shape.ndim >= 0;
    std::size_t n = 1;
    for (int d = 0; d < shape.ndim; ++d) n *= static_cast<std::size_t>(shape.dims[d]);
    const long model = PyLong_AsLong(args[7]), settlement = PyLong_AsLong(args[8]);
    const long threads_arg = PyLong_AsLong(args[10]);
    if (PyErr_Occurred()) return nullptr;
    if ((model != 0 && model != 1) || (settlement != 0 && settlement != 1)) Py_RETURN_NONE;
    // The outputs as the caller wrote them (names, "all", or a tuple of indices): read here, so a risk loop's list
    // of names costs no conversion in Python.
    PyObject* const* keys = riskoffset_bindings::output_keys();
    if (!keys) return nullptr;
    int order[riskoffset::kOutputCount];
    int n_order = 0;
    const int count = settlement == 1 ? riskoffset::kOutputCount : riskoffset_bindings::kLinearOutputCount;
    switch (riskoffset_bindings::read_outputs(args[9], keys, count, order, n_order)) {
      case riskoffset_bindings::Chosen::kError: return nullptr;
      case riskoffset_bindings::Chosen::kUnusual: Py_RETURN_NONE;
      case riskoffset_bindings::Chosen::kOk: break;
    }
    // Preallocated outputs: a dict of arrays of the call's shape (scalar calls and other mappings take the
    // Python path).
    PyObject* out_given = nargs == 12 && args[11] != Py_None ? args[11] : nullptr;
    if (out_given && (!PyDict_Check(out_given) || !have_shape)) Py_RETURN_NONE;

    riskoffset::PricingInputs in;
    in.flag = riskoffset::FlagColumn{flag_bools ? nullptr : &flag_scalar, flag_bools, flag_bools ? 1u : 0u};
    in.flag_strings = flag_strings;
    const std::size_t flag_bytes_read = flag_strings.data ? n * flag_strings.width * (flag_strings.unicode ? 4 : 1) : n;
    const void* flag_memory = flag_strings.data ? flag_strings.data : static_cast<const void*>(flag_bools);
    riskoffset::Column* targets[6] = {&in.underlying, &in.strike, &in.t, &in.r, &in.sigma, &in.q};
    for (int k = 0; k < 6; ++k)
      *targets[k] = cols[k].data ? riskoffset::Column{cols[k].data, 1} : riskoffset::Column{&cols[k].scalar, 0};
    in.model = static_cast<riskoffset::Model>(model);
    in.settlement = static_cast<riskoffset::Settlement>(settlement);

    riskoffset::PricingOutputs out;
    // py::object, not py::array_t: a default-constructed array_t allocates an empty numpy array.
    std::vector<py::object> arrays(riskoffset::kOutputCount);
    double scalars[riskoffset::kOutputCount] = {};  // all-scalar calls: no arrays at all
    for (int j = 0; j < n_order; ++j) {
      const int k = order[j];
      if (!out.out[k]) {
        if (out_given) {
          PyObject* a = caller_output(out_given, static_cast<int>(k), shape);
          if (!a) {
            if (PyErr_Occurred()) return nullptr;
            Py_RETURN_NONE;
          }
          out.out[k] = reinterpret_cast<double*>(py::detail::array_proxy(a)->data);
          // An output sharing memory with an input must not be written while the input is read: the Python
          // path reads such inputs through a copy.
          const std::size_t bytes = n * sizeof(double);
          bool shared = riskoffset_bindings::overlaps(out.out[k], bytes, flag_memory, flag_bytes_read);
          for (const ArgColumn& c : cols) shared = shared || riskoffset_bindings::overlaps(out.out[k], bytes, c.data, bytes);
          if (shared) Py_RETURN_NONE;
          arrays[static_cast<std::size_t>(k)] = py::reinterpret_borrow<py::object>(a);
        } else if (have_shape) {
          py::object a = new_result_array(shape, n);
          out.out[k] = reinterpret_cast<double*>(py::detail::array_proxy(a.ptr())->data);
          arrays[static_cast<std::size_t>(k)] = std::move(a);
        } else {
          out.out[k] = &scalars[k];
        }
      }
    }
    const int threads = auto_threads(threads_arg, n);
    std::int64_t bad;
    {
      py::gil_scoped_release release;  // inputs referenced by the caller's frame, outputs by this one
      bad = riskoffset::price_greeks(in, out, n, threads);
    }
    if (bad >= 0) Py_RETURN_NONE;  // the Python path words the error
    py::dict result;
    for (int j = 0; j < n_order; ++j) {
      const int k = order[j];
      py::object value = have_shape ? arrays[static_cast<std::size_t>(k)] : py::float_(scalars[k]);
      if (PyDict_SetItem(result.ptr(), keys[k], value.ptr()) < 0)
        throw py::error_already_set();
    }
    return result.release().ptr();
  } catch (py::error_already_set& e) {
    e.restore();
    return nullptr;
  } catch (const py::builtin_exception& e) {
    e.set_error();
    return nullptr;
  } catch (const std::bad_alloc&) {
    PyErr_NoMemory();
    return nullptr;
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
    return nullptr;
  }
}

PyObject* implied_vol_arrays(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  // (price, flag, underlying, strike, t, r, q, model, settlement, threads) -> (sigma, status) | None
  if (nargs != 10) {
    PyErr_SetString(PyExc_TypeError, "implied_vol_arrays takes 10 positional arguments");
    return nullptr;
  }
  try {
    Shape shape;
    ArgColumn cols[6];  // price, underlying, strike, t, r, q
    const int positions[6] = {0, 2, 3, 4, 5, 6};
    for (int k = 0; k < 6; ++k)
      if (!read_numeric(args[positions[k]], cols[k], shape)) Py_RETURN_NONE;
    double flag_scalar = 0.0;
    const std::uint8_t* flag_bools = nullptr;
    riskoffset_bindings::FlagStorage flag_storage;
    if (!read_flag(args[1], flag_scalar, flag_bools, nullptr, flag_storage, shape)) Py_RETURN_NONE;
    if (shape.ndim < 0) Py_RETURN_NONE;
    std::size_t n = 1;
    for (int d = 0; d < shape.ndim; ++d) n *= static_cast<std::size_t>(shape.dims[d]);
    const long model = PyLong_AsLong(args[7]), settlement = PyLong_AsLong(args[8]);
    const long threads_arg = PyLong_AsLong(args[9]);
    if (PyErr_Occurred()) return nullptr;
    if ((model != 0 && model != 1) || (settlement != 0 && settlement != 1)) Py_RETURN_NONE;
    riskoffset::ImpliedVolInputs in;
    in.flag = riskoffset::FlagColumn{flag_bools ? nullptr : &flag_scalar, flag_bools, flag_bools ? 1u : 0u};
    riskoffset::Column* targets[6] = {&in.price, &in.underlying, &in.strike, &in.t, &in.r, &in.q};
    for (int k = 0; k < 6; ++k)
      *targets[k] = cols[k].data ? riskoffset::Column{cols[k].data, 1} : riskoffset::Column{&cols[k].scalar, 0};
    in.model = static_cast<riskoffset::Model>(model);
    in.settlement = static_cast<riskoffset::Settlement>(settlement);
    py::object sigma = new_result_array(shape, n);
    py::array_t<std::int8_t> status(shape.vector());
    double* sigma_out = reinterpret_cast<double*>(py::detail::array_proxy(sigma.ptr())->data);
    std::int8_t* status_out = status.mutable_data();
    const int threads = auto_threads(threads_arg, n);
    {
      py::gil_scoped_release release;  // inputs referenced by the caller's frame, outputs by this one
      riskoffset::implied_vol(in, sigma_out, status_out, n, threads);
    }
    return py::make_tuple(sigma, status).release().ptr();
  } catch (py::error_already_set& e) {
    e.restore();
    return nullptr;
  } catch (const py::builtin_exception& e) {
    e.set_error();
    return nullptr;
  } catch (const std::bad_alloc&) {
    PyErr_NoMemory();
    return nullptr;
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
    return nullptr;
  }
}

PyMethodDef implied_vol_arrays_def = {
    "implied_vol_arrays", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(implied_vol_arrays)),
    METH_FASTCALL,
    "implied_vol_arrays(price, flag, underlying, strike, t, r, q, model, settlement, threads)\n"
    "(sigma, status) for the common array call of riskoffset.implied_vol, or None."};

PyMethodDef greeks_arrays_def = {
    "greeks_arrays", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(greeks_arrays)), METH_FASTCALL,
    "greeks_arrays(flag, underlying, strike, t, r, sigma, q, model, settlement, outputs, threads[, out])\n"
    "The common array call of riskoffset.greeks (into the arrays of the dict `out` when given), or None when the "
    "Python path must handle it.  outputs: None or 'all', a name, a list or tuple of names, or a tuple of output "
    "indices."};

}  // namespace

bool register_array_calls(PyObject* module) {
  for (PyMethodDef* def : {&greeks_arrays_def, &implied_vol_arrays_def})
    if (!riskoffset_bindings::add_function(module, def)) return false;
  return true;
}
