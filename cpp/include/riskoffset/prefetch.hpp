// A cache line requested ahead of its use.  The address is only requested, never read: it may lie past an array's
// end or be computed from a null pointer, and a prefetch never faults.
#pragma once

#include <cstddef>
#include <cstdint>

namespace riskoffset {

inline void prefetch(std::uintptr_t address) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  // As an instruction the compiler must keep: gcc 12 drops some __builtin_prefetch calls outside loops.
  asm volatile("prefetcht0 (%0)" : : "r"(address));
#elif defined(__GNUC__)
  __builtin_prefetch(reinterpret_cast<const void*>(address));
#else
  (void)address;  // (a hint only: nothing is lost without it)
#endif
}

// Element `i` of the array at `a` (by address arithmetic: `a` may be null).
template <typename T>
inline void prefetch(const T* a, std::size_t i) {
  prefetch(reinterpret_cast<std::uintptr_t>(a) + i * sizeof(T));
}

}  // namespace riskoffset
