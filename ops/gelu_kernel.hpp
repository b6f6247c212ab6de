#pragma once
// Exact GELU and GEGLU for any vector type with the VecAvx2 interface
// (vec_avx2.hpp). In a file compiled for AVX-512 include it after the target
// pragma, like vec_avx512.hpp.
//
// GELU(x) = x/2 · (1 + erf(x/√2)) with erf from Abramowitz & Stegun 7.1.26
// (absolute error ≤ 1.5e-7): erf(z) = sign(z)·(1 - t·r(t)·e^(-z²)),
// t = 1/(1 + p|z|). The same approximation as PyTorch's vectorised CPU erf
// (ATen vec256_float.h), which its GELU uses, so we round like the reference.
// e^x: Cody–Waite range reduction and the Cephes expf polynomial, as
// simd::exp. Four vectors at a time, step by step across them, so that their
// dependency chains interleave (one chain alone is latency-bound).
#include <immintrin.h>

#include <cstdint>
#include <initializer_list>

#include "ops/simd_math.hpp"
#include "ops/vec_map.hpp"

namespace skingen::ops::gelu_detail {

template <class V>
inline void exp4(typename V::reg x[4]) {
  using reg = typename V::reg;
  reg n[4], r[4], p[4];
  for (int i = 0; i < 4; ++i) {
    x[i] = V::min(V::max(x[i], V::set1(simd::kExpMin)), V::set1(simd::kExpMax));
    n[i] = V::round(V::mul(x[i], V::set1(simd::kLog2e)));
  }
  for (int i = 0; i < 4; ++i) r[i] = V::fnmadd(n[i], V::set1(simd::kLn2Hi), x[i]);
  for (int i = 0; i < 4; ++i) r[i] = V::fnmadd(n[i], V::set1(simd::kLn2Lo), r[i]);
  for (int i = 0; i < 4; ++i) p[i] = V::set1(1.9875691500e-4f);
  for (const float coef : {1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f})
    for (int i = 0; i < 4; ++i) p[i] = V::fma(p[i], r[i], V::set1(coef));
  for (int i = 0; i < 4; ++i) p[i] = V::add(V::fma(p[i], V::mul(r[i], r[i]), r[i]), V::set1(1.0f));
  for (int i = 0; i < 4; ++i) x[i] = V::scale_pow2(p[i], n[i]);
}

template <class V>
inline void gelu4(typename V::reg x[4]) {
  using reg = typename V::reg;
  const reg sign = V::set1(-0.0f);
  const reg one = V::set1(1.0f);
  reg z_sign[4], t[4], r[4], e[4];
  for (int i = 0; i < 4; ++i) {
    const reg z = V::mul(x[i], V::set1(0.70710678118654752f));
    z_sign[i] = V::bit_and(sign, z);
    t[i] = V::div(one, V::fma(V::set1(0.3275911f), V::bit_xor(z_sign[i], z), one));
    e[i] = V::bit_xor(sign, V::mul(z, z));
  }
  for (int i = 0; i < 4; ++i) r[i] = V::fma(V::set1(1.061405429f), t[i], V::set1(-1.453152027f));
  for (const float coef : {1.421413741f, -0.284496736f, 0.254829592f})
    for (int i = 0; i < 4; ++i) r[i] = V::fma(r[i], t[i], V::set1(coef));
  exp4<V>(e);
  for (int i = 0; i < 4; ++i) {
    // erf(|z|) = 1 - t·r·e, then the sign of z restored.
    const reg erf = V::bit_xor(z_sign[i], V::fnmadd(V::mul(e[i], t[i]), r[i], one));
    x[i] = V::mul(V::mul(V::set1(0.5f), x[i]), V::add(one, erf));
  }
}

// The same for one vector (tails).
template <class V>
inline typename V::reg gelu1(typename V::reg x) {
  typename V::reg v[4] = {x, x, x, x};
  gelu4<V>(v);
  return v[0];
}

// Both, as the functor map_span (vec_map.hpp) takes.
template <class V>
struct Gelu {
  void operator()(typename V::reg v[4]) const { gelu4<V>(v); }
  typename V::reg operator()(typename V::reg x) const { return gelu1<V>(x); }
};

// y[i] = GELU(x[i]) for i < n.
template <class V>
void gelu_span(const float* x, float* y, std::int64_t n) {
  map_span<V>(x, y, n, Gelu<V>{});
}

// Software prefetch distance in floats (2 KiB) for GEGLU's two interleaved
// input streams: the hardware prefetcher alone falls behind when each cache
// line takes ~40 cycles of GELU math (measured +20 % at 8192 × 2560 with
// eight-float vectors).
inline constexpr std::int64_t kGegluAhead = 512;

// Rows [r0, r1) of GEGLU: x rows of 2f (hidden, then gate: diffusers
// `proj(x).chunk(2)`), y rows of f = hidden · GELU(gate). stream:
// non-temporal stores; needs f % W == 0 and y aligned to W floats.
template <class V>
void geglu_rows(const float* x, float* y, std::int64_t r0, std::int64_t r1, std::int64_t f, bool stream) {
  constexpr int W = V::W;
  auto put = [stream](float* p, typename V::reg v) { stream ? V::stream(p, v) : V::store(p, v); };
  for (std::int64_t r = r0; r < r1; ++r) {
    const float* h = x + r * 2 * f;
    const float* g = h + f;
    float* o = y + r * f;
    std::int64_t i = 0;
    for (; i + 4 * W <= f; i += 4 * W) {
      for (int line = 0; line < 4 * W; line += 16) {
        _mm_prefetch(reinterpret_cast<const char*>(g + i + kGegluAhead + line), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(h + i + kGegluAhead + line), _MM_HINT_T0);
      }
      typename V::reg v[4];
      for (int u = 0; u < 4; ++u) v[u] = V::load(g + i + u * W);
      gelu4<V>(v);
      for (int u = 0; u < 4; ++u) put(o + i + u * W, V::mul(V::load(h + i + u * W), v[u]));
    }
    for (; i + W <= f; i += W) put(o + i, V::mul(V::load(h + i), gelu1<V>(V::load(g + i))));
    if (i < f) {
      const auto m = V::tail_mask(static_cast<int>(f - i));
      V::store_tail(o + i, V::mul(V::load_tail(h + i, m), gelu1<V>(V::load_tail(g + i, m))), m);
    }
  }
}

}  // namespace skingen::ops::gelu_detail
