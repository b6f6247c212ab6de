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



// exp of four vectors, step by step across them, so that the four
// dependency chains interleave in the instruction stream (one chain alone is
// latency-bound: ~9 cycles per vector instead of ~7 on Zen4).
inline void exp4(__m256 x[4]) {
  __m256 n[4], r[4], p[4];
  for (int i = 0; i < 4; ++i) {
    x[i] = _mm256_min_ps(_mm256_max_ps(x[i], _mm256_set1_ps(kExpMin)), _mm256_set1_ps(kExpMax));
    n[i] = _mm256_round_ps(_mm256_mul_ps(x[i], _mm256_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  for (int i = 0; i < 4; ++i) r[i] = _mm256_fnmadd_ps(n[i], _mm256_set1_ps(kLn2Hi), x[i]);
  for (int i = 0; i < 4; ++i) r[i] = _mm256_fnmadd_ps(n[i], _mm256_set1_ps(kLn2Lo), r[i]);
  // exp_poly, one coefficient at a time across the four vectors.
  for (int i = 0; i < 4; ++i) p[i] = _mm256_set1_ps(1.9875691500e-4f);
  for (const float coef : {1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f})
    for (int i = 0; i < 4; ++i) p[i] = _mm256_fmadd_ps(p[i], r[i], _mm256_set1_ps(coef));
  for (int i = 0; i < 4; ++i)
    p[i] = _mm256_add_ps(_mm256_fmadd_ps(p[i], _mm256_mul_ps(r[i], r[i]), r[i]), _mm256_set1_ps(1.0f));
  for (int i = 0; i < 4; ++i) x[i] = scale_pow2(p[i], n[i]);
}

// x · sigmoid(1.702 x) (CLIP's quick-GELU, openai/CLIP model.py).
inline __m256 quick_gelu(__m256 x) {
  const __m256 e = exp(_mm256_mul_ps(x, _mm256_set1_ps(-1.702f)));
  return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

// Exact GELU x/2 · (1 + erf(x/√2)) with erf from Abramowitz & Stegun 7.1.26
// (absolute error ≤ 1.5e-7): erf(z) = sign(z)·(1 - t·r(t)·e^(-z²)),
// t = 1/(1 + p|z|). The same approximation as PyTorch's vectorised CPU erf
// (ATen vec256_float.h), which its GELU uses, so we round like the reference.
inline __m256 gelu(__m256 x) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 z = _mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752f));
  const __m256 z_sign = _mm256_and_ps(sign, z);
  const __m256 z_abs = _mm256_xor_ps(z_sign, z);
  const __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), z_abs, one));
  __m256 r = _mm256_fmadd_ps(_mm256_set1_ps(1.061405429f), t, _mm256_set1_ps(-1.453152027f));
  r = _mm256_fmadd_ps(r, t, _mm256_set1_ps(1.421413741f));
  r = _mm256_fmadd_ps(r, t, _mm256_set1_ps(-0.284496736f));
  r = _mm256_fmadd_ps(r, t, _mm256_set1_ps(0.254829592f));
  const __m256 e = exp(_mm256_xor_ps(sign, _mm256_mul_ps(z, z)));
  // erf(|z|) = 1 - t·r·e, then the sign of z restored.
  const __m256 erf_abs = _mm256_fnmadd_ps(_mm256_mul_ps(e, t), r, one);
  const __m256 erf = _mm256_xor_ps(z_sign, erf_abs);
  return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), _mm256_add_ps(one, erf));
}

// gelu of four vectors (see exp4), the same arithmetic as gelu().
inline void gelu4(__m256 x[4]) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256 z_sign[4], t[4], r[4], e[4];
  for (int i = 0; i < 4; ++i) {
    const __m256 z = _mm256_mul_ps(x[i], _mm256_set1_ps(0.70710678118654752f));
    z_sign[i] = _mm256_and_ps(sign, z);
    t[i] = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), _mm256_xor_ps(z_sign[i], z), one));
    e[i] = _mm256_xor_ps(sign, _mm256_mul_ps(z, z));
  }
  for (int i = 0; i < 4; ++i) r[i] = _mm256_fmadd_ps(_mm256_set1_ps(1.061405429f), t[i], _mm256_set1_ps(-1.453152027f));
  for (const float coef : {1.421413741f, -0.284496736f, 0.254829592f})
    for (int i = 0; i < 4; ++i) r[i] = _mm256_fmadd_ps(r[i], t[i], _mm256_set1_ps(coef));
  exp4(e);
  for (int i = 0; i < 4; ++i) {
    const __m256 erf = _mm256_xor_ps(z_sign[i], _mm256_fnmadd_ps(_mm256_mul_ps(e[i], t[i]), r[i], one));
    x[i] = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x[i]), _mm256_add_ps(one, erf));
  }
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
