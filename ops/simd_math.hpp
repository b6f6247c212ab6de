#pragma once
// Vectorised transcendental functions on AVX2 + FMA (the build baseline),
// eight floats at a time, accurate to a few ulp where the ops need it.
//
// exp: Cody–Waite range reduction and the Cephes expf polynomial
//   (Cephes `expf.c`: relative error ≈ 1 ulp on [-ln2/2, ln2/2]).
#include <immintrin.h>

namespace skingen::ops::simd {

// Cephes expf constants: ln 2 split in a high part exact in float and a low remainder.
inline constexpr float kLn2Hi = 0.693359375f;
inline constexpr float kLn2Lo = -2.12194440e-4f;
inline constexpr float kLog2e = 1.44269504088896341f;
// exp overflows above ln(FLT_MAX) and leaves the normal range below ln(FLT_MIN).
inline constexpr float kExpMax = 88.3762626647949f;
inline constexpr float kExpMin = -87.3365447504f;

// e^r for |r| ≤ ln2/2 (Cephes expf polynomial).
inline __m256 exp_poly(__m256 r) {
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  const __m256 r2 = _mm256_mul_ps(r, r);
  p = _mm256_fmadd_ps(p, r2, r);
  return _mm256_add_ps(p, _mm256_set1_ps(1.0f));
}

// p · 2^n for integral-valued float n in [-126, 127].
inline __m256 scale_pow2(__m256 p, __m256 n) {
  const __m256i e = _mm256_slli_epi32(_mm256_cvtps_epi32(n), 23);
  return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p), e));
}

// e^x; inputs below kExpMin give ≈ 1e-38 (not 0), above kExpMax give FLT_MAX-ish.
inline __m256 exp(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(kExpMin)), _mm256_set1_ps(kExpMax));
  const __m256 n =
      _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
  return scale_pow2(exp_poly(r), n);
}

// 2^f for |f| ≤ 1/2: degree-6 polynomial fitted for minimal relative error
// (Lawson-weighted least squares on Chebyshev nodes; fit error 2e-9, ≈ 1e-7
// after fp32 rounding). Coefficients shared with the AVX-512 attention kernel.
inline constexpr float kExp2Poly[7] = {
    1.0f, 6.931471825e-01f, 2.402264774e-01f, 5.550332367e-02f, 9.618436918e-03f, 1.339887502e-03f, 1.535336196e-04f};

// 2^t for t ≤ 0 (the attention softmax works in base 2); t below -126 gives ≈ 1e-38.
inline __m256 exp2_nonpositive(__m256 t) {
  t = _mm256_max_ps(t, _mm256_set1_ps(-126.0f));
  const __m256 n = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256 f = _mm256_sub_ps(t, n);
  __m256 p = _mm256_set1_ps(kExp2Poly[6]);
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kExp2Poly[5]));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kExp2Poly[4]));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kExp2Poly[3]));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kExp2Poly[2]));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kExp2Poly[1]));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kExp2Poly[0]));
  return scale_pow2(p, n);
}

// x · sigmoid(1.702 x) (CLIP's quick-GELU, openai/CLIP model.py).
inline __m256 quick_gelu(__m256 x) {
  const __m256 e = exp(_mm256_mul_ps(x, _mm256_set1_ps(-1.702f)));
  return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

// In-register transpose of an 8×8 block: r[i] holds row i on entry and column i on exit.
inline void transpose8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

// Lanes [0, n) set, for masked loads and stores of a tail of n < 8 floats.
inline __m256i tail_mask(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

}  // namespace skingen::ops::simd
