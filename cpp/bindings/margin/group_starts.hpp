// Where each account's groups start in a pass's output: one group per distinct key of its positions, in key
// order (the PM and grid passes' row layout).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace riskoffset_bindings {

// The keys account a's positions hold (key -1: none), as the bits of a word when there are at most 64 keys: set
// without a branch on which keys it holds, random from account to account (a test of a byte per key and
// position mispredicted: 6.5 ms of ro.margin's 57 ms at 100,000 accounts).
inline std::uint64_t held_keys(const std::int64_t* indptr, const std::int64_t* indices, const std::int64_t* key,
                               std::size_t a) {
  std::uint64_t held = 0;
  for (std::int64_t p = indptr[a]; p < indptr[a + 1]; ++p) {
    const std::int64_t k = key[indices[p]];
    held |= k >= 0 ? std::uint64_t{1} << (k & 63) : 0;
  }
  return held;
}

// Row of each account's first group (n_accounts + 1 entries).
inline std::vector<std::int64_t> group_starts(const std::int64_t* indptr, const std::int64_t* indices,
                                              const std::int64_t* key, std::size_t n_accounts, std::size_t n_keys) {
  std::vector<std::int64_t> first(n_accounts + 1, 0);
  if (n_keys <= 64) {
    for (std::size_t a = 0; a < n_accounts; ++a)
      first[a + 1] = first[a] + __builtin_popcountll(held_keys(indptr, indices, key, a));
    return first;
  }
  std::vector<std::uint8_t> seen(n_keys, 0);
  for (std::size_t a = 0; a < n_accounts; ++a) {
    std::int64_t n = 0;
    for (std::int64_t p = indptr[a]; p < indptr[a + 1]; ++p) {
      const std::int64_t k = key[indices[p]];
      if (k >= 0 && !seen[static_cast<std::size_t>(k)]) seen[static_cast<std::size_t>(k)] = 1, ++n;
    }
    for (std::int64_t p = indptr[a]; p < indptr[a + 1]; ++p) {
      const std::int64_t k = key[indices[p]];
      if (k >= 0) seen[static_cast<std::size_t>(k)] = 0;
    }
    first[a + 1] = first[a] + n;
  }
  return first;
}

}  // namespace riskoffset_bindings
