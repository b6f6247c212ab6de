#include "ops/norm.hpp"

#include <algorithm>
#include <cmath>

#include "ops/check.hpp"
#include "ops/parallel.hpp"
#include "ops/simd_math.hpp"

namespace skingen::ops {
namespace {

// Positions per statistics chunk: a function of the shape only (never of the
// thread count), so the summation order and therefore every bit of the result
// is the same whatever --threads says. Up to 4 chunks per sample, so that
// 16×16 activations still split over the threads (below 64 rows a fork costs
// more than it saves).
std::int64_t stat_chunk(std::int64_t positions) { return std::clamp<std::int64_t>(positions / 4, 64, 256); }

// Outputs this large (bytes per sample) are written with non-temporal stores:
// they leave L3 anyway, and skipping the read-for-ownership saves a quarter
// of the normalise pass's memory traffic.
constexpr std::int64_t kStreamBytes = 8 << 20;

inline __m256d lo4(__m256 v) { return _mm256_cvtps_pd(_mm256_castps256_ps128(v)); }
inline __m256d hi4(__m256 v) { return _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)); }

// Per-channel Σx and Σx² over `rows` rows of `c` floats, in double. Rows are
// streamed in order (what the prefetchers follow best), four at a time, so
// the accumulators (s1, s2: c doubles each, in L1) are loaded and stored once
// per four rows. The summation order is fixed by (rows, c) alone.
void channel_sums(const float* x, std::int64_t rows, std::int64_t c, double* s1, double* s2) {
  for (std::int64_t ch = 0; ch < c; ++ch) s1[ch] = s2[ch] = 0.0;
  std::int64_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    const float* p0 = x + r * c;
    const float* p1 = p0 + c;
    const float* p2 = p1 + c;
    const float* p3 = p2 + c;
    std::int64_t ch = 0;
    for (; ch + 4 <= c; ch += 4) {
      const __m256d a0 = _mm256_cvtps_pd(_mm_loadu_ps(p0 + ch)), a1 = _mm256_cvtps_pd(_mm_loadu_ps(p1 + ch));
      const __m256d a2 = _mm256_cvtps_pd(_mm_loadu_ps(p2 + ch)), a3 = _mm256_cvtps_pd(_mm_loadu_ps(p3 + ch));
      const __m256d sum = _mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(a2, a3));
      const __m256d sq =
          _mm256_fmadd_pd(a3, a3, _mm256_fmadd_pd(a2, a2, _mm256_fmadd_pd(a1, a1, _mm256_mul_pd(a0, a0))));
      _mm256_storeu_pd(s1 + ch, _mm256_add_pd(_mm256_loadu_pd(s1 + ch), sum));
      _mm256_storeu_pd(s2 + ch, _mm256_add_pd(_mm256_loadu_pd(s2 + ch), sq));
    }
    for (; ch < c; ++ch) {
      const double a0 = p0[ch], a1 = p1[ch], a2 = p2[ch], a3 = p3[ch];
      s1[ch] += (a0 + a1) + (a2 + a3);
      s2[ch] += a0 * a0 + a1 * a1 + a2 * a2 + a3 * a3;
    }
  }
  for (; r < rows; ++r)
    for (std::int64_t ch = 0; ch < c; ++ch) {
      const double a = x[r * c + ch];
      s1[ch] += a;
      s2[ch] += a * a;
    }
}

// y = ((x - m_hi) - m_lo)·a + β per channel, then SiLU if asked. The mean
// travels as a float pair (m_hi + m_lo ≈ the double mean): x - m_hi is exact
// when x is near the mean (Sterbenz), so the result keeps full relative
// accuracy even when |mean| ≫ std, where the one-FMA form x·a + b loses
// log2(|mean|/std) bits (PyTorch's kernel uses that form).
struct ChannelAffine {
  const float* m_hi;
  const float* m_lo;
  const float* a;
  const float* beta;
};

