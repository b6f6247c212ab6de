#include "ops/attention.hpp"

#include <immintrin.h>
#include <omp.h>

#include <cmath>
#include <cstdint>

#include "ops/attention_dispatch.hpp"
#include "ops/check.hpp"
#include "ops/simd_math.hpp"
// After every other include: templates only (see the header).
#include "ops/attention_kernel.hpp"

namespace skingen::ops {
namespace attention_detail {
namespace {

// AVX2 + FMA, 16 ymm registers.
struct Avx2 {
  using reg = __m256;
  static constexpr int W = 8;
  static reg zero() { return _mm256_setzero_ps(); }
  static reg set1(float x) { return _mm256_set1_ps(x); }
  static reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, reg v) { _mm256_storeu_ps(p, v); }
  static reg bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static reg fmsub(reg a, reg b, reg c) { return _mm256_fmsub_ps(a, b, c); }
  static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm256_sub_ps(a, b); }
  static bool all_equal(reg a, reg b) { return _mm256_movemask_ps(_mm256_cmp_ps(a, b, _CMP_NEQ_UQ)) == 0; }
  static reg min(reg a, reg b) { return _mm256_min_ps(a, b); }
  static float reduce_max(reg v) { return simd::hmax(v); }
  static reg max(reg a, reg b) { return _mm256_max_ps(a, b); }
  static reg exp2(reg t) { return simd::exp2_nonpositive(t); }
  static reg iota_plus(float base) {
    return _mm256_add_ps(_mm256_set1_ps(base), _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7));
  }
  // a where query ≥ key, else 0 / else `other`.
  static reg keep_if_ge(reg a, reg query, reg key) { return _mm256_and_ps(a, _mm256_cmp_ps(query, key, _CMP_GE_OQ)); }
  static reg select_ge(reg a, reg other, reg query, reg key) {
    return _mm256_blendv_ps(other, a, _mm256_cmp_ps(query, key, _CMP_GE_OQ));
  }
};

// 6 keys × 2 vectors for scores and 6 dims × 2 vectors for values: 12
// accumulators + 2 loads + 1 broadcast of the 16 registers.
using KernelAvx2 = Kernel<Avx2, 6, 2, 6, 2>;

}  // namespace

KernelInfo kernel_avx2() {
  return KernelInfo{KernelAvx2::kQueryGroup, KernelAvx2::kKeyGroup, &KernelAvx2::run, "avx2"};
}

}  // namespace attention_detail

Tensor attention(Context& ctx, BufferPool& pool, const Tensor& q, const Tensor& k, const Tensor& v,
                 const AttentionOptions& options) {
  constexpr const char* op = "attention";
  require_f32(q, op, "q", 3);
  require_f32(k, op, "k", 3);
  require_f32(v, op, "v", 3);
  const std::int64_t n = q.dim(0), tq = q.dim(1), ch = q.dim(2), tk = k.dim(1);
  require(k.dim(0) == n && v.dim(0) == n && k.dim(2) == ch && v.dim(2) == ch && v.dim(1) == tk, op,
          "q " + engine::shape_str(q.shape()) + ", k " + engine::shape_str(k.shape()) + ", v " +
              engine::shape_str(v.shape()) + " must be [N, Tq, C], [N, Tk, C], [N, Tk, C]");
  require(options.heads >= 1 && ch % options.heads == 0, op,
          std::to_string(ch) + " channels do not split into " + std::to_string(options.heads) + " heads");
  require(tk >= 1 || tq == 0, op, "at least one key is needed");
  require(options.scale >= 0.0f, op, "scale must be positive (0: 1/sqrt(head_dim))");
  const int heads = options.heads;
  const int d = static_cast<int>(ch / heads);
  Tensor y = pool.take_f32({n, tq, ch});
  if (y.numel() == 0) return y;

  const auto kernel = attention_detail::select_kernel(options.isa);
  const float scale =
      options.scale > 0.0f ? options.scale : static_cast<float>(1.0 / std::sqrt(static_cast<double>(d)));
  const auto plan = attention_detail::plan_tiles(kernel, tq, tk, d);

  const int threads = ctx.threads();
  const std::int64_t per_thread = (attention_detail::task_workspace_floats(d, plan.bq, plan.bk) + 15) / 16 * 16;
  Tensor work = pool.take_f32({threads, per_thread});
  float* ws = work.f32_mut();

  const std::int64_t q_tiles = (tq + plan.bq - 1) / plan.bq;
  const std::int64_t tasks = n * heads * q_tiles;
  const float* qp = q.f32_data();
  const float* kp = k.f32_data();
  const float* vp = v.f32_data();
  float* op_out = y.f32_mut();
  const float c = scale * simd::kLog2e;
  // Each task owns distinct output rows and sums in a fixed order, so the
  // dynamic schedule (which balances causal tiles and a busy core) cannot
  // change a single bit of the result.
#pragma omp parallel num_threads(threads)
  {
    float* mine = ws + omp_get_thread_num() * per_thread;
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t task = 0; task < tasks; ++task) {
      const std::int64_t b = task / (heads * q_tiles);
      const std::int64_t h = (task / q_tiles) % heads;
      const std::int64_t qt = task % q_tiles;
      const std::int64_t q0 = qt * plan.bq;
      const std::int64_t nq = std::min(plan.bq, tq - q0);
      const attention_detail::Slice s{qp + b * tq * ch + h * d,
                                      kp + b * tk * ch + h * d,
                                      vp + b * tk * ch + h * d,
                                      op_out + b * tq * ch + h * d,
                                      ch,
                                      ch,
                                      ch,
                                      ch,
                                      tq,
                                      tk,
                                      d,
                                      c,
                                      options.causal};
      const std::int64_t bq_task = (nq + kernel.query_group - 1) / kernel.query_group * kernel.query_group;
      kernel.run(s, q0, nq, bq_task, plan.bk, mine);
    }
  }
  return y;
}

}  // namespace skingen::ops
