#include "flags.hpp"

#include <cstring>
#include <string>

namespace py = pybind11;

namespace riskoffset_bindings {

const char* const kFlagRule = "'c', 'p', 'call', 'put' or a boolean (True = call)";

namespace {

// Row label of a flat index: "7" for 1-D arrays, "(1, 2)" for more dimensions (like numpy's unravel_index).
std::string row_label(const py::array& a, std::size_t flat) {
  if (a.ndim() <= 1) return std::to_string(flat);
  std::vector<std::size_t> index(static_cast<std::size_t>(a.ndim()));
  for (py::ssize_t d = a.ndim() - 1; d >= 0; --d) {
    const auto extent = static_cast<std::size_t>(a.shape(d));
    index[static_cast<std::size_t>(d)] = flat % extent;
    flat /= extent;
  }
  std::string s = "(";
  for (std::size_t d = 0; d < index.size(); ++d) s += (d ? ", " : "") + std::to_string(index[d]);
  return s + ")";
}

[[noreturn]] void bad_flag(const py::array& a, std::size_t row, const std::string& value) {
  throw py::value_error("flag at row " + row_label(a, row) + " must be " + kFlagRule + ", got " + value);
}

std::uint32_t lower(std::uint32_t c) { return c | 0x20u; }  // exact for letters: only X and x map to x

// One W-character string (Ch = uint8 for 'S', uint32 for 'U'; numpy pads shorter strings with NULs):
// bit 0 set for a call, bit 1 set for an invalid value.  Branch-free so the loop below vectorises.
template <class Ch, std::size_t W>
unsigned classify(const Ch* e) {
  auto at = [e](std::size_t k) -> std::uint32_t { return k < W ? static_cast<std::uint32_t>(e[k]) : 0u; };
  std::uint32_t tail = 0;  // characters after the fourth must all be NUL
  for (std::size_t k = 4; k < W; ++k) tail |= at(k);
  const std::uint32_t c0 = lower(at(0));
  const bool one = (at(1) | at(2) | at(3) | tail) == 0;
  const bool call4 = (c0 == 'c') & (lower(at(1)) == 'a') & (lower(at(2)) == 'l') & (lower(at(3)) == 'l') & (tail == 0);
  const bool put3 = (c0 == 'p') & (lower(at(1)) == 'u') & (lower(at(2)) == 't') & ((at(3) | tail) == 0);
  const bool is_call = ((c0 == 'c') & one) | call4;
  const bool is_put = ((c0 == 'p') & one) | put3;
  return static_cast<unsigned>(is_call) | (static_cast<unsigned>(!(is_call | is_put)) << 1);
}

// Decodes n strings of `width` >= W characters (the first W read by classify, the rest must be NUL) into
// call bytes.  Returns n when every value is valid, else the first invalid row.
template <class Ch, std::size_t W>
std::size_t decode(const Ch* s, std::size_t width, std::size_t n, std::uint8_t* out) {
  auto beyond = [s, width](std::size_t i) {
    std::uint32_t any = 0;
    for (std::size_t k = W; k < width; ++k) any |= static_cast<std::uint32_t>(s[i * width + k]);
    return any ? 2u : 0u;
  };
  unsigned invalid = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned c = classify<Ch, W>(s + i * width);
    out[i] = static_cast<std::uint8_t>(c & 1u);
    invalid |= c;
  }
  if (width > W)
    for (std::size_t i = 0; i < n; ++i) invalid |= beyond(i);
  if (!(invalid & 2u)) return n;
  for (std::size_t i = 0; i < n; ++i)  // error path only: find the row
    if ((classify<Ch, W>(s + i * width) | beyond(i)) & 2u) return i;
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
std::uint32_t s4_class(const std::uint8_t* e) {  // bit 0 call, bit 1 invalid
  std::uint32_t w;
  std::memcpy(&w, e, 4);
  const bool call4 = (w | 0x20202020u) == 0x6c6c6163u;  // "call"
  const bool put3 = (w | 0x00202020u) == 0x00747570u;   // "put\0"
  const bool c = (w | 0x20u) == 0x63u, p = (w | 0x20u) == 0x70u;
  return static_cast<std::uint32_t>(call4 | c) | (static_cast<std::uint32_t>(!(call4 | put3 | c | p)) << 1);
}

// 'U4': the four UCS4 characters narrowed to one 32-bit word as for 'S4' (exact for ASCII; any character
// >= 0x80 makes the value invalid).
std::uint32_t u4_class(const std::uint32_t* e) {
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
std::size_t decode_width(const Ch* s, std::size_t width, std::size_t n, std::uint8_t* out) {
  if (width == 1) return decode_1(s, n, out);
  if (width == 4) {
    if constexpr (sizeof(Ch) == 1) return decode_4<std::uint8_t, s4_class>(s, n, out);
    else return decode_4<std::uint32_t, u4_class>(s, n, out);
  }
  switch (width) {  // any other width: character by character
    case 2: return decode<Ch, 2>(s, width, n, out);
    case 3: return decode<Ch, 3>(s, width, n, out);
    default: return decode<Ch, 4>(s, width, n, out);
  }
}

// The value as Python shows it ('x', b'x'): error path only.
std::string quoted(const py::array& a, std::size_t row) {
  return py::repr(a.attr("reshape")(-1).attr("__getitem__")(row).attr("item")()).cast<std::string>();
}

}  // namespace

bool is_flag_dtype(const py::array& a) {
  const py::dtype dt = a.dtype();
  if (dt.is(py::dtype::of<bool>())) return true;
  const char kind = dt.kind();
  return (kind == 'S' || kind == 'U') && dt.itemsize() > 0;
}

const std::uint8_t* flag_bytes(const py::array& a, FlagStorage& storage) {
  const auto n = static_cast<std::size_t>(a.size());
  if (a.dtype().is(py::dtype::of<bool>())) {
    const auto* bytes = static_cast<const std::uint8_t*>(a.data());
    unsigned seen = 0;
    for (std::size_t i = 0; i < n; ++i) seen |= bytes[i];
    if (seen > 1)
      for (std::size_t i = 0; i < n; ++i)
        if (bytes[i] > 1) bad_flag(a, i, "byte " + std::to_string(bytes[i]) + " in a bool array");
    return bytes;
  }
  std::uint8_t* decoded = storage.get(n);
  const char kind = a.dtype().kind();
  if (kind == 'U' && !a.dtype().attr("isnative").cast<bool>()) {  // '>U' on a little-endian machine
    const py::array native = a.attr("astype")(a.dtype().attr("newbyteorder")("="));
    return flag_bytes(native, storage);
  }
  const std::size_t row =
      kind == 'U' ? decode_width(static_cast<const std::uint32_t*>(a.data()), static_cast<std::size_t>(a.itemsize()) / 4, n, decoded)
                  : decode_width(static_cast<const std::uint8_t*>(a.data()), static_cast<std::size_t>(a.itemsize()), n, decoded);
  if (row < n) bad_flag(a, row, quoted(a, row));
  return decoded;
}

std::uint8_t* FlagStorage::get(std::size_t n) {
  if (n > kReusedFlagBytes) {
    own_.reset(new std::uint8_t[n]);
    return own_.get();
  }
  thread_local std::unique_ptr<std::uint8_t[]> reused;
  thread_local std::size_t capacity = 0;
  if (capacity < n) {
    reused.reset(new std::uint8_t[n]);
    capacity = n;
  }
  return reused.get();
}

}  // namespace riskoffset_bindings
