#pragma once
// Multi-head scaled dot-product attention, tiled with an online (streaming)
// softmax: extra memory is bounded by the tile size, never by Tq × Tk.
#include <string>

#include "ops/isa.hpp"
#include "ops/layout.hpp"

namespace skingen::ops {

struct AttentionOptions {
  int heads = 1;
  float scale = 0.0f;   // 0: 1/sqrt(head_dim)
  bool causal = false;  // query i sees keys 0..i (CLIP text encoder)
  Isa isa = Isa::Auto;  // which microkernel runs (ops/isa.hpp)
};

// q: [N, Tq, heads·d], k and v: [N, Tk, heads·d] (head h is the slice h·d..h·d+d-1
// of the last axis, as diffusers' head_to_batch_dim) → [N, Tq, heads·d].
Tensor attention(Context& ctx, BufferPool& pool, const Tensor& q, const Tensor& k, const Tensor& v,
                 const AttentionOptions& options);

// Name of the microkernel `attention` runs with `isa` on this CPU ("avx512", "avx2").
std::string attention_kernel_name(Isa isa = Isa::Auto);

// FLOPs of the two matmuls (QKᵀ and PV) of one call, counting the causal
// mask's skipped half as work (the convention of the benchmark).
double attention_flops(std::int64_t n, std::int64_t tq, std::int64_t tk, std::int64_t channels);

}  // namespace skingen::ops
