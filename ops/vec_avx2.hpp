#pragma once
// Eight-float vectors (AVX2 + FMA) behind the small interface the
// width-generic kernels use (silu_kernel.hpp, group_norm_kernel.hpp). Every
// operation is lane-wise and rounds like its VecAvx512 twin, so a generic
// kernel gives the same bits with either.
#include <immintrin.h>

#include <cmath>

#include "ops/simd_math.hpp"

namespace skingen::ops {

struct VecAvx2 {
  using reg = __m256;
  using mask = __m256i;  // lanes to touch, for row tails
  static constexpr int W = 8;
  static reg set1(float x) { return _mm256_set1_ps(x); }
  static reg zero() { return _mm256_setzero_ps(); }
  static reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, reg v) { _mm256_storeu_ps(p, v); }
  static void stream(float* p, reg v) { _mm256_stream_ps(p, v); }  // p 32-byte aligned
  static mask tail_mask(int n) { return simd::tail_mask(n); }
  static reg load_tail(const float* p, mask m) { return _mm256_maskload_ps(p, m); }
  static void store_tail(float* p, reg v, mask m) { _mm256_maskstore_ps(p, m, v); }
  static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm256_sub_ps(a, b); }
  static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  static reg div(reg a, reg b) { return _mm256_div_ps(a, b); }
  static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static reg fmsub(reg a, reg b, reg c) { return _mm256_fmsub_ps(a, b, c); }
  static reg fnmadd(reg a, reg b, reg c) { return _mm256_fnmadd_ps(a, b, c); }  // c - a·b
  static reg bit_and(reg a, reg b) { return _mm256_and_ps(a, b); }
  static reg bit_xor(reg a, reg b) { return _mm256_xor_ps(a, b); }
  static reg min(reg a, reg b) { return _mm256_min_ps(a, b); }
  static reg max(reg a, reg b) { return _mm256_max_ps(a, b); }
  static reg round(reg a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  // p·2^n for integral n in [-126, 127] and a normal result.
  static reg scale_pow2(reg p, reg n) { return simd::scale_pow2(p, n); }
  // Per lane, in double: s1 += n·k + s and s2 += k·(n·k + 2s) + q, i.e. the
  // sums Σx and Σx² of n values given around k as s = Σ(x - k), q = Σ(x - k)².
  static void add_moments(double* s1, double* s2, reg k, reg s, reg q, double n) {
    const __m256d nv = _mm256_set1_pd(n), two = _mm256_set1_pd(2.0);
    const __m128 kh[2] = {_mm256_castps256_ps128(k), _mm256_extractf128_ps(k, 1)};
    const __m128 sh[2] = {_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1)};
    const __m128 qh[2] = {_mm256_castps256_ps128(q), _mm256_extractf128_ps(q, 1)};
    for (int h = 0; h < 2; ++h) {
      const __m256d kd = _mm256_cvtps_pd(kh[h]), sd = _mm256_cvtps_pd(sh[h]), qd = _mm256_cvtps_pd(qh[h]);
      const __m256d nk = _mm256_mul_pd(nv, kd);
      _mm256_storeu_pd(s1 + 4 * h, _mm256_add_pd(_mm256_loadu_pd(s1 + 4 * h), _mm256_add_pd(nk, sd)));
      const __m256d m2 = _mm256_fmadd_pd(kd, _mm256_fmadd_pd(two, sd, nk), qd);
      _mm256_storeu_pd(s2 + 4 * h, _mm256_add_pd(_mm256_loadu_pd(s2 + 4 * h), m2));
    }
  }
  // The same for the first `lanes` lanes, with the same roundings.
  static void add_moments_tail(double* s1, double* s2, reg k, reg s, reg q, double n, int lanes) {
    alignas(32) float kf[W], sf[W], qf[W];
    _mm256_store_ps(kf, k);
    _mm256_store_ps(sf, s);
    _mm256_store_ps(qf, q);
    for (int i = 0; i < lanes; ++i) {
      const double kd = kf[i], sd = sf[i], nk = n * kd;
      s1[i] += nk + sd;
      s2[i] += std::fma(kd, std::fma(2.0, sd, nk), static_cast<double>(qf[i]));
    }
  }
};

}  // namespace skingen::ops