void normalize_rows(const float* x, float* y, std::int64_t rows, std::int64_t c, const ChannelAffine& k, bool silu,
                    bool stream) {
  // stream: y rows are 32-byte aligned (c % 8 == 0 and an aligned base).
  auto store = [stream](float* p, __m256 v) { stream ? _mm256_stream_ps(p, v) : _mm256_storeu_ps(p, v); };
  auto affine = [&](const float* in, std::int64_t i) {
    const __m256 d =
        _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(in + i), _mm256_loadu_ps(k.m_hi + i)), _mm256_loadu_ps(k.m_lo + i));
    return _mm256_fmadd_ps(d, _mm256_loadu_ps(k.a + i), _mm256_loadu_ps(k.beta + i));
  };
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* in = x + r * c;
    float* out = y + r * c;
    std::int64_t i = 0;
    if (silu) {
      // Four independent SiLUs per step: the exp chains interleave (≈25 % faster).
      for (; i + 32 <= c; i += 32) {
        __m256 v[4] = {affine(in, i), affine(in, i + 8), affine(in, i + 16), affine(in, i + 24)};
        simd::silu4(v);
        for (int u = 0; u < 4; ++u) store(out + i + 8 * u, v[u]);
      }
    }
    for (; i + 8 <= c; i += 8) {
      __m256 v = affine(in, i);
      if (silu) v = simd::silu(v);
      store(out + i, v);
    }
    if (i < c) {
      const __m256i m = simd::tail_mask(static_cast<int>(c - i));
      const __m256 d = _mm256_sub_ps(_mm256_sub_ps(_mm256_maskload_ps(in + i, m), _mm256_maskload_ps(k.m_hi + i, m)),
                                     _mm256_maskload_ps(k.m_lo + i, m));
      __m256 v = _mm256_fmadd_ps(d, _mm256_maskload_ps(k.a + i, m), _mm256_maskload_ps(k.beta + i, m));
      if (silu) v = simd::silu(v);
      _mm256_maskstore_ps(out + i, m, v);
    }
  }
}

void split(double v, float* hi, float* lo) {
  *hi = static_cast<float>(v);
  *lo = static_cast<float>(v - static_cast<double>(*hi));
}

void check_affine(const Tensor& gamma, const Tensor& beta, std::int64_t c, const char* op) {
  require_f32(gamma, op, "gamma", 1);
  require_f32(beta, op, "beta", 1);
  require(gamma.dim(0) == c && beta.dim(0) == c, op,
          "gamma " + engine::shape_str(gamma.shape()) + " and beta " + engine::shape_str(beta.shape()) + " must be [" +
              std::to_string(c) + "]");
}

}  // namespace

