// Deribit-style portfolio margin of every (account, risk-vector key) of a book in one pass over its positions
// (docs/margin.md, "Deribit portfolio margin", steps 5-9).  Included inside each SIMD target's namespace
// (src/simd/target.cpp): the loops over the 35 scenario entries vectorise for the target's ISA.
//
//   1. L = Q . P: each group sums quantity x the instrument's scenario vector (standard entries, then the
//      weighted extended ones), its positions in CSR order, and its net coin delta per expiry column;
//   2. the extended entries are dampened toward zero, gains count at pnl_offset capped at max_offsetable_pnl;
//   3. worst case = max(0, -min entry) and its index (a tie inside a bucket goes to the vol-same entry);
//   4. roll shock = sum over expiries of |net delta| x max(min_annualised_move, annualised_move_risk x T),
//      delta shock = |delta| x min(max_delta_shock, m_inc x max(0, |delta| - threshold / index)), in the
//      key's currency; MM = mm_factor x (worst + roll + delta shock), IM = that + the given add-ons.
//
// Steps 2-4 on one group are `pm_group_kernel`: the single implementation that the bulk pass, the what-if
// path and the live engine all run (the same target, so the same bits).  No standard-library calls: every
// function here must belong to this target's namespace (cmake/check_isa_symbols.cmake).
#pragma once

constexpr std::size_t kPmStandardWidth = 35;

inline double pm_max(double a, double b) { return a > b ? a : b; }
inline double pm_min(double a, double b) { return a < b ? a : b; }
inline double pm_abs(double a) { return a < 0 ? -a : a; }
inline vd pm_abs(vd a) { return a < 0.0 ? -a : a; }

// Entries [p, p + n) as one vector: lanes past n (n < W, the last block) hold `pad` and are never stored.
inline vd pm_load(const double* p, std::size_t n, double pad) {
  return n >= static_cast<std::size_t>(W) ? load(p) : load_part(p, n, pad);
}
inline void pm_store(double* p, std::size_t n, vd v) {
  if (n >= static_cast<std::size_t>(W)) return store(p, v);
  store_part(p, n, v);
}

// The dampener of entries [j, j + W): A_m = (max(|m| / R, 1) - 1) x extended_dampener (USD), per coin at the
// edge of the range, at the extended entries (0 at the standard ones and past the end).  It depends on the key
// only: the passes compute it once per key.
inline vd pm_dampener(const PmShape& shape, const PmKey& key, std::size_t j) {
  const double R = key.price_range;
  vd m = splat(0.0);
  vi extended = splati(0);
  for (std::size_t l = 0; l < static_cast<std::size_t>(W); ++l)
    if (j + l >= shape.n_standard && j + l < shape.width()) {
      m[l] = shape.extended_moves[j + l - shape.n_standard];
      extended[l] = -1;
    }
  const vd sign = m > 0.0 ? splat(1.0) : (m < 0.0 ? splat(-1.0) : splat(0.0));
  vd amount = (vmax(pm_abs(m) / R, splat(1.0)) - 1.0) * key.dampener;
  if (key.coin) amount = amount / ((1.0 + sign * R) * key.index);
  return select(extended, amount, splat(0.0));  // exactly 0 elsewhere: dampening a standard entry by it is a no-op
}

// Every key's dampener at the entries' positions, in the scratch's rows (pm_scratch_row apart: what pm_steps
// reads from `dampener`).
inline void pm_dampeners(const PmShape& shape, const PmKey* keys, std::size_t n_keys, double* out) {
  const std::size_t stride = pm_scratch_row(shape.width());
  for (std::size_t k = 0; k < n_keys; ++k)
    for (std::size_t j = 0; j < shape.width(); j += static_cast<std::size_t>(W))
      store(out + k * stride + j, pm_dampener(shape, keys[k], j));
}

// An entry dampened toward zero by `amount` (>= 0).
inline vd pm_dampen(vd e, vd amount) {
  const vd shrunk = vmax(pm_abs(e) - amount, splat(0.0));
  const vd toward_zero = e < 0.0 ? -shrunk : splat(0.0);
  return (e > 0.0 ? shrunk : toward_zero) + 0.0;  // + 0.0: no -0.0 entries
}

