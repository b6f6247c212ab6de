#include "engine/lora_gemm.hpp"

#include <omp.h>

namespace skingen::engine {

using dnnl::memory;

const LoraGemm::Entry& LoraGemm::entry(const Key& key) {
  if (const auto it = cache_.find(key); it != cache_.end()) return it->second;
  const auto [m, k, n, trans_a, accumulate, threads] = key;
  const auto f32 = memory::data_type::f32;
  Entry e;
  e.a = trans_a ? memory::desc({m, k}, f32, memory::dims{1, m}) : memory::desc({m, k}, f32, memory::format_tag::ab);
  e.b = memory::desc({k, n}, f32, memory::format_tag::ab);
  e.c = memory::desc({m, n}, f32, memory::format_tag::ab);
  e.scale = memory::desc({1}, f32, memory::format_tag::a);
  dnnl::primitive_attr attr;
  // oneDNN 2.x: output scales apply to A·B before the post-ops, the sum post-op adds the old C.
  attr.set_output_scales(0, {DNNL_RUNTIME_F32_VAL});
  if (accumulate) {
    dnnl::post_ops po;
    po.append_sum(1.0f);
    attr.set_post_ops(po);
  }
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(e.a, e.b, e.c), attr, ctx_->engine());
  e.prim = dnnl::matmul(pd);
  return cache_.emplace(key, std::move(e)).first->second;
}

void LoraGemm::run(const float* a, bool trans_a, const float* b, float* c, std::int64_t m, std::int64_t k,
                   std::int64_t n, float s, bool accumulate) {
  if (m == 0 || n == 0) return;
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(k) * static_cast<double>(n);
  if (flops < kTinyFlops) {
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        float acc = 0;
        for (std::int64_t x = 0; x < k; ++x) acc += (trans_a ? a[x * m + i] : a[i * k + x]) * b[x * n + j];
        c[i * n + j] = s * acc + (accumulate ? c[i * n + j] : 0.0f);
      }
    flops_ += flops;
    return;
  }
  // oneDNN (OpenMP build) fixes a primitive's thread count when it is created and runs a
  // one-thread primitive without a parallel region: create and run small ones under 1 thread.
  const int threads = flops < single_thread_flops_ ? 1 : ctx_->threads();
  struct ThreadScope {
    int restore;
    explicit ThreadScope(int t, int r) : restore(r) { omp_set_num_threads(t); }
    ~ThreadScope() { omp_set_num_threads(restore); }
  } scope(threads, ctx_->threads());
  const Entry& e = entry({m, k, n, trans_a, accumulate, threads});
  const auto& eng = ctx_->engine();
  // oneDNN reads through non-const handles; the inputs are not written.
  memory am(e.a, eng, const_cast<float*>(a));
  memory bm(e.b, eng, const_cast<float*>(b));
  memory cm(e.c, eng, c);
  memory sm(e.scale, eng, &s);
  e.prim.execute(ctx_->stream(), {{DNNL_ARG_SRC, am},
                                  {DNNL_ARG_WEIGHTS, bm},
                                  {DNNL_ARG_DST, cm},
                                  {DNNL_ARG_ATTR_OUTPUT_SCALES, sm}});
  ctx_->stream().wait();
  flops_ += flops;
}

}  // namespace skingen::engine
