#pragma once
// Sixteen-float vectors (AVX-512F/VL/DQ), the twin of VecAvx2 (vec_avx2.hpp):
// the same operations, rounded the same way lane by lane. Include this only
// after `#pragma GCC target("avx512f,avx512vl,avx512dq,...")`, in a file
// whose functions run only where cpu_has_avx512() (ops/isa.hpp).
#include <immintrin.h>

namespace skingen::ops {

struct VecAvx512 {
  using reg = __m512;
  using mask = __mmask16;
  static constexpr int W = 16;
  static reg set1(float x) { return _mm512_set1_ps(x); }
  static reg zero() { return _mm512_setzero_ps(); }
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, reg v) { _mm512_storeu_ps(p, v); }
  static void stream(float* p, reg v) { _mm512_stream_ps(p, v); }  // p 64-byte aligned
  static mask tail_mask(int n) { return static_cast<mask>((1u << n) - 1u); }
  static reg load_tail(const float* p, mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static void store_tail(float* p, reg v, mask m) { _mm512_mask_storeu_ps(p, m, v); }
  static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm512_sub_ps(a, b); }
  static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  static reg div(reg a, reg b) { return _mm512_div_ps(a, b); }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static reg fmsub(reg a, reg b, reg c) { return _mm512_fmsub_ps(a, b, c); }
  static reg fnmadd(reg a, reg b, reg c) { return _mm512_fnmadd_ps(a, b, c); }
  static reg bit_and(reg a, reg b) { return _mm512_and_ps(a, b); }
  static reg bit_xor(reg a, reg b) { return _mm512_xor_ps(a, b); }
  static reg min(reg a, reg b) { return _mm512_min_ps(a, b); }
  static reg max(reg a, reg b) { return _mm512_max_ps(a, b); }
  static reg round(reg a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // Exact like VecAvx2's exponent add wherever that one is defined.
  static reg scale_pow2(reg p, reg n) { return _mm512_scalef_ps(p, n); }
  // See VecAvx2::add_moments.
  static void add_moments(double* s1, double* s2, reg k, reg s, reg q, double n) {
    add_moments_masked(s1, s2, k, s, q, n, 0xFF, 0xFF);
  }
  static void add_moments_tail(double* s1, double* s2, reg k, reg s, reg q, double n, int lanes) {
    add_moments_masked(s1, s2, k, s, q, n, static_cast<__mmask8>(lanes >= 8 ? 0xFF : (1u << lanes) - 1u),
                       static_cast<__mmask8>(lanes <= 8 ? 0 : (1u << (lanes - 8)) - 1u));
  }
  static void add_moments_masked(double* s1, double* s2, reg k, reg s, reg q, double n, __mmask8 lo, __mmask8 hi) {
    const __m512d nv = _mm512_set1_pd(n), two = _mm512_set1_pd(2.0);
    const __mmask8 m[2] = {lo, hi};
    const __m256 kh[2] = {_mm512_castps512_ps256(k), _mm512_extractf32x8_ps(k, 1)};
    const __m256 sh[2] = {_mm512_castps512_ps256(s), _mm512_extractf32x8_ps(s, 1)};
    const __m256 qh[2] = {_mm512_castps512_ps256(q), _mm512_extractf32x8_ps(q, 1)};
    for (int h = 0; h < 2; ++h) {
      const __m512d kd = _mm512_cvtps_pd(kh[h]), sd = _mm512_cvtps_pd(sh[h]), qd = _mm512_cvtps_pd(qh[h]);
      const __m512d nk = _mm512_mul_pd(nv, kd);
      double* a1 = s1 + 8 * h;
      double* a2 = s2 + 8 * h;
      _mm512_mask_storeu_pd(a1, m[h], _mm512_add_pd(_mm512_maskz_loadu_pd(m[h], a1), _mm512_add_pd(nk, sd)));
      const __m512d m2 = _mm512_fmadd_pd(kd, _mm512_fmadd_pd(two, sd, nk), qd);
      _mm512_mask_storeu_pd(a2, m[h], _mm512_add_pd(_mm512_maskz_loadu_pd(m[h], a2), m2));
    }
  }
};

}  // namespace skingen::ops
