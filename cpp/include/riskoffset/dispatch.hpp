// Runtime choice of the SIMD target: a registry in priority order, the best supported one chosen once
// (overridable by RISKOFFSET_SIMD or set_active_target), as simdjson and numpy do.
#pragma once
#include <string>
#include <vector>

#include "riskoffset/kernels.hpp"

namespace riskoffset {

std::vector<std::string> compiled_targets();   // best first
std::vector<std::string> supported_targets();  // compiled and runnable on this CPU, best first
const KernelTable& active_kernels();
std::string active_target();
// Throws std::invalid_argument for an unknown or unsupported name.
void set_active_target(const std::string& name);

}  // namespace riskoffset

namespace riskoffset {
// A supported target by name (throws like set_active_target), without changing the active one.
const KernelTable& kernels_by_name(const std::string& name);
}  // namespace riskoffset
