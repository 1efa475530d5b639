// Whether accounts keep their positions in ascending instrument row, as the live engine keeps them (its
// refresh then reads a coin's positions only, and checks each account's first and last row alone).  Included
// inside the per-target namespace: a bulk update checks every position of the book, so the comparisons run
// W at a time.
#pragma once

// The first of accounts [begin, end) (positions ix[ip[a]] .. ix[ep[a] - 1], segments checked by the caller to
// lie in the pool) whose rows descend somewhere, or `end`.
inline std::size_t first_unsorted_kernel(const std::int64_t* ip, const std::int64_t* ep, const std::int64_t* ix,
                                         std::size_t begin, std::size_t end) {
  // The usual case, every account in order, in one pass with the flags of all of them together; the account
  // is then found by a second, scalar pass.
  vi down = splati(0);
  bool tail_down = false;
  for (std::size_t a = begin; a < end; ++a) {
    const std::int64_t stop = ep[a];
    std::int64_t p = ip[a] + 1;
    for (; p + W <= stop; p += W) {
      vi now, before;
      std::memcpy(&now, ix + p, sizeof now);
      std::memcpy(&before, ix + p - 1, sizeof before);
      down |= now < before;
    }
    for (; p < stop; ++p) tail_down |= ix[p] < ix[p - 1];
  }
  bool any = tail_down;
  for (int l = 0; l < W; ++l) any |= down[l] != 0;
  if (!any) return end;
  for (std::size_t a = begin; a < end; ++a)
    for (std::int64_t p = ip[a] + 1; p < ep[a]; ++p)
      if (ix[p] < ix[p - 1]) return a;
  return end;
}
