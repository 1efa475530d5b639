// Call/put flag strings decoded into call bytes (1 call, 0 put), compiled once per SIMD target so the loops
// vectorise with the target's widest integer instructions.  Included inside the per-target namespace.
//
// Accepted values: "c", "p", "call", "put" in any case, NUL-padded to the column's width (numpy's 'S' and
// 'U' layouts: one byte or one UCS4 code unit per character).  Each decoder returns n when every value is
// valid, else the first invalid row (the caller words the error).
#pragma once

inline std::uint32_t lower(std::uint32_t c) { return c | 0x20u; }  // exact for letters: only X and x map to x

// One kChars-character string (Ch = uint8 for 'S', uint32 for 'U'; numpy pads shorter strings with NULs):
// bit 0 set for a call, bit 1 set for an invalid value.  Branch-free so the loop below vectorises.
template <class Ch, std::size_t kChars>
unsigned classify(const Ch* e) {
  auto at = [e](std::size_t k) -> std::uint32_t { return k < kChars ? static_cast<std::uint32_t>(e[k]) : 0u; };
  std::uint32_t tail = 0;  // characters after the fourth must all be NUL
  for (std::size_t k = 4; k < kChars; ++k) tail |= at(k);
  const std::uint32_t c0 = lower(at(0));
  const bool one = (at(1) | at(2) | at(3) | tail) == 0;
  const bool call4 = (c0 == 'c') & (lower(at(1)) == 'a') & (lower(at(2)) == 'l') & (lower(at(3)) == 'l') & (tail == 0);
  const bool put3 = (c0 == 'p') & (lower(at(1)) == 'u') & (lower(at(2)) == 't') & ((at(3) | tail) == 0);
  const bool is_call = ((c0 == 'c') & one) | call4;
  const bool is_put = ((c0 == 'p') & one) | put3;
  return static_cast<unsigned>(is_call) | (static_cast<unsigned>(!(is_call | is_put)) << 1);
}

// Decodes n strings of `width` >= kChars characters (the first kChars read by classify, the rest must be NUL) into
// call bytes.  Returns n when every value is valid, else the first invalid row.
template <class Ch, std::size_t kChars>
std::size_t decode_any_width(const Ch* s, std::size_t width, std::size_t n, std::uint8_t* out) {
  auto beyond = [s, width](std::size_t i) {
    std::uint32_t any = 0;
    for (std::size_t k = kChars; k < width; ++k) any |= static_cast<std::uint32_t>(s[i * width + k]);
    return any ? 2u : 0u;
  };
  unsigned invalid = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned c = classify<Ch, kChars>(s + i * width);
    out[i] = static_cast<std::uint8_t>(c & 1u);
    invalid |= c;
  }
  if (width > kChars)
    for (std::size_t i = 0; i < n; ++i) invalid |= beyond(i);
  if (!(invalid & 2u)) return n;
  for (std::size_t i = 0; i < n; ++i)  // error path only: find the row
    if ((classify<Ch, kChars>(s + i * width) | beyond(i)) & 2u) return i;
  return n;
}

// The common widths, with every value compared as whole words (letters lowered by OR-ing 0x20 into each
// character; NUL padding must match exactly).  Each returns n, or the first invalid row.
template <class Ch>
std::size_t decode_1(const Ch* s, std::size_t n, std::uint8_t* out) {  // 'c' / 'p'
  unsigned invalid = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint32_t c = static_cast<std::uint32_t>(s[i]) | 0x20u;
    out[i] = static_cast<std::uint8_t>(c == 'c');
    invalid |= static_cast<unsigned>((c != 'c') & (c != 'p'));
  }
  if (!invalid) return n;
  for (std::size_t i = 0; i < n; ++i)
    if (((s[i] | 0x20u) != 'c') && ((s[i] | 0x20u) != 'p')) return i;
  return n;
}

// 'S4': one 32-bit little-endian word per value.
inline std::uint32_t s4_class(const std::uint8_t* e) {  // bit 0 call, bit 1 invalid
  std::uint32_t w;
  std::memcpy(&w, e, 4);
  const bool call4 = (w | 0x20202020u) == 0x6c6c6163u;  // "call"
  const bool put3 = (w | 0x00202020u) == 0x00747570u;   // "put\0"
  const bool c = (w | 0x20u) == 0x63u, p = (w | 0x20u) == 0x70u;
  return static_cast<std::uint32_t>(call4 | c) | (static_cast<std::uint32_t>(!(call4 | put3 | c | p)) << 1);
}

