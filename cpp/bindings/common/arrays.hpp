// Checks the pybind11 bindings apply to caller-supplied arrays before a kernel touches their memory.
#pragma once
#include <pybind11/numpy.h>

#include <cstdint>
#include <string>

namespace riskoffset_bindings {

using DoubleArray = pybind11::array_t<double, pybind11::array::c_style | pybind11::array::forcecast>;

// numpy makes unaligned float64 arrays from views at a byte offset into a buffer; the kernels load whole
// doubles (and vectors of them), so such an array is read through an aligned copy.
inline DoubleArray aligned(const DoubleArray& a) {
  if (reinterpret_cast<std::uintptr_t>(a.data()) % alignof(double) == 0) return a;
  return DoubleArray::ensure(a.attr("copy")());
}

// Byte ranges [data, data + nbytes) sharing memory: an output written while an input is still read.
inline bool overlaps(const pybind11::array& a, const pybind11::array& b) {
  if (a.nbytes() == 0 || b.nbytes() == 0) return false;
  const auto a0 = reinterpret_cast<std::uintptr_t>(a.data()), b0 = reinterpret_cast<std::uintptr_t>(b.data());
  return a0 < b0 + static_cast<std::uintptr_t>(b.nbytes()) && b0 < a0 + static_cast<std::uintptr_t>(a.nbytes());
}

// A caller's output array, checked here rather than trusted: exactly float64, `size` elements,
// C-contiguous, aligned and writeable.  Throws TypeError / ValueError naming `name`.
inline pybind11::array_t<double> checked_out(pybind11::handle h, pybind11::ssize_t size, const std::string& name) {
  if (!pybind11::isinstance<pybind11::array>(h)) throw pybind11::type_error(name + " must be a numpy array");
  auto a = pybind11::reinterpret_borrow<pybind11::array>(h);
  if (!a.dtype().equal(pybind11::dtype::of<double>()))  // equivalent: an unpickled array has its own dtype object
    throw pybind11::type_error(name + " must be a float64 array, got dtype " +
                               pybind11::str(a.dtype()).cast<std::string>());
  if (a.size() != size)
    throw pybind11::value_error(name + " has " + std::to_string(a.size()) + " elements, expected " +
                                std::to_string(size));
  if (!(a.flags() & pybind11::array::c_style) || !(a.flags() & pybind11::detail::npy_api::NPY_ARRAY_ALIGNED_))
    throw pybind11::value_error(name + " must be C-contiguous and aligned");
  if (!a.writeable()) throw pybind11::value_error(name + " must be writeable");
  return pybind11::reinterpret_borrow<pybind11::array_t<double>>(a);
}

}  // namespace riskoffset_bindings
