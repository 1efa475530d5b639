#include "riskoffset/dispatch.hpp"

#include <atomic>
#include <cstdlib>
#include <stdexcept>

namespace riskoffset {
namespace {

struct Entry {
  const KernelTable& (*table)();
  bool (*supported)();
};

bool always() { return true; }
#if RISKOFFSET_WITH_AVX2
bool has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif
#if RISKOFFSET_WITH_AVX512
bool has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
}
#endif

// Priority order: best first.  The x86-64 targets are those the build compiled (CMake's RISKOFFSET_SIMD_TARGETS).
const Entry kRegistry[] = {
#if RISKOFFSET_WITH_AVX512
    {&kernels_avx512, &has_avx512},
#endif
#if RISKOFFSET_WITH_AVX2
    {&kernels_avx2, &has_avx2},
#endif
    {&kernels_generic, &always},
};

const KernelTable* find_supported(const std::string& name) {
  for (const Entry& e : kRegistry)
    if (name == e.table().name) {
      if (!e.supported()) throw std::invalid_argument("SIMD target '" + name + "' is not supported by this CPU");
      return &e.table();
    }
  std::string known;
  for (const Entry& e : kRegistry) known += std::string(known.empty() ? "" : ", ") + e.table().name;
  throw std::invalid_argument("unknown SIMD target '" + name + "' (compiled: " + known + ")");
}

const KernelTable* choose_initial() {
  if (const char* forced = std::getenv("RISKOFFSET_SIMD"); forced && *forced) return find_supported(forced);
  for (const Entry& e : kRegistry)
    if (e.supported()) return &e.table();
  return &kernels_generic();
}

std::atomic<const KernelTable*>& active_slot() {
  // Chosen once, on first use; an invalid RISKOFFSET_SIMD surfaces as an exception at that point.
  static std::atomic<const KernelTable*> slot{choose_initial()};
  return slot;
}

}  // namespace

std::vector<std::string> compiled_targets() {
  std::vector<std::string> names;
  for (const Entry& e : kRegistry) names.emplace_back(e.table().name);
  return names;
}

std::vector<std::string> supported_targets() {
  std::vector<std::string> names;
  for (const Entry& e : kRegistry)
    if (e.supported()) names.emplace_back(e.table().name);
  return names;
}

const KernelTable& active_kernels() { return *active_slot().load(std::memory_order_acquire); }
std::string active_target() { return active_kernels().name; }
void set_active_target(const std::string& name) {
  active_slot().store(find_supported(name), std::memory_order_release);
}

const KernelTable& kernels_by_name(const std::string& name) { return *find_supported(name); }

}  // namespace riskoffset
