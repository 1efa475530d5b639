// Whether accounts keep their positions in ascending instrument row, as the live engine keeps them (its
// refresh then reads a coin's positions only, and checks each account's first and last row alone).  Included
// inside the per-target namespace: a bulk update checks every position of the book, so the comparisons run
// W at a time.
#pragma once

// Whether rows ix[start] .. ix[stop - 1] descend somewhere, OR-ed into `down` (W pairs at a time) and `tail`.
inline void rows_descend(const std::int64_t* ix, std::int64_t start, std::int64_t stop, vi& down, bool& tail) {
  std::int64_t p = start + 1;
  for (; p + W <= stop; p += W) {
    vi now, before;
    std::memcpy(&now, ix + p, sizeof now);
    std::memcpy(&before, ix + p - 1, sizeof before);
    down |= now < before;
  }
  for (; p < stop; ++p) tail |= ix[p] < ix[p - 1];
}

// The first of accounts [begin, end) (positions ix[ip[a]] .. ix[ep[a] - 1], segments checked by the caller to
// lie in the pool) whose rows descend somewhere, or `end`.
inline std::size_t first_unsorted_kernel(const std::int64_t* ip, const std::int64_t* ep, const std::int64_t* ix,
                                         std::size_t begin, std::size_t end) {
  // The usual case, every account in order, in one pass with the flags of all of them together; the account
  // is then found by a second, scalar pass.
  vi down = splati(0);
  bool tail_down = false;
  for (std::size_t a = begin; a < end; ++a) rows_descend(ix, ip[a], ep[a], down, tail_down);
  bool any = tail_down;
  for (int l = 0; l < W; ++l) any |= down[l] != 0;
  if (!any) return end;
  for (std::size_t a = begin; a < end; ++a)
    for (std::int64_t p = ip[a] + 1; p < ep[a]; ++p)
      if (ix[p] < ix[p - 1]) return a;
  return end;
}

// AccountsInOrderKernel: the checks of a bulk update in one pass over each account's segment (the usual case: all
// pass), so that the segment's rows are read once.  A segment is read only once its bounds passed.
inline bool accounts_in_order_kernel(const std::int64_t* ip, const std::int64_t* ep, const std::int64_t* r,
                                     const std::int64_t* ix, std::int64_t n_pool, std::int64_t n_rows,
                                     std::size_t n_instr, std::size_t begin, std::size_t end) {
  vi down = splati(0);
  bool bad = false;
  const auto rows = static_cast<std::uint64_t>(n_rows), instruments = static_cast<std::uint64_t>(n_instr);
  for (std::size_t a = begin; a < end; ++a) {
    const std::int64_t start = ip[a], stop = ep[a];
    bad |= static_cast<std::uint64_t>(r[a]) >= rows;
    if (!(0 <= start && start <= stop && stop <= n_pool)) return false;
    if (start == stop) continue;
    bad |= static_cast<std::uint64_t>(ix[start]) >= instruments || static_cast<std::uint64_t>(ix[stop - 1]) >= instruments;
    rows_descend(ix, start, stop, down, bad);
  }
  for (int l = 0; l < W; ++l) bad |= down[l] != 0;
  return !bad;
}
