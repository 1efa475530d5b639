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

template <class Ch>
inline std::size_t decode_width(const Ch* s, std::size_t width, std::size_t n, std::uint8_t* out) {
  if (width == 1) return decode_1(s, n, out);
  if (width == 4) {
    if constexpr (sizeof(Ch) == 1) return decode_4<std::uint8_t, s4_class>(s, n, out);
    else return decode_4<std::uint32_t, u4_class>(s, n, out);
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