// The steps run W entries at a time, with selects rather than branches: entries change sign at random, so a
// branch mispredicts, and there are as many groups as accounts.  `dampener`: the key's row of pm_dampeners,
// or null to compute it here.  One pass over the entries in blocks of W from the row's start: a block is
// loaded from where it was stored whole (the sums, the coin), which the CPU forwards from its store.
// kWidth: the entries' count when known at compile time (Deribit's 35: the blocks unroll, with no test of a
// block's length or kind), 0 to read it from `shape`.  kPadded: `entries` is a scratch row, with room for a
// whole last block (loaded and stored whole, no masked access; its pad lanes are never read as entries).
// kFindWorst: find where the lowest entry lies (worst_index); without it worst_index is -1 and the bucket rule
// is not applied.
template <std::size_t kWidth, bool kPadded, bool kFindWorst = true>
inline PmGroupFigures pm_steps_of(double* entries, const PmShape& shape, const PmKey& key, const double* dampener,
                                  const double* net_by_column, const double* t_column, std::size_t n_columns) {
  const std::size_t n_std = shape.n_standard, width = kWidth ? kWidth : shape.width(), w = static_cast<std::size_t>(W);
  const vd zero = splat(0.0);
  // Gains count at pnl_offset, capped (the cap is in USD: coin keys convert it at the index); the lowest
  // entry is tracked on the way.  No entry is NaN (a minimum returns its second operand when one is) or -0.0
  // (losses + 0.0; PmKey::derive normalises the parameters), so the lowest is one value whatever order the
  // lanes are compared in.
  const vd cap = splat(key.gain_cap), pnl_offset = splat(key.pnl_offset);
  vd low = splat(__builtin_inf());
#pragma GCC unroll 8
  for (std::size_t j = 0; j < width; j += w) {
    const std::size_t n = width - j;
    vd e = kPadded ? load(entries + j) : pm_load(entries + j, n, 0.0);
    if (j + w <= n_std) {
      // standard entries only: nothing to dampen (the dampener row is 0 there, which would change nothing)
    } else if (dampener) {
      e = pm_dampen(e, load(dampener + j));
    } else {  // the extended entries are first dampened toward zero
      e = pm_dampen(e, pm_dampener(shape, key, j));
    }
    const vd gain = vmin(e * pnl_offset, cap);
    const vd loss = vmin(e, zero) + 0.0;
    const vd v = e > 0.0 ? gain : loss;
    if (kPadded)
      store(entries + j, v);
    else
      pm_store(entries + j, n, v);
    low = vmin(n >= w ? v : select(first_lanes(n), v, splat(__builtin_inf())), low);
  }
  const double lowest = hmin(low);
  // The first entry at the lowest value, a block at a time: where it lies is random, so a scalar scan's exit
  // mispredicts.
  std::size_t lowest_at = 0;
  if (kFindWorst && width <= 64) {  // every block's hits in one word, the first taken without a branch on its block
    std::uint64_t hits = 0;
#pragma GCC unroll 8
    for (std::size_t j = 0; j < width; j += w) {
      const std::size_t n = width - j;
      unsigned hit = lane_bits((kPadded ? load(entries + j) : pm_load(entries + j, n, 0.0)) == lowest);
      if (n < w) hit &= (1u << n) - 1u;
      hits |= static_cast<std::uint64_t>(hit) << j;
    }
    lowest_at = hits ? static_cast<std::size_t>(__builtin_ctzll(hits)) : 0;
  } else {
#pragma GCC unroll 8
    for (std::size_t j = 0; kFindWorst && j < width; j += w) {
      const std::size_t n = width - j;
      unsigned hit = lane_bits((kPadded ? load(entries + j) : pm_load(entries + j, n, 0.0)) == lowest);
      if (n < w) hit &= (1u << n) - 1u;
      if (hit) {
        lowest_at = j + static_cast<std::size_t>(__builtin_ctz(hit));
        break;
      }
    }
  }
  PmGroupFigures out;
  out.worst_case = pm_max(0.0, -lowest);
  // A tie inside a bucket reports the middle (vol same) entry, as Deribit does.
  std::size_t worst = lowest_at;
  if (kFindWorst && worst < n_std) {
    const std::size_t middle = 3 * (worst / 3) + 1;
    if (middle < width && entries[middle] == lowest) worst = middle;
  }
  out.worst_index = kFindWorst ? static_cast<std::int64_t>(worst) : -1;
  out.worst_pnl = lowest;
  const double per_coin = key.per_coin;  // coin amounts -> the key's currency
  // The expiry columns W at a time, each lane summed on its own and the lanes added in order: one add per
  // column in a row would chain every column's latency (a market lists a dozen expiries), group after group.
  vd roll_lanes = splat(0.0), delta_lanes = splat(0.0);
  const vd min_move = splat(key.min_annualised_move), move_risk = splat(key.annualised_move_risk);
  for (std::size_t c = 0; c < n_columns; c += w) {
    const std::size_t n = n_columns - c;
    const vd net = pm_load(net_by_column + c, n, 0.0);  // pad lanes 0: they add nothing
    roll_lanes += pm_abs(net) * vmax(min_move, move_risk * pm_load(t_column + c, n, 0.0));
    delta_lanes += net;
  }
  double roll = roll_lanes[0], delta = delta_lanes[0];
  for (int l = 1; l < W; ++l) roll += roll_lanes[l], delta += delta_lanes[l];
  out.roll_shock = roll * per_coin;
  out.delta = delta;
  const double size = pm_abs(delta);
  const double threshold = key.threshold_coin;
  out.delta_shock = size * pm_min(key.max_delta_shock, key.m_inc * pm_max(0.0, size - threshold)) * per_coin;
  out.risk_matrix_margin = out.worst_case + out.roll_shock + out.delta_shock;
  out.initial = out.risk_matrix_margin + key.addons;
  out.maintenance = shape.mm_factor * out.risk_matrix_margin;
  return out;
}
// The steps on a scratch row of the passes.
template <bool kFindWorst = true>
inline PmGroupFigures pm_steps_on_row(double* row, const PmShape& shape, const PmKey& key, const double* dampener,
                                      const double* net_by_column, const double* t_column, std::size_t n_columns) {
  if (shape.width() == kPmStandardWidth)
    return pm_steps_of<kPmStandardWidth, true, kFindWorst>(row, shape, key, dampener, net_by_column, t_column,
                                                           n_columns);
  return pm_steps_of<0, true, kFindWorst>(row, shape, key, dampener, net_by_column, t_column, n_columns);
}

