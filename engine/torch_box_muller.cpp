// The Box–Muller transform of torch's AVX2 normal kernel, reproduced to the
// bit. PyTorch's `normal_fill_16_AVX2` (native/cpu/DistributionTemplates.h)
// calls `log256_ps` and `sincos256_ps` from native/cpu/avx_mathfun.h (Julien
// Pommier's Cephes-based sse_mathfun, AVX port by Giovanni Garberoglio). The
// constants below are the Cephes constants of those functions.
//
// PyTorch's binary is built by GCC with -mfma and GCC's default
// -ffp-contract=fast, so a multiply whose only use is an add or subtract
// becomes one fused multiply-add. Which pairs are fused was checked against
// `torch.randn` of PyTorch 1.13 on 4 × 2²⁰ values (zero mismatches; without
// the fusion about 1 % of the values differ in the last bit). Here every
// fusion is explicit and compiler contraction is switched off, so the result
// does not depend on this file's compiler flags.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

#include <immintrin.h>

#include "engine/rng_torch_cpu.hpp"

namespace skingen::engine {
namespace {

__m256 splat(float v) { return _mm256_set1_ps(v); }
__m256i splat_i(int v) { return _mm256_set1_epi32(v); }
__m256 bits(int v) { return _mm256_castsi256_ps(_mm256_set1_epi32(v)); }

// Natural logarithm (Cephes logf): x = m·2^e with m in [√½, √2), then a
// degree-8 polynomial in m − 1. Inputs here are in (0, 1].
__m256 log_cephes(__m256 x) {
  const __m256 one = splat(1.0f);
  const __m256 invalid = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LE_OS);
  x = _mm256_max_ps(x, bits(0x00800000));  // smallest normal float
  __m256i exponent = _mm256_srli_epi32(_mm256_castps_si256(x), 23);
  x = _mm256_or_ps(_mm256_and_ps(x, bits(~0x7f800000)), splat(0.5f));  // mantissa in [0.5, 1)
  exponent = _mm256_sub_epi32(exponent, splat_i(0x7f));
  __m256 e = _mm256_add_ps(_mm256_cvtepi32_ps(exponent), one);

  // if (x < √½) { e -= 1; x = x + x − 1 } else { x = x − 1 }
  const __m256 below = _mm256_cmp_ps(x, splat(0.707106781186547524f), _CMP_LT_OS);
  const __m256 extra = _mm256_and_ps(x, below);
  x = _mm256_sub_ps(x, one);
  e = _mm256_sub_ps(e, _mm256_and_ps(one, below));
  x = _mm256_add_ps(x, extra);

