// Call/put flag columns as users pass them, read in C++ with one rule on every path:
// True/False (True = call), or the strings "c", "p", "call", "put" in any case; anything else is a
// ValueError naming the value and its row.
//
// numpy bool arrays are read in place (after an OR-reduction proving every byte is 0 or 1); string arrays
// ('<U1', 'S1', '<U4', 'S4', any width) are decoded by the active SIMD target's decoder into a byte column
// (1 call, 0 put), well under a nanosecond per option, instead of numpy's isin at ~30 ns.  (The array pricing
// call leaves string columns to its kernel, which decodes them a chunk at a time as it prices.)
#pragma once
#include <pybind11/numpy.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "riskoffset/kernels.hpp"

namespace riskoffset_bindings {

// Decoded call bytes for one call.  Columns up to kReusedFlagBytes reuse a per-thread buffer (a fresh
// megabyte costs page faults on every call); larger ones get their own.  One FlagStorage per call.
class FlagStorage {
 public:
  static constexpr std::size_t kReusedFlagBytes = std::size_t{16} << 20;
  std::uint8_t* get(std::size_t n);

 private:
  std::unique_ptr<std::uint8_t[]> own_;
};

// True for the dtypes read here: bool, and byte or unicode strings.
bool is_flag_dtype(const pybind11::array& a);

// The flags of a C-contiguous array of such a dtype as call bytes (1 call, 0 put): in place for bool, else
// decoded into `storage`.  Throws pybind11::value_error naming the first invalid value and its row.
const std::uint8_t* flag_bytes(const pybind11::array& a, FlagStorage& storage);

// "'c', 'p', 'call', 'put' or a boolean (True = call)": the accepted values, for messages.
extern const char* const kFlagRule;

}  // namespace riskoffset_bindings