PmGroupFigures pm_group_kernel(double* entries, const PmShape& shape, const PmKey& key, const double* net_by_column,
                               const double* t_column, std::size_t n_columns) {
  return pm_steps_of<0, false>(entries, shape, key, nullptr, net_by_column, t_column, n_columns);
}

// Account a's first positions requested (position_prefetch.hpp): the passes call it for the account two ahead.
template <class AccountBook>
inline void prefetch_account(const AccountBook& book, std::size_t a) {
  prefetch_positions(book.indices, book.quantity, book.indptr[a], book.ends ? book.ends[a] : book.indptr[a + 1]);
}

// Sums account a's positions into the scratch rows of the keys it holds (used[k] set): quantity x the
// instrument's scenario vector, and its net coin delta per expiry column.  Positions in CSR order.  While the
// next positions share a key (they usually do: positions are ordered by underlying and expiry) its running
// scenario sums stay in registers (Deribit's 35 entries), stored when the key changes; likewise the net
// deltas: per expiry column in the lanes of two registers with 512-bit vectors, else added to the column's
// cell by each position.
// kValues: also the live settle's sums of the same positions (PmLiveValues) into `cells` (the account's options'
// values per settle cell), its futures positions listed from `futures`; returns one past the last listed.
template <bool kValues = false>
inline std::int64_t* pm_sum_account(const PmBook& book, const PmShape& shape, const PmScratch& scratch, std::size_t a,
                                    const PmLiveValues* values = nullptr, double* cells = nullptr,
                                    std::int64_t* futures = nullptr) {
  const std::size_t width = shape.width(), n_cols = book.n_columns;
  // Deribit's 35 entries as kBlocks vectors, the last one partial (its pad lanes stay 0, stored to the row's pad).
  constexpr std::size_t kBlocks = (kPmStandardWidth + W - 1) / W, kLast = kPmStandardWidth - (kBlocks - 1) * W;
  const bool standard = width == kPmStandardWidth;
  const std::size_t row_stride = book.vector_stride ? book.vector_stride : width;
  // Rows padded with 0 to whole vectors: the last block read whole (a masked load cost more than the others).
  const bool padded = row_stride >= kBlocks * W;
  const std::size_t sums_stride = pm_scratch_row(width), net_stride = pm_scratch_row(n_cols);
  vd acc[kBlocks] = {};
  std::int64_t held = -1;  // the key whose sums are in the registers
  double* __restrict row = nullptr;
  double* __restrict net_row = nullptr;
  // With 512-bit vectors and up to 16 expiry columns, the net deltas of every column are two registers, each
  // position adding to its column's lane: consecutive positions mostly lie in different expiries, so no branch
  // on a change of column (it mispredicted).  A lane sums its column's positions in position order.  Narrower
  // vectors would take more adds per position: there each position adds to its column's cell in memory (an
  // AVX2 BTC tick 24 -> 22 ms against a scalar kept while the column stayed, on an AMD EPYC, Zen 3).
  constexpr bool kNetInLanes = W == 8;
  const bool lanes = kNetInLanes && n_cols >= 1 && n_cols <= 2 * static_cast<std::size_t>(W);
  vd net_low = splat(0.0), net_high = splat(0.0);  // (two variables, not an array: kept in registers)
  const vi lane = lane_index(), lane_high = lane + static_cast<long long>(W);
  const auto store_net = [&] {
    if (lanes) {  // (the row is padded to whole vectors: the high lanes past the last column add 0.0 to its pad)
      store(net_row, load(net_row) + net_low);
      if (n_cols > static_cast<std::size_t>(W)) store(net_row + W, load(net_row + W) + net_high);
      net_low = splat(0.0), net_high = splat(0.0);
    }
  };
  const auto store_held = [&] {
    if (held < 0) return;
    if (standard) {
#pragma GCC unroll 32
      for (std::size_t b = 0; b < kBlocks; ++b) store(row + b * W, acc[b]);
    }
    store_net();
  };
  const std::int64_t stop = book.ends ? book.ends[a] : book.indptr[a + 1];
  const std::int64_t stop_row = book.stop_row < 0 ? static_cast<std::int64_t>(~0ULL >> 1) : book.stop_row;
  std::int64_t begin = book.indptr[a];
  if (book.start_row > 0) begin = first_at_or_past(book.indices, begin, stop, book.start_row);  // (book/first_at_or_past.hpp)
  SettleRun run;  // (kValues)
  for (std::int64_t p = begin; p < stop; ++p) {
    // (the positions' columns are read once per pass, from memory: the passes request them an account ahead)
    if (book.indices[p] >= stop_row) break;
    const auto i = static_cast<std::size_t>(book.indices[p]);
    if (kValues) settle_position(*values, cells, run, futures, p, i, book.quantity[p]);  // keyed or not
    const std::int64_t k = book.key[i];
    if (k < 0) continue;
    if (k != held) {
      store_held();
      held = k;
      const auto ku = static_cast<std::size_t>(k);
      row = scratch.sums + ku * sums_stride;
      net_row = scratch.net + ku * net_stride;
      const bool first = !scratch.used[ku];
      scratch.used[ku] = 1;
      if (first && !standard)
        for (std::size_t j = 0; j < width; ++j) row[j] = 0.0;
      if (first)  // (whole vectors: the scratch rows are padded to pm_scratch_row, a multiple of W)
        for (std::size_t c = 0; c < n_cols; c += W) store(net_row + c, splat(0.0));
      if (standard) {
#pragma GCC unroll 32
        for (std::size_t b = 0; b < kBlocks; ++b) acc[b] = first ? splat(0.0) : load(row + b * W);
      }
    }
    const double q = book.quantity[p];
    const double* __restrict v = book.vectors + i * row_stride;
    if (standard) {
#pragma GCC unroll 32
      for (std::size_t b = 0; b + 1 < kBlocks; ++b) acc[b] += q * load(v + b * W);
      acc[kBlocks - 1] += q * (padded ? load(v + (kBlocks - 1) * W) : load_part(v + (kBlocks - 1) * W, kLast, 0.0));
    } else {
      for (std::size_t j = 0; j < width; ++j) row[j] += q * v[j];
    }
    const std::int64_t c = book.column[i];
    if (lanes) {
      const vd d = splat(q * book.delta[i]), zero = splat(0.0);
      const vi at = splati(c);
      net_low += select(lane == at, d, zero), net_high += select(lane_high == at, d, zero);
      continue;
    }
    net_row[c] += q * book.delta[i];
  }
  store_held();
  if (kValues) settle_end(cells, run);
  return futures;
}

