// The attention microkernels for AVX-512 (zmm, 32 registers). Compiled with a
// target pragma that covers only the code below it: every header with inline
// functions is included *before* the pragma, and everything defined after it
// is local to this file (the Avx512 traits live in an anonymous namespace, so
// the kernel templates instantiated with them are too). Called only when the
// CPU reports AVX-512F/VL/DQ (attention_dispatch.cpp).
#include <immintrin.h>

#include <cstdint>

#include "ops/attention_dispatch.hpp"
#include "ops/simd_math.hpp"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx2,fma")
// GCC 12 warns about the deliberately undefined pass-through operand inside
// avx512fintrin.h's unmasked intrinsics (GCC bug 105593), not about our code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include "ops/attention_kernel.hpp"

namespace skingen::ops::attention_detail {
namespace {

struct Avx512 {
  using reg = __m512;
  static constexpr int W = 16;
  static reg zero() { return _mm512_setzero_ps(); }
  static reg set1(float x) { return _mm512_set1_ps(x); }
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, reg v) { _mm512_storeu_ps(p, v); }
  static reg bcast(const float* p) { return _mm512_set1_ps(*p); }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static reg fmsub(reg a, reg b, reg c) { return _mm512_fmsub_ps(a, b, c); }
  static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm512_sub_ps(a, b); }
  static bool all_equal(reg a, reg b) { return _mm512_cmp_ps_mask(a, b, _CMP_NEQ_UQ) == 0; }
  static reg min(reg a, reg b) { return _mm512_min_ps(a, b); }
  static float reduce_max(reg v) {
    const __m256 h =
        _mm256_max_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    return simd::hmax(h);
  }
  static reg max(reg a, reg b) { return _mm512_max_ps(a, b); }
  // 2^t, t ≤ 0: same polynomial as simd::exp2_nonpositive; vscalefps applies
  // 2^n and underflows to exactly 0. The clamp keeps -inf out of t - round(t).
  static reg exp2(reg t) {
    t = _mm512_max_ps(t, _mm512_set1_ps(-150.0f));
    const reg n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const reg f = _mm512_sub_ps(t, n);
    reg p = _mm512_set1_ps(simd::kExp2Poly[6]);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(simd::kExp2Poly[5]));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(simd::kExp2Poly[4]));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(simd::kExp2Poly[3]));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(simd::kExp2Poly[2]));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(simd::kExp2Poly[1]));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(simd::kExp2Poly[0]));
    return _mm512_scalef_ps(p, n);
  }
  static reg iota_plus(float base) {
    return _mm512_add_ps(_mm512_set1_ps(base), _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  }
  static reg keep_if_ge(reg a, reg query, reg key) {
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(query, key, _CMP_GE_OQ), a);
  }
  static reg select_ge(reg a, reg other, reg query, reg key) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(query, key, _CMP_GE_OQ), other, a);
  }
};

// 6 keys × 4 vectors (64 queries: every SD token count is a multiple) for
// scores, 5 dims × 4 vectors for values (5 divides the UNet's head dims 40,
// 80, 160): at most 24 accumulators + 4 loads + 1 broadcast of the 32 registers.
using KernelAvx512 = Kernel<Avx512, 6, 4, 5, 4>;

}  // namespace

KernelInfo kernel_avx512() {
  return KernelInfo{KernelAvx512::kQueryGroup, KernelAvx512::kKeyGroup, &KernelAvx512::run, "avx512"};
}

}  // namespace skingen::ops::attention_detail

#pragma GCC diagnostic pop
#pragma GCC pop_options
