// Group norm (+ time-embedding add, + SiLU) on channel-last data.
//
// Two passes: per-channel Σx, Σx² (in float over blocks of 16 rows, around
// each block's own mean, then in double), then y = ((x - m_hi) - m_lo)·a + β
// (+ SiLU). Every partition below depends on the shape only, never on the
// thread count, so the summation order and every bit of the result are the
// same whatever --threads says. The inner loops (group_norm_kernel.hpp) run
// on AVX-512 where the CPU has it, with the same bits as on AVX2.
//
// Samples are normalised in blocks: the whole batch when it fits in
// kWholeBatchBytes (it stays in L2/L3 between the passes, and one fork per
// pass instead of one per sample is what small shapes pay for), otherwise one
// sample at a time, so that the second read of a sample still finds it in L3
// (a whole SD activation at 64×64×640 does not fit). Tried and dropped, as no
// faster in side-by-side runs: gathering the statistics of the next sample
// (or half-sample) inside the normalise pass of the current one.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "ops/group_norm_dispatch.hpp"
#include "ops/norm.hpp"
#include "ops/norm_detail.hpp"
#include "ops/parallel.hpp"

namespace skingen::ops {
namespace {

using group_norm_detail::ChannelAffine;
using group_norm_detail::Kernels;

constexpr std::int64_t kWholeBatchBytes = 4 << 20;

// Outputs this large (bytes per sample) are written with non-temporal stores:
// they leave L3 anyway, and skipping the read-for-ownership saves a quarter
// of the normalise pass's memory traffic. 4 MB rather than 8: with the
// AVX-512 loops, 2×32×32×1920 and 2×32×32×1280 (7.9 and 5.2 MB per sample)
// ran 1.04–1.24× faster streamed; at 2 MB, 2×32×32×960 (3.9 MB) ran 0.91×.
// Tried and dropped too: normalising in channel slabs of whole groups small
// enough to stay in L3 between the passes (0.5–0.9×: strided rows), and the
// normalise pass walking each thread's rows backwards, most recently
// summed first (≤ 3 %, noise).
constexpr std::int64_t kStreamBytes = 4 << 20;

// Positions per statistics chunk: up to 4 per sample,
// so that 16×16 activations still split over the threads (below 64 rows a
// fork costs more than it saves).
std::int64_t stat_chunk(std::int64_t positions) { return std::clamp<std::int64_t>(positions / 4, 64, 256); }

// Channel blocks of the statistics pass: an 8×8 sample is a single
// position chunk and would give one thread all of it. Per-channel sums do not
// depend on how channels are grouped, so splitting them changes no bit. At
// least 64 channels per block, a multiple of 8.
std::int64_t stat_channel_block(std::int64_t chunks, std::int64_t c) {
  const std::int64_t blocks = std::clamp<std::int64_t>((4 + chunks - 1) / chunks, 1, std::max<std::int64_t>(1, c / 64));
  return std::max<std::int64_t>(1, std::min(c, ((c + blocks - 1) / blocks + 7) / 8 * 8));
}

// Per channel: the mean as a float pair (m_hi + m_lo ≈ the double mean), the
// scale a = rstd·γ and β. x - m_hi is exact when x is near the mean
// (Sterbenz), so the result keeps full relative accuracy even when
// |mean| ≫ std, where the one-FMA form x·a + b loses log2(|mean|/std) bits
// (PyTorch's kernel uses that form).
// Coefficients are stored as [4, C]: m_hi, m_lo, a, β.
ChannelAffine affine_at(const float* coef, std::int64_t c) { return {coef, coef + c, coef + 2 * c, coef + 3 * c}; }

// What every path needs to turn channel sums into coefficients.
struct GroupParams {
  std::int64_t c, groups, cg, positions;
  double eps;
  const float* gamma;
  const float* beta;
};

// Coefficients ([4, C]) of one sample from per-chunk sums
// laid out [chunks, 2, C] (Σx, Σx²). t: the sample's [C] time-embedding add,
// or null. Mean and variance per group in double, in a fixed order.
void group_coefficients(const GroupParams& p, const double* part, std::int64_t chunks, const float* t, float* coef) {
  const std::int64_t c = p.c, cg = p.cg;
  const double count = static_cast<double>(p.positions) * static_cast<double>(cg);
  const double positions = static_cast<double>(p.positions);
  for (std::int64_t gi = 0; gi < p.groups; ++gi) {
    double s1 = 0, s2 = 0;
    for (std::int64_t ch = gi * cg; ch < (gi + 1) * cg; ++ch) {
      double c1 = 0, c2 = 0;
      for (std::int64_t k = 0; k < chunks; ++k) {
        c1 += part[k * 2 * c + ch];
        c2 += part[k * 2 * c + c + ch];
      }
      if (t) {  // Σ(x+t) and Σ(x+t)² from Σx and Σx²
        const double tv = t[ch];
        c2 += 2.0 * tv * c1 + positions * tv * tv;
        c1 += positions * tv;
      }
      s1 += c1;
      s2 += c2;
    }
    const double mean = count > 0 ? s1 / count : 0.0;
    const double var = count > 0 ? std::max(0.0, s2 / count - mean * mean) : 0.0;
    const double rstd = 1.0 / std::sqrt(var + p.eps);
    for (std::int64_t ch = gi * cg; ch < (gi + 1) * cg; ++ch) {
      // (x + t) - mean = x - (mean - t)
      norm_detail::split(mean - (t ? t[ch] : 0.0), &coef[ch], &coef[c + ch]);
      coef[2 * c + ch] = static_cast<float>(rstd * p.gamma[ch]);
      coef[3 * c + ch] = p.beta[ch];
    }
  }
}

// Both passes over n consecutive samples. stream: write y with non-temporal
// stores (y rows aligned to the kernels' vector width).
void normalize_samples(Context& ctx, BufferPool& pool, const Kernels& kernels, const float* x, float* y,
                       std::int64_t n, const GroupParams& p, const float* t, bool silu, bool stream) {
  const std::int64_t c = p.c, positions = p.positions;
  const std::int64_t chunk = stat_chunk(positions);
  const std::int64_t chunks = std::max<std::int64_t>(1, (positions + chunk - 1) / chunk);
  const std::int64_t cblock = stat_channel_block(chunks, c);
  const std::int64_t cblocks = std::max<std::int64_t>(1, (c + cblock - 1) / cblock);
  Tensor partial = pool.take(engine::DType::F64, {n, chunks, 2, c});
  auto* part = static_cast<double*>(partial.raw_mut());
  parallel_for(ctx, n * chunks * cblocks, [&](std::int64_t item) {
    const std::int64_t s = item / (chunks * cblocks), k = item / cblocks % chunks, c0 = item % cblocks * cblock;
    const std::int64_t p0 = k * chunk, p1 = std::min(positions, p0 + chunk);
    double* acc = part + (s * chunks + k) * 2 * c;
    kernels.channel_sums(x + (s * positions + p0) * c + c0, p1 - p0, c, std::min(cblock, c - c0), acc + c0,
                         acc + c + c0);
  });
  Tensor coefs = pool.take_f32({n, 4, c});
  float* coef = coefs.f32_mut();
  for (std::int64_t s = 0; s < n; ++s)
    group_coefficients(p, part + s * chunks * 2 * c, chunks, t ? t + s * c : nullptr, coef + s * 4 * c);
  const std::int64_t rows_per_chunk = std::max<std::int64_t>(1, (1 << 14) / std::max<std::int64_t>(c, 1));
  parallel_chunks(ctx, n * positions, rows_per_chunk, [&](std::int64_t s0, std::int64_t e0) {
    for (std::int64_t r = s0; r < e0;) {  // a chunk may straddle two samples
      const std::int64_t s = r / positions, e = std::min(e0, (s + 1) * positions);
      kernels.normalize_rows(x + r * c, y + r * c, e - r, c, affine_at(coef + s * 4 * c, c), silu, stream);
      r = e;
    }
    if (stream) _mm_sfence();
  });
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
  norm_detail::check_affine(gamma, beta, c, op);
  const float* t = nullptr;
  if (options.add_before) {
    require_f32(*options.add_before, op, "add_before", 2);
    require(options.add_before->dim(0) == n && options.add_before->dim(1) == c, op,
            "add_before must be [" + std::to_string(n) + ", " + std::to_string(c) + "], got " +
                engine::shape_str(options.add_before->shape()));
    t = options.add_before->f32_data();
  }
  Tensor y = pool.take_f32(x.shape());
  const std::int64_t positions = n && c ? x.numel() / (n * c) : 0;
  if (positions == 0) return y;
  const GroupParams p{c, groups, c / groups, positions, static_cast<double>(options.eps),
                      gamma.f32_data(), beta.f32_data()};
  const std::int64_t sample_bytes = positions * c * 4;
  const std::int64_t block = n * sample_bytes <= kWholeBatchBytes ? n : 1;
  const Kernels kernels = group_norm_detail::select_kernels(options.isa);
  const bool stream = c % kernels.width == 0 && sample_bytes >= kStreamBytes &&
                      reinterpret_cast<std::uintptr_t>(y.f32_mut()) % (4 * kernels.width) == 0;
  for (std::int64_t b = 0; b < n; b += block) {
    const std::int64_t nb = std::min(block, n - b);
    normalize_samples(ctx, pool, kernels, x.f32_data() + b * positions * c, y.f32_mut() + b * positions * c, nb, p,
                      t ? t + b * c : nullptr, options.silu, stream);
  }
  return y;
}

std::string group_norm_kernel_name(Isa isa) { return group_norm_detail::select_kernels(isa).name; }

}  // namespace skingen::ops
