// Checks the pybind11 bindings apply to caller-supplied arrays before a kernel touches their memory.
#pragma once
#include <pybind11/numpy.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace riskoffset_bindings {

using DoubleArray = pybind11::array_t<double, pybind11::array::c_style | pybind11::array::forcecast>;

// A kernel's result vector as a new numpy array (one copy).
template <typename T>
pybind11::array_t<T> vector_array(const std::vector<T>& v) {
  pybind11::array_t<T> out(static_cast<pybind11::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

// numpy makes unaligned float64 arrays from views at a byte offset into a buffer; the kernels load whole
// doubles (and vectors of them), so such an array is read through an aligned copy.
inline DoubleArray aligned(const DoubleArray& a) {
  if (reinterpret_cast<std::uintptr_t>(a.data()) % alignof(double) == 0) return a;
  return DoubleArray::ensure(a.attr("copy")());
}

// Byte ranges [a, a + a_bytes) and [b, b + b_bytes) sharing memory: an output written while an input is still
// read.  An empty range (or a null pointer) shares nothing.
inline bool overlaps(const void* a, std::size_t a_bytes, const void* b, std::size_t b_bytes) {
  if (!a || !b || a_bytes == 0 || b_bytes == 0) return false;
  const auto a0 = reinterpret_cast<std::uintptr_t>(a), b0 = reinterpret_cast<std::uintptr_t>(b);
  return a0 < b0 + b_bytes && b0 < a0 + a_bytes;
}
inline bool overlaps(const pybind11::array& a, const pybind11::array& b) {
  return overlaps(a.data(), static_cast<std::size_t>(a.nbytes()), b.data(), static_cast<std::size_t>(b.nbytes()));
}

// A caller's array bound as it is, never through a converted copy (a copy would not receive what a kernel
// writes, and would go stale when the caller updates the original in place): exactly dtype T, C-contiguous and
// aligned, writeable when `writeable`.  Throws TypeError / ValueError naming `name`.
// (Called with the GIL held, as every binding's checks are.)
template <typename T>
pybind11::array_t<T> exact_array(pybind11::handle h, const char* name, bool writeable) {
  if (!pybind11::isinstance<pybind11::array>(h)) throw pybind11::type_error(std::string(name) + " must be a numpy array");
  auto a = pybind11::reinterpret_borrow<pybind11::array>(h);
  // numpy's own descriptor of T, looked up once and never released (a static Python object must outlive the
  // interpreter's shutdown): the arrays this process makes carry it.  Else equivalence: an array read back from
  // a pickle carries its own dtype object.
  static PyObject* const native = pybind11::dtype::of<T>().release().ptr();
  if (pybind11::detail::array_proxy(h.ptr())->descr != native &&
      !a.dtype().equal(pybind11::reinterpret_borrow<pybind11::dtype>(native)))
    throw pybind11::type_error(std::string(name) + " must be a " +
                               pybind11::str(pybind11::dtype::of<T>()).cast<std::string>() + " array, got dtype " +
                               pybind11::str(a.dtype()).cast<std::string>());
  if (!(a.flags() & pybind11::array::c_style) || !(a.flags() & pybind11::detail::npy_api::NPY_ARRAY_ALIGNED_))
    throw pybind11::value_error(std::string(name) + " must be C-contiguous and aligned");
  if (writeable && !a.writeable()) throw pybind11::value_error(std::string(name) + " must be writeable");
  return pybind11::reinterpret_borrow<pybind11::array_t<T>>(a);
}

// An array the live engine keeps and writes in place (its position pool): writeable, or read-only over memory
// numpy allocated (the engine locks its pool against writers from outside; a read-only array over memory numpy
// does not own, a file mapped read-only or a bytes object, is refused).  Returns its data for writing.
template <typename T>
T* pool_array(const pybind11::array_t<T>& a, const char* name) {
  if (!a.writeable()) {
    pybind11::handle at = a;
    while (!pybind11::reinterpret_borrow<pybind11::array>(at).owndata()) {
      at = pybind11::reinterpret_borrow<pybind11::array>(at).base();
      if (!at || !pybind11::isinstance<pybind11::array>(at))
        throw pybind11::value_error(std::string(name) + " must be writeable");
    }
  }
  return const_cast<T*>(a.data());
}

// A caller's output array of `size` float64 elements (exact_array, writeable).
inline pybind11::array_t<double> checked_out(pybind11::handle h, pybind11::ssize_t size, const std::string& name) {
  auto a = exact_array<double>(h, name.c_str(), true);
  if (a.size() != size)
    throw pybind11::value_error(name + " has " + std::to_string(a.size()) + " elements, expected " +
                                std::to_string(size));
  return a;
}

}  // namespace riskoffset_bindings