// 'U4': the four UCS4 characters narrowed to one 32-bit word as for 'S4' (exact for ASCII; any character
// >= 0x80 makes the value invalid).
inline std::uint32_t u4_class(const std::uint32_t* e) {
  const std::uint32_t a = e[0], b = e[1], c = e[2], d = e[3];
  const std::uint32_t w = a | (b << 8) | (c << 16) | (d << 24);
  const bool call4 = (w | 0x20202020u) == 0x6c6c6163u;
  const bool put3 = (w | 0x00202020u) == 0x00747570u;
  const bool is_c = (w | 0x20u) == 0x63u, is_p = (w | 0x20u) == 0x70u;
  const bool ascii = ((a | b | c | d) >> 7) == 0;
  return static_cast<std::uint32_t>(call4 | is_c) | (static_cast<std::uint32_t>(!((call4 | put3 | is_c | is_p) & ascii)) << 1);
}

template <class Ch, std::uint32_t (*Class)(const Ch*)>
std::size_t decode_4(const Ch* s, std::size_t n, std::uint8_t* out) {
  std::uint32_t invalid = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint32_t c = Class(s + 4 * i);
    out[i] = static_cast<std::uint8_t>(c & 1u);
    invalid |= c;
  }
  if (!(invalid & 2u)) return n;
  for (std::size_t i = 0; i < n; ++i)
    if (Class(s + 4 * i) & 2u) return i;
  return n;
}

// 'S4' and 'U4' a vector of rows a step: 16 in 64-byte vectors on AVX-512, 8 in 32-byte ones on AVX2 (the loops
// above, left to the compiler, read 'U4' as four strided code units a row: ~0.6 ns a row on AVX-512 and 0.9 on
// AVX2, against 0.4 and 0.3 this way).  'U4' rows are narrowed to the 'S4' layout (one byte a character); a step
// with any code unit >= 0x80 is decoded row by row by u4_class, which refuses it (narrowing would hide it).
// Returns n, or the first invalid row.
#if defined(__AVX512F__) || defined(__AVX2__)
#if defined(__AVX512F__)
constexpr std::size_t kFlagStep = 16;
#else
constexpr std::size_t kFlagStep = 8;
#endif
typedef std::uint32_t step_words __attribute__((vector_size(4 * kFlagStep)));  // one row a lane
typedef int step_mask __attribute__((vector_size(4 * kFlagStep)));             // a comparison's lanes: -1 or 0

inline step_words load_step_words(const void* s) {  // (one vector a memcpy: a copy of several went through the stack)
  step_words w;
  std::memcpy(&w, s, sizeof w);
  return w;
}
inline step_words flag_step_words(const std::uint8_t* s, step_words&) { return load_step_words(s); }

#if defined(__AVX512F__)
typedef std::uint8_t step_bytes __attribute__((vector_size(kFlagStep)));
typedef std::uint8_t step_half_chars __attribute__((vector_size(2 * kFlagStep)));
typedef std::uint8_t step_chars __attribute__((vector_size(4 * kFlagStep)));

template <class Out, class In, std::size_t... I>
Out flag_concat(In a, In b, std::index_sequence<I...>) {
  return __builtin_shufflevector(a, b, I...);
}
template <class Out, class In>
Out flag_concat(In a, In b) {  // a's lanes then b's
  return flag_concat<Out>(a, b, std::make_index_sequence<2 * sizeof(In)>{});
}

inline step_words flag_step_words(const std::uint32_t* s, step_words& high) {
  const step_words u0 = load_step_words(s), u1 = load_step_words(s + kFlagStep);
  const step_words u2 = load_step_words(s + 2 * kFlagStep), u3 = load_step_words(s + 3 * kFlagStep);
  high |= u0 | u1 | u2 | u3;
  // The low byte of each lane, by vpmovdb (written as a conversion, GCC may read the bytes one by one instead).
  typedef char bytes16 __attribute__((vector_size(16)));
  const auto narrow = [](step_words u) {
    return reinterpret_cast<step_bytes>(__builtin_ia32_pmovdb512_mask(reinterpret_cast<step_mask>(u), bytes16{}, -1));
  };
  const auto lo = flag_concat<step_half_chars>(narrow(u0), narrow(u1));
  const auto hi = flag_concat<step_half_chars>(narrow(u2), narrow(u3));
  return reinterpret_cast<step_words>(flag_concat<step_chars>(lo, hi));
}

inline void store_calls(std::uint8_t* out, step_mask call) {  // one byte a row: 1 call, 0 put
  const step_bytes bytes = __builtin_convertvector(call & 1, step_bytes);
  std::memcpy(out, &bytes, sizeof bytes);
}
#else
typedef short step_shorts __attribute__((vector_size(32)));
typedef float step_floats __attribute__((vector_size(32)));

