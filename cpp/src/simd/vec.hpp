// Portable SIMD vector of RO_WIDTH doubles built on GCC/Clang vector extensions.  Included by
// target.cpp inside the per-target namespace, so every ISA gets its own copy of these inline functions
// (no ODR clash between translation units compiled with different -m flags).
#pragma once

constexpr int W = RO_WIDTH;
typedef double vd __attribute__((vector_size(W * sizeof(double))));
typedef long long vi __attribute__((vector_size(W * sizeof(double))));

inline vd splat(double x) { return vd{} + x; }
inline vi splati(long long x) { return vi{} + x; }
inline vd load(const double* p) {
  vd v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(double* p, vd v) { std::memcpy(p, &v, sizeof v); }
inline vd load_column(const Column& c, std::size_t i) { return c.stride ? load(c.data + i) : splat(c.data[0]); }
inline vd load_flag(const FlagColumn& c, std::size_t i) {
  if (!c.stride) return splat(c.at(0));
  if (!c.is_call) return load(c.data + i);
  // Widen the bytes (numpy bools are 0 or 1) and map to -1 / +1: two vector conversions (zero-extend to
  // int32, int32-to-double, both single instructions everywhere); a per-lane loop or ternary is compiled lane by lane.
  typedef unsigned char vb __attribute__((vector_size(W)));
  vb bytes;
  std::memcpy(&bytes, c.is_call + i, sizeof bytes);
  typedef int v32 __attribute__((vector_size(W * sizeof(int))));
  return 2.0 * __builtin_convertvector(__builtin_convertvector(bytes, v32), vd) - 1.0;
}
inline vd load_flag_tail(const FlagColumn& c, std::size_t i, std::size_t end) {
  if (!c.stride) return splat(c.at(0));
  vd v = splat(1.0);
  for (std::size_t l = 0; i + l < end; ++l) v[l] = c.at(i + l);
  return v;
}
// The last, partial block [i, end): lanes past the end get `pad` (a value that is valid for the kernel).
inline vd load_tail(const Column& c, std::size_t i, std::size_t end, double pad) {
  if (!c.stride) return splat(c.data[0]);  // broadcast values are valid in every lane (the scalar paths)
  vd v = splat(pad);
  for (std::size_t l = 0; i + l < end; ++l) v[l] = c.data[i + l];
  return v;
}
// Lane indices 0 .. W-1, and the lanes [0, n) as a mask.
inline vi lane_index() {
  vi v;
  for (int l = 0; l < W; ++l) v[l] = l;
  return v;
}
inline vi first_lanes(std::size_t n) { return lane_index() < splati(static_cast<long long>(n)); }
// Entries [p, p + n) for n < W, the other lanes `pad`: a masked load where the ISA has one (one instruction,
// and no read past p + n), lane by lane elsewhere.
inline vd load_part(const double* p, std::size_t n, double pad) {
#if defined(__AVX512F__) && RO_WIDTH == 8
  return __builtin_ia32_loadupd512_mask(p, splat(pad), static_cast<unsigned char>((1u << n) - 1u));
#elif defined(__AVX__) && RO_WIDTH == 4
  const vi mask = first_lanes(n);
  return mask ? __builtin_ia32_maskloadpd256(reinterpret_cast<const vd*>(p), mask) : splat(pad);
#else
  vd v = splat(pad);
  for (std::size_t l = 0; l < n; ++l) v[l] = p[l];
  return v;
#endif
}
// Lanes [0, n) of v to p .. p + n - 1 (n < W); nothing past them is written.
inline void store_part(double* p, std::size_t n, vd v) {
#if defined(__AVX512F__) && RO_WIDTH == 8
  __builtin_ia32_storeupd512_mask(p, v, static_cast<unsigned char>((1u << n) - 1u));
#elif defined(__AVX__) && RO_WIDTH == 4
  __builtin_ia32_maskstorepd256(reinterpret_cast<vd*>(p), first_lanes(n), v);
#else
  for (std::size_t l = 0; l < n; ++l) p[l] = v[l];
#endif
}
inline vd as_double(vi x) { return (vd)x; }  // same-size vector cast = bit cast
inline vi as_int(vd x) { return (vi)x; }
inline vd select(vi mask, vd a, vd b) { return mask ? a : b; }
// a > b ? a : b and a < b ? a : b, exactly the max / min instructions (the second operand where either is
// NaN), which the compiler does not always recognise in the vector form: one instruction, not compare + blend.
inline vd vmax(vd a, vd b) {
#if defined(__AVX512F__) && RO_WIDTH == 8
  return __builtin_ia32_maxpd512_mask(a, b, a, static_cast<unsigned char>(-1), 4);
#elif defined(__AVX__) && RO_WIDTH == 4
  return __builtin_ia32_maxpd256(a, b);
#elif defined(__SSE2__) && RO_WIDTH == 2
  return __builtin_ia32_maxpd(a, b);
#else
  return a > b ? a : b;
#endif
}
inline vd vmin(vd a, vd b) {
#if defined(__AVX512F__) && RO_WIDTH == 8
  return __builtin_ia32_minpd512_mask(a, b, a, static_cast<unsigned char>(-1), 4);
#elif defined(__AVX__) && RO_WIDTH == 4
  return __builtin_ia32_minpd256(a, b);
#elif defined(__SSE2__) && RO_WIDTH == 2
  return __builtin_ia32_minpd(a, b);
#else
  return a < b ? a : b;
#endif
}
inline vd vabs(vd x) { return as_double(as_int(x) & splati(0x7fffffffffffffffLL)); }
inline vd vsqrt(vd x) {
  vd r;
  for (int i = 0; i < W; ++i) r[i] = __builtin_sqrt(x[i]);  // vectorises to sqrtpd with -fno-math-errno
  return r;
}
// One bit per lane of a comparison result (lanes are 0 or all ones): the sign-bit move of the target, since
// a lane-by-lane reduction costs ~25 instructions per test.  The builtins are GCC/Clang's names behind
// _mm512_movepi64_mask, _mm256_movemask_pd and _mm_movemask_pd (no intrinsics header inside this namespace).
inline unsigned lane_bits(vi m) {
#if defined(__AVX512DQ__) && RO_WIDTH == 8
  return __builtin_ia32_cvtq2mask512(m);
#elif defined(__AVX__) && RO_WIDTH == 4
  return static_cast<unsigned>(__builtin_ia32_movmskpd256(as_double(m)));
#elif defined(__SSE2__) && RO_WIDTH == 2
  return static_cast<unsigned>(__builtin_ia32_movmskpd(as_double(m)));
#else
  unsigned bits = 0;
  for (int i = 0; i < W; ++i) bits |= (m[i] ? 1u : 0u) << i;
  return bits;
#endif
}
// The lanes of v in the order of the lane indices given (GCC's builtin since 4.7; Clang's has another name).
#if defined(__clang__)
#define RO_LANES(v, ...) __builtin_shufflevector(v, v, __VA_ARGS__)
#else
#define RO_LANES(v, ...) __builtin_shuffle(v, vi{__VA_ARGS__})
#endif
// The smallest lane, by halving (log2 W shuffles and minimums, not W - 1 dependent ones).  The same value as a
// lane-by-lane minimum where no lane is NaN and zeros have one sign (the order then does not matter).
inline double hmin(vd v) {
#if RO_WIDTH == 8
  v = vmin(v, RO_LANES(v, 4, 5, 6, 7, 0, 1, 2, 3));
  v = vmin(v, RO_LANES(v, 2, 3, 0, 1, 6, 7, 4, 5));
  v = vmin(v, RO_LANES(v, 1, 0, 3, 2, 5, 4, 7, 6));
#elif RO_WIDTH == 4
  v = vmin(v, RO_LANES(v, 2, 3, 0, 1));
  v = vmin(v, RO_LANES(v, 1, 0, 3, 2));
#elif RO_WIDTH == 2
  v = vmin(v, RO_LANES(v, 1, 0));
#else
  for (int l = 1; l < W; ++l) v[0] = v[l] < v[0] ? v[l] : v[0];
#endif
  return v[0];
}
#undef RO_LANES
inline bool any(vi m) { return lane_bits(m) != 0; }
inline bool all(vi m) { return lane_bits(m) == (1u << W) - 1u; }
// 1 / x for positive normal x to about an ulp: on AVX-512 a 14-bit estimate and one cubic Newton step
// (truncation below 2^-56) in the multiply-add units, leaving the divider (one 512-bit division per 16
// cycles) to the divisions that need correct rounding; elsewhere the division.
inline vd vrecip(vd x) {
#if defined(__AVX512F__) && RO_WIDTH == 8
  const vd y = __builtin_ia32_rcp14pd512_mask(x, x, static_cast<unsigned char>(-1));
  const vd e = 1.0 - x * y;
  return y + y * (e + e * e + e * e * e);
#else
  return 1.0 / x;
#endif
}
// Small integers (|k| < 2^50) to double without a packed int64->double instruction (absent before AVX-512).
inline vd small_int_to_double(vi k) {
  const double magic = 0x1.8p52;
  return as_double(as_int(splat(magic)) + k) - magic;
}