// Adds the account's balance (`coins`: its row, n_coins entries) of key k's coin to the group's row, unless an earlier group of the account took
// it (`taken`, one bit per coin): an offset currency's gain counts up to its cap, a loss always in full.
inline void pm_add_coin(const PmBook& book, std::size_t width, const double* coins, std::size_t k, double* row,
                        std::uint64_t& taken) {
  if (!coins || book.coin_col[k] < 0 || ((taken >> book.coin_col[k]) & 1U)) return;
  const auto cc = static_cast<std::size_t>(book.coin_col[k]);
  taken |= std::uint64_t{1} << cc;
  const double amount = coins[cc];
  const double* move = book.coin_moves + k * width;
  const auto w = static_cast<std::size_t>(W);
  if (book.coin_gain_cap) {
    const vd cap = splat(book.coin_gain_cap[cc]);
    for (std::size_t j = 0; j < width; j += w) store(row + j, load(row + j) + vmin(amount * pm_load(move + j, width - j, 0.0), cap));
  } else {
    for (std::size_t j = 0; j < width; j += w) store(row + j, load(row + j) + amount * pm_load(move + j, width - j, 0.0));
  }
}

// Accounts [begin, end): their groups land at rows first_group[a] ... in key order.  Each group sums its
// positions in CSR order, so the figures do not depend on how accounts are split across threads.
void pm_accounts_kernel(const PmBook& book, const PmShape& shape, const std::int64_t* first_group,
                        const PmColumns& out, const PmScratch& scratch, std::size_t begin, std::size_t end) {
  const std::size_t width = shape.width(), n_keys = book.n_keys, n_cols = book.n_columns;
  const std::size_t stride = pm_scratch_row(width);
  double* dampener = scratch.dampener;
  pm_dampeners(shape, book.keys, n_keys, dampener);
  for (std::size_t a = begin; a < end; ++a) {
    if (a + 2 < end)
      prefetch_account(book, a + 2);
    pm_sum_account(book, shape, scratch, a);
    auto g = static_cast<std::size_t>(first_group[a]);
    std::uint64_t taken = 0;  // coins already placed in an earlier group of this account
    for (std::size_t k = 0; k < n_keys; ++k) {
      if (!scratch.used[k]) continue;
      scratch.used[k] = 0;
      double* row = scratch.sums + k * stride;
      if (book.collateral)
        for (std::size_t j = 0; j < width; ++j) row[j] += book.collateral[g * width + j];
      pm_add_coin(book, width, book.coins ? book.coins + a * book.n_coins : nullptr, k, row, taken);
      if (out.pre)
        for (std::size_t j = 0; j < width; ++j) out.pre[g * width + j] = row[j];
      const PmGroupFigures f = pm_steps_on_row(row, shape, book.keys[k], dampener + k * stride,
                                        scratch.net + k * pm_scratch_row(n_cols), book.t_column, n_cols);
      if (out.aggregated)
        for (std::size_t j = 0; j < width; ++j) out.aggregated[g * width + j] = row[j];
      out.account[g] = static_cast<std::int64_t>(a);
      out.key[g] = static_cast<std::int64_t>(k);
      out.worst_case[g] = f.worst_case;
      out.worst_index[g] = f.worst_index;
      out.worst_pnl[g] = f.worst_pnl;
      out.roll_shock[g] = f.roll_shock;
      out.delta_shock[g] = f.delta_shock;
      out.delta[g] = f.delta;
      out.risk_matrix_margin[g] = f.risk_matrix_margin;
      out.initial[g] = f.initial;
      out.maintenance[g] = f.maintenance;
      ++g;
    }
  }
}