inline step_words flag_step_words(const std::uint32_t* s, step_words& high) {
  const step_words u0 = load_step_words(s), u1 = load_step_words(s + kFlagStep);
  const step_words u2 = load_step_words(s + 2 * kFlagStep), u3 = load_step_words(s + 3 * kFlagStep);
  high |= u0 | u1 | u2 | u3;
  // Low bytes packed (saturating packs, exact on 0-255) within each 128-bit half: the words come out in row order
  // 0 2 4 6 1 3 5 7, put back in order by one permute.
  const auto low = [](step_words u) { return reinterpret_cast<step_mask>(u & 0xFFu); };
  const step_shorts rows02 = __builtin_ia32_packusdw256(low(u0), low(u1));
  const step_shorts rows46 = __builtin_ia32_packusdw256(low(u2), low(u3));
  const auto words = reinterpret_cast<step_mask>(__builtin_ia32_packuswb256(rows02, rows46));
  return reinterpret_cast<step_words>(__builtin_ia32_permvarsi256(words, step_mask{0, 4, 1, 5, 2, 6, 3, 7}));
}

inline void store_calls(std::uint8_t* out, step_mask call) {  // one byte a row: 1 call, 0 put
  // The 8 lanes' signs as bits, each bit spread to its byte (bit j lands in byte j, normalised to 0 or 1).
  const auto bits = static_cast<std::uint64_t>(__builtin_ia32_movmskps256(reinterpret_cast<step_floats>(call)));
  const std::uint64_t spread = (bits * 0x0101010101010101ULL) & 0x8040201008040201ULL;
  const std::uint64_t bytes = ((spread + 0x7F7F7F7F7F7F7F7FULL) >> 7) & 0x0101010101010101ULL;
  std::memcpy(out, &bytes, sizeof bytes);
}
#endif

template <class Ch, std::uint32_t (*Class)(const Ch*)>
std::size_t decode_4_steps(const Ch* s, std::size_t n, std::uint8_t* out) {
  const std::size_t whole = n / kFlagStep * kFlagStep;
  step_mask invalid{};
  step_words high{};
  for (std::size_t i = 0; i < whole; i += kFlagStep) {
    const step_words w = flag_step_words(s + 4 * i, high);
    const auto call4 = (w | 0x20202020u) == 0x6c6c6163u, put3 = (w | 0x00202020u) == 0x00747570u;
    const auto is_c = (w | 0x20u) == 0x63u, is_p = (w | 0x20u) == 0x70u;
    const step_mask call = call4 | is_c;
    invalid |= ~(call | put3 | is_p);
    store_calls(out + i, call);
  }
  std::uint32_t any = 0;
  for (std::size_t l = 0; l < kFlagStep; ++l) any |= invalid[l] | (high[l] >> 7);
  const std::size_t bad = any ? decode_4<Ch, Class>(s, whole, out) : whole;  // exact, and finds the row
  if (bad < whole) return bad;
  return whole + decode_4<Ch, Class>(s + 4 * whole, n - whole, out + whole);
}
#endif

template <class Ch>
inline std::size_t decode_width(const Ch* s, std::size_t width, std::size_t n, std::uint8_t* out) {
  if (width == 1) return decode_1(s, n, out);
  if (width == 4) {
#if defined(__AVX512F__) || defined(__AVX2__)
    if constexpr (sizeof(Ch) == 1) return decode_4_steps<std::uint8_t, s4_class>(s, n, out);
    else return decode_4_steps<std::uint32_t, u4_class>(s, n, out);
#else
    if constexpr (sizeof(Ch) == 1) return decode_4<std::uint8_t, s4_class>(s, n, out);
    else return decode_4<std::uint32_t, u4_class>(s, n, out);
#endif
  }
  switch (width) {  // any other width: character by character
    case 2: return decode_any_width<Ch, 2>(s, width, n, out);
    case 3: return decode_any_width<Ch, 3>(s, width, n, out);
    default: return decode_any_width<Ch, 4>(s, width, n, out);
  }
}

// Entry point of the kernel table: `unicode` selects UCS4 code units ('U' arrays) over bytes ('S'), `width`
// is the number of characters per value.
inline std::size_t decode_flags_kernel(const void* data, bool unicode, std::size_t width, std::size_t n,
                                       std::uint8_t* out) {
  if (unicode) return decode_width(static_cast<const std::uint32_t*>(data), width, n, out);
  return decode_width(static_cast<const std::uint8_t*>(data), width, n, out);
}
