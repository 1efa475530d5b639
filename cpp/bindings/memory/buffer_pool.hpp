// Reused output buffers for large result arrays.
//
// A fresh numpy array of 128 KiB or more (glibc maps it afresh) costs a page fault and a kernel-side zeroing per
// 4 KiB page on first touch: 5-10 ns per option per call, as much as the pricing itself (at 20,000 options, six
// fresh outputs took the price + 5 Greeks from 7.8 to 17 ns an option).  Result arrays of at least kMinPooledBytes are therefore carved from buffers that return to a small pool when numpy
// frees the array (a capsule owns each buffer), so a risk loop that prices the same book again reuses warm
// memory.  The pool keeps at most kMaxPooledBytes of idle buffers; `release_pooled_memory()` frees them.
#pragma once

#include <pybind11/numpy.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace riskoffset_bindings {

constexpr std::size_t kMinPooledBytes = std::size_t{128} << 10;
constexpr std::size_t kMaxPooledBytes = std::size_t{256} << 20;

// A C-contiguous array of the given shape, pooled when large (T: double or std::int64_t).
template <typename T>
pybind11::array_t<T> new_pooled_array(const std::vector<pybind11::ssize_t>& shape);
// A C-contiguous float64 array of the given shape, pooled when large.
inline pybind11::array_t<double> new_double_array(const std::vector<pybind11::ssize_t>& shape) {
  return new_pooled_array<double>(shape);
}
// Frees every idle pooled buffer; returns the number of bytes released.
std::size_t release_pooled_memory();
// Bytes currently held idle by the pool.
std::size_t pooled_bytes();

}  // namespace riskoffset_bindings
