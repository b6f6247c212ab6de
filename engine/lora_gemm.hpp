#pragma once
// The one matrix product the LoRA merge needs, on oneDNN: C (+)= s · A · B in
// fp32, row-major, with the scale and the accumulation fused into the
// primitive (output scale + sum post-op), so that W += s · up @ down reads and
// writes W once. Primitives are cached per shape in this object (the UNet has
// a few dozen distinct shapes); the scale is a runtime argument.
#include <cstdint>
#include <map>
#include <tuple>

#include <dnnl.hpp>

#include "ops/context.hpp"

namespace skingen::engine {

class LoraGemm {
 public:
  // Products under `single_thread_flops` run on one thread: a rank-16 LoRA is
  // a hundred small products, and each parallel region costs a barrier that
  // a busy machine can stretch to a scheduler time slice.
  explicit LoraGemm(ops::Context& ctx, double single_thread_flops = kSingleThreadFlops)
      : ctx_(&ctx), single_thread_flops_(single_thread_flops) {}
  static constexpr double kSingleThreadFlops = 64e6;
  // Below this a plain loop: building (JIT-compiling) a oneDNN primitive costs
  // milliseconds, far more than a LoKr factor's 2×4 @ 4×2 product. Every
  // product of a real LoRA on an SD model is above it.
  static constexpr double kTinyFlops = 1e5;

  // c[M, N] = s · op(a)[M, K] · b[K, N] (+ c when `accumulate`). op(a) = a
  // stored [M, K], or a stored [K, M] read transposed when `trans_a`.
  void run(const float* a, bool trans_a, const float* b, float* c, std::int64_t m, std::int64_t k, std::int64_t n,
           float s, bool accumulate);

  double flops() const { return flops_; }  // 2·M·N·K summed over calls

 private:
  using Key = std::tuple<std::int64_t, std::int64_t, std::int64_t, bool, bool, int>;  // m, k, n, trans, acc, threads
  struct Entry {
    dnnl::matmul prim;
    dnnl::memory::desc a, b, c, scale;
  };
  ops::Context* ctx_;
  double single_thread_flops_;
  std::map<Key, Entry> cache_;
  double flops_ = 0;

  const Entry& entry(const Key& key);
};

}  // namespace skingen::engine
