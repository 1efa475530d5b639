#include "flags.hpp"

#include "riskoffset/dispatch.hpp"

#include <cstring>
#include <string>

namespace py = pybind11;

namespace riskoffset_bindings {

const char* const kFlagRule = "'c', 'p', 'call', 'put' or a boolean (True = call)";

namespace {

// Row label of a flat index: "7" for 1-D arrays, "(1, 2)" for more dimensions (like numpy's unravel_index).
std::string row_label(const py::array& a, std::size_t flat) {
  if (a.ndim() <= 1) return std::to_string(flat);
  std::vector<std::size_t> index(static_cast<std::size_t>(a.ndim()));
  for (py::ssize_t d = a.ndim() - 1; d >= 0; --d) {
    const auto extent = static_cast<std::size_t>(a.shape(d));
    index[static_cast<std::size_t>(d)] = flat % extent;
    flat /= extent;
  }
  std::string s = "(";
  for (std::size_t d = 0; d < index.size(); ++d) s += (d ? ", " : "") + std::to_string(index[d]);
  return s + ")";
}

[[noreturn]] void bad_flag(const py::array& a, std::size_t row, const std::string& value) {
  throw py::value_error("flag at row " + row_label(a, row) + " must be " + kFlagRule + ", got " + value);
}

// The value as Python shows it ('x', b'x'): error path only.
std::string quoted(const py::array& a, std::size_t row) {
  return py::repr(a.attr("reshape")(-1).attr("__getitem__")(row).attr("item")()).cast<std::string>();
}

}  // namespace

bool is_flag_dtype(const py::array& a) {
  const py::dtype dt = a.dtype();
  if (dt.is(py::dtype::of<bool>())) return true;
  const char kind = dt.kind();
  return (kind == 'S' || kind == 'U') && dt.itemsize() > 0;
}

const std::uint8_t* flag_bytes(const py::array& a, FlagStorage& storage) {
  const auto n = static_cast<std::size_t>(a.size());
  if (a.dtype().is(py::dtype::of<bool>())) {
    const auto* bytes = static_cast<const std::uint8_t*>(a.data());
    unsigned seen = 0;
    for (std::size_t i = 0; i < n; ++i) seen |= bytes[i];
    if (seen > 1)
      for (std::size_t i = 0; i < n; ++i)
        if (bytes[i] > 1) bad_flag(a, i, "byte " + std::to_string(bytes[i]) + " in a bool array");
    return bytes;
  }
  std::uint8_t* decoded = storage.get(n);
  const char kind = a.dtype().kind();
  if (kind == 'U' && !a.dtype().attr("isnative").cast<bool>()) {  // '>U' on a little-endian machine
    const py::array native = a.attr("astype")(a.dtype().attr("newbyteorder")("="));
    return flag_bytes(native, storage);
  }
  const auto chars = static_cast<std::size_t>(a.itemsize()) / (kind == 'U' ? 4 : 1);
  const std::size_t row = riskoffset::active_kernels().decode_flags(a.data(), kind == 'U', chars, n, decoded);
  if (row < n) bad_flag(a, row, quoted(a, row));
  return decoded;
}

std::uint8_t* FlagStorage::get(std::size_t n) {
  if (n > kReusedFlagBytes) {
    own_.reset(new std::uint8_t[n]);
    return own_.get();
  }
  thread_local std::unique_ptr<std::uint8_t[]> reused;
  thread_local std::size_t capacity = 0;
  if (capacity < n) {
    reused.reset(new std::uint8_t[n]);
    capacity = n;
  }
  return reused.get();
}

}  // namespace riskoffset_bindings