  const __m256 z = _mm256_mul_ps(x, x);
  __m256 y = splat(7.0376836292E-2f);
  y = _mm256_fmadd_ps(y, x, splat(-1.1514610310E-1f));
  y = _mm256_fmadd_ps(y, x, splat(1.1676998740E-1f));
  y = _mm256_fmadd_ps(y, x, splat(-1.2420140846E-1f));
  y = _mm256_fmadd_ps(y, x, splat(1.4249322787E-1f));
  y = _mm256_fmadd_ps(y, x, splat(-1.6668057665E-1f));
  y = _mm256_fmadd_ps(y, x, splat(2.0000714765E-1f));
  y = _mm256_fmadd_ps(y, x, splat(-2.4999993993E-1f));
  y = _mm256_fmadd_ps(y, x, splat(3.3333331174E-1f));
  y = _mm256_mul_ps(y, x);
  // y·z + e·q1: the product e·q1 is rounded on its own, y·z is fused.
  y = _mm256_fmadd_ps(y, z, _mm256_mul_ps(e, splat(-2.12194440e-4f)));
  y = _mm256_fnmadd_ps(z, splat(0.5f), y);  // y − z/2
  x = _mm256_add_ps(x, y);
  x = _mm256_fmadd_ps(e, splat(0.693359375f), x);
  return _mm256_or_ps(x, invalid);  // NaN for x ≤ 0
}

// sin and cos together (Cephes sinf/cosf): reduce by multiples of π/4 with
// the three-part π/4 (DP1 + DP2 + DP3), then the two minimax polynomials.
void sincos_cephes(__m256 x, __m256* s, __m256* c) {
  __m256 sign_sin = _mm256_and_ps(x, bits(static_cast<int>(0x80000000u)));
  x = _mm256_and_ps(x, bits(0x7fffffff));

  __m256i j = _mm256_cvttps_epi32(_mm256_mul_ps(x, splat(1.27323954473516f)));  // x·4/π
  j = _mm256_and_si256(_mm256_add_epi32(j, splat_i(1)), splat_i(~1));             // (j + 1) & ~1
  const __m256 y = _mm256_cvtepi32_ps(j);

  const __m256 swap_sign_sin = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_and_si256(j, splat_i(4)), 29));
  const __m256 poly_mask = _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(j, splat_i(2)), _mm256_setzero_si256()));

  x = _mm256_fmadd_ps(y, splat(-0.78515625f), x);
  x = _mm256_fmadd_ps(y, splat(-2.4187564849853515625e-4f), x);
  x = _mm256_fmadd_ps(y, splat(-3.77489497744594108e-8f), x);

  const __m256i jc = _mm256_slli_epi32(_mm256_andnot_si256(_mm256_sub_epi32(j, splat_i(2)), splat_i(4)), 29);
  const __m256 sign_cos = _mm256_castsi256_ps(jc);
  sign_sin = _mm256_xor_ps(sign_sin, swap_sign_sin);

  const __m256 z = _mm256_mul_ps(x, x);
  // Cosine polynomial for |x| ≤ π/4: 1 − z/2 + z²·P(z).
  const __m256 half_z = _mm256_mul_ps(z, splat(0.5f));
  __m256 yc = _mm256_fmadd_ps(splat(2.443315711809948E-005f), z, splat(-1.388731625493765E-003f));
  yc = _mm256_fmadd_ps(yc, z, splat(4.166664568298827E-002f));
  yc = _mm256_mul_ps(yc, z);
  yc = _mm256_fmsub_ps(yc, z, half_z);
  yc = _mm256_add_ps(yc, splat(1.0f));
  // Sine polynomial: x + x·z·Q(z).
  __m256 ys = _mm256_fmadd_ps(splat(-1.9515295891E-4f), z, splat(8.3321608736E-3f));
  ys = _mm256_fmadd_ps(ys, z, splat(-1.6666654611E-1f));
  ys = _mm256_mul_ps(ys, z);
  ys = _mm256_fmadd_ps(ys, x, x);

  // Pick per lane which polynomial is the sine and which the cosine; the
  // subtract-and-add form is the one avx_mathfun uses.
  const __m256 sin_from_s = _mm256_and_ps(poly_mask, ys);
  const __m256 sin_from_c = _mm256_andnot_ps(poly_mask, yc);
  ys = _mm256_sub_ps(ys, sin_from_s);
  yc = _mm256_sub_ps(yc, sin_from_c);
  *s = _mm256_xor_ps(_mm256_add_ps(sin_from_c, sin_from_s), sign_sin);
  *c = _mm256_xor_ps(_mm256_add_ps(yc, ys), sign_cos);
}

}  // namespace

void torch_box_muller_16(float* data) {
  const __m256 u1 = _mm256_sub_ps(splat(1.0f), _mm256_loadu_ps(data));  // [0, 1) → (0, 1]
  const __m256 u2 = _mm256_loadu_ps(data + 8);
  const __m256 radius = _mm256_sqrt_ps(_mm256_mul_ps(splat(-2.0f), log_cephes(u1)));
  // torch: _mm256_set1_ps(2.0f * c10::pi<double>), i.e. 2π rounded to float.
  const __m256 theta = _mm256_mul_ps(splat(static_cast<float>(2.0 * 3.14159265358979323846)), u2);
  __m256 sin_t, cos_t;
  sincos_cephes(theta, &sin_t, &cos_t);
  // torch stores fmadd(n, std, mean) with std = 1, mean = 0: exact, except
  // that it turns −0 into +0, which we keep.
  const __m256 zero = _mm256_setzero_ps();
  const __m256 one = splat(1.0f);
  _mm256_storeu_ps(data, _mm256_fmadd_ps(_mm256_mul_ps(radius, cos_t), one, zero));
  _mm256_storeu_ps(data + 8, _mm256_fmadd_ps(_mm256_mul_ps(radius, sin_t), one, zero));
}

}  // namespace skingen::engine
