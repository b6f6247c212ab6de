#include "ops/norm.hpp"

#include <algorithm>
#include <cmath>

#include "ops/check.hpp"
#include "ops/norm_detail.hpp"
#include "ops/parallel.hpp"
#include "ops/simd_math.hpp"

namespace skingen::ops {
namespace {

inline __m256d lo4(__m256 v) { return _mm256_cvtps_pd(_mm256_castps256_ps128(v)); }
inline __m256d hi4(__m256 v) { return _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)); }

}  // namespace

Tensor layer_norm(Context& ctx, BufferPool& pool, const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps) {
  constexpr const char* op = "layer_norm";
  require_f32(x, op, "x");
  const std::int64_t c = x.dim(-1);
  norm_detail::check_affine(gamma, beta, c, op);
  const std::int64_t rows = c ? x.numel() / c : 0;
  Tensor y = pool.take_f32(x.shape());
  const float* src = x.f32_data();
  float* dst = y.f32_mut();
  const float* g = gamma.f32_data();
  const float* be = beta.f32_data();
  const std::int64_t rows_per_chunk = std::max<std::int64_t>(1, (1 << 14) / std::max<std::int64_t>(c, 1));
  parallel_chunks(ctx, rows, rows_per_chunk, [&](std::int64_t s, std::int64_t e) {
    for (std::int64_t r = s; r < e; ++r) {
      const float* in = src + r * c;
      float* out = dst + r * c;
      // Two passes over the row (it stays in L1): mean, then Σ(x - mean)², in double.
      __m256d acc0 = _mm256_setzero_pd(), acc1 = acc0;
      std::int64_t i = 0;
      for (; i + 8 <= c; i += 8) {
        const __m256 v = _mm256_loadu_ps(in + i);
        acc0 = _mm256_add_pd(acc0, lo4(v));
        acc1 = _mm256_add_pd(acc1, hi4(v));
      }
      alignas(32) double tmp[4];
      _mm256_store_pd(tmp, _mm256_add_pd(acc0, acc1));
      double sum = (tmp[0] + tmp[1]) + (tmp[2] + tmp[3]);
      for (; i < c; ++i) sum += in[i];
      const double mean = sum / static_cast<double>(c);
      const __m256d vm = _mm256_set1_pd(mean);
      acc0 = _mm256_setzero_pd();
      acc1 = acc0;
      for (i = 0; i + 8 <= c; i += 8) {
        const __m256 v = _mm256_loadu_ps(in + i);
        const __m256d d0 = _mm256_sub_pd(lo4(v), vm), d1 = _mm256_sub_pd(hi4(v), vm);
        acc0 = _mm256_fmadd_pd(d0, d0, acc0);
        acc1 = _mm256_fmadd_pd(d1, d1, acc1);
      }
      _mm256_store_pd(tmp, _mm256_add_pd(acc0, acc1));
      double sq = (tmp[0] + tmp[1]) + (tmp[2] + tmp[3]);
      for (; i < c; ++i) sq += (in[i] - mean) * (in[i] - mean);
      const double rstd = 1.0 / std::sqrt(sq / static_cast<double>(c) + static_cast<double>(eps));
      // ((x - m_hi) - m_lo)·rstd·γ + β, the mean as a float pair (see group_norm.cpp).
      float hi, lo;
      norm_detail::split(mean, &hi, &lo);
      const __m256 vh = _mm256_set1_ps(hi), vl = _mm256_set1_ps(lo);
      const __m256 vr = _mm256_set1_ps(static_cast<float>(rstd));
      for (i = 0; i + 8 <= c; i += 8) {
        const __m256 z = _mm256_mul_ps(_mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(in + i), vh), vl), vr);
        _mm256_storeu_ps(out + i, _mm256_fmadd_ps(z, _mm256_loadu_ps(g + i), _mm256_loadu_ps(be + i)));
      }
      if (i < c) {
        const __m256i m = simd::tail_mask(static_cast<int>(c - i));
        const __m256 z = _mm256_mul_ps(_mm256_sub_ps(_mm256_sub_ps(_mm256_maskload_ps(in + i, m), vh), vl), vr);
        _mm256_maskstore_ps(out + i, m,
                            _mm256_fmadd_ps(z, _mm256_maskload_ps(g + i, m), _mm256_maskload_ps(be + i, m)));
      }
    }
  });
  return y;
}

}  // namespace skingen::ops