// The live engine's pass: accounts [begin, end) of book (engine rows rows[a], positions indptr[a] .. ends[a] - 1
// of its pool; book.coins indexed by engine row) recomputed on the keys with key_on[k] (book.key must map the other keys' instruments to -1; a key the
// account does not hold gets no margin), written into the engine's dense [row, key] arrays; the other keys
// keep their figures.  The same sums and steps as pm_accounts_kernel.
void pm_live_kernel(const PmBook& book, const PmShape& shape, const PmLiveKeys& live, const PmScratch& scratch,
                    std::size_t begin, std::size_t end) {
  const std::size_t width = shape.width(), n_keys = book.n_keys, n_cols = book.n_columns;
  const std::size_t stride = pm_scratch_row(width);
  double* dampener = scratch.dampener;
  if (!scratch.dampener_ready) pm_dampeners(shape, book.keys, n_keys, dampener);
  const PmLiveValues* values = live.values;
  std::int64_t* futures = values ? values->futures : nullptr;
  for (std::size_t a = begin; a < end; ++a) {
    if (a + 2 < end)
      prefetch_account(book, a + 2);
    const auto r = static_cast<std::size_t>(live.rows[a]);
    if (values) {
      double* cells = values->cells + r * values->n_cells;
      settle_start(*values, cells);
      futures = pm_sum_account<true>(book, shape, scratch, a, values, cells, futures);
      values->futures_end[a - values->first] = futures - values->futures;
    } else {
      pm_sum_account(book, shape, scratch, a);
    }
    const std::size_t base = r * n_keys;
    const double* coins = book.coins ? book.coins + r * book.n_coins : nullptr;  // the engine's balances
    std::uint64_t taken = 0;
    for (std::size_t k = 0; k < n_keys; ++k) {
      if (!live.key_on[k]) continue;
      const std::size_t cell = base + k;
      if (live.stale) live.stale[cell] = !live.find_worst;
      if (!scratch.used[k]) {
        live.initial[cell] = 0.0, live.maintenance[cell] = 0.0, live.worst_index[cell] = -1;
        live.worst_pnl[cell] = 0.0;
        continue;
      }
      scratch.used[k] = 0;
      double* row = scratch.sums + k * stride;
      pm_add_coin(book, width, coins, k, row, taken);
      const double* net_row = scratch.net + k * pm_scratch_row(n_cols);
      if (live.find_worst) {
        const PmGroupFigures f = pm_steps_on_row<true>(row, shape, book.keys[k], dampener + k * stride, net_row,
                                                       book.t_column, n_cols);
        live.initial[cell] = f.initial, live.maintenance[cell] = f.maintenance;
        live.worst_index[cell] = f.worst_index, live.worst_pnl[cell] = f.worst_pnl;
      } else {
        const PmGroupFigures f = pm_steps_on_row<false>(row, shape, book.keys[k], dampener + k * stride, net_row,
                                                        book.t_column, n_cols);
        live.initial[cell] = f.initial, live.maintenance[cell] = f.maintenance, live.worst_pnl[cell] = f.worst_pnl;
      }
    }
  }
}