Tensor group_norm(Context& ctx, BufferPool& pool, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                  const GroupNormOptions& options) {
  constexpr const char* op = "group_norm";
  require_f32(x, op, "x");
  require(x.ndim() >= 2, op, "x must be [N, ..., C], got " + engine::shape_str(x.shape()));
  const std::int64_t n = x.dim(0), c = x.dim(-1);
  const std::int64_t groups = options.groups;
  require(groups >= 1 && c % groups == 0, op,
          std::to_string(c) + " channels do not split into " + std::to_string(groups) + " groups");
  check_affine(gamma, beta, c, op);
  const float* t = nullptr;
  if (options.add_before) {
    require_f32(*options.add_before, op, "add_before", 2);
    require(options.add_before->dim(0) == n && options.add_before->dim(1) == c, op,
            "add_before must be [" + std::to_string(n) + ", " + std::to_string(c) + "], got " +
                engine::shape_str(options.add_before->shape()));
    t = options.add_before->f32_data();
  }
  const std::int64_t positions = n && c ? x.numel() / (n * c) : 0;
  const std::int64_t chunk = stat_chunk(positions);
  const std::int64_t chunks = std::max<std::int64_t>(1, (positions + chunk - 1) / chunk);
  const bool stream = c % 8 == 0 && positions * c * 4 >= kStreamBytes;
  const std::int64_t cg = c / groups;

  // Sample by sample, so that the second read of a sample still finds it in
  // L3 (a whole SD activation at 64×64×640 does not fit).
  Tensor partial = pool.take(engine::DType::F64, {chunks, 2, c});  // per-chunk, per-channel Σx, Σx²
  auto* part = static_cast<double*>(partial.raw_mut());
  Tensor coef = pool.take_f32({4, c});
  float* m_hi = coef.f32_mut();
  float* m_lo = m_hi + c;
  float* scale = m_lo + c;
  float* shift_beta = scale + c;
  const float* g = gamma.f32_data();
  const float* be = beta.f32_data();
  const double count = static_cast<double>(positions) * static_cast<double>(cg);
  Tensor y = pool.take_f32(x.shape());
  for (std::int64_t b = 0; b < n; ++b) {
    const float* src = x.f32_data() + b * positions * c;
    float* dst = y.f32_mut() + b * positions * c;
    parallel_for(ctx, chunks, [&](std::int64_t k) {
      const std::int64_t p0 = k * chunk, p1 = std::min(positions, p0 + chunk);
      channel_sums(src + p0 * c, p1 - p0, c, part + k * 2 * c, part + k * 2 * c + c);
    });
    // Per group: mean and variance in double (fixed order), then per channel
    // the shift (mean - t) as a float pair and the scale rstd·γ.
    for (std::int64_t gi = 0; gi < groups; ++gi) {
      double s1 = 0, s2 = 0;
      for (std::int64_t ch = gi * cg; ch < (gi + 1) * cg; ++ch) {
        double c1 = 0, c2 = 0;
        for (std::int64_t k = 0; k < chunks; ++k) {
          c1 += part[k * 2 * c + ch];
          c2 += part[k * 2 * c + c + ch];
        }
        if (t) {  // Σ(x+t) and Σ(x+t)² from Σx and Σx²
          const double tv = t[b * c + ch];
          c2 += 2.0 * tv * c1 + static_cast<double>(positions) * tv * tv;
          c1 += static_cast<double>(positions) * tv;
        }
        s1 += c1;
        s2 += c2;
      }
      const double mean = count > 0 ? s1 / count : 0.0;
      const double var = count > 0 ? std::max(0.0, s2 / count - mean * mean) : 0.0;
      const double rstd = 1.0 / std::sqrt(var + static_cast<double>(options.eps));
      for (std::int64_t ch = gi * cg; ch < (gi + 1) * cg; ++ch) {
        // (x + t) - mean = x - (mean - t)
        split(mean - (t ? t[b * c + ch] : 0.0), &m_hi[ch], &m_lo[ch]);
        scale[ch] = static_cast<float>(rstd * g[ch]);
        shift_beta[ch] = be[ch];
      }
    }
    const ChannelAffine affine{m_hi, m_lo, scale, shift_beta};
    const std::int64_t rows_per_chunk = std::max<std::int64_t>(1, (1 << 14) / std::max<std::int64_t>(c, 1));
    parallel_chunks(ctx, positions, rows_per_chunk, [&](std::int64_t s0, std::int64_t e0) {
      normalize_rows(src + s0 * c, dst + s0 * c, e0 - s0, c, affine, options.silu, stream);
      if (stream) _mm_sfence();
    });
  }
  return y;
}

Tensor layer_norm(Context& ctx, BufferPool& pool, const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps) {
  constexpr const char* op = "layer_norm";
  require_f32(x, op, "x");
  const std::int64_t c = x.dim(-1);
  check_affine(gamma, beta, c, op);
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
      // ((x - m_hi) - m_lo)·rstd·γ + β, the mean as a float pair (see normalize_rows).
      float hi, lo;
      split(mean, &hi, &lo);
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
