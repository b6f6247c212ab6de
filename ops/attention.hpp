#pragma once
// Multi-head scaled dot-product attention, tiled with an online (streaming)
// softmax: extra memory is bounded by the tile size, never by Tq × Tk.
#include "ops/layout.hpp"

namespace skingen::ops {

struct AttentionOptions {
  int heads = 1;
  float scale = 0.0f;   // 0: 1/sqrt(head_dim)
  bool causal = false;  // query i sees keys 0..i (CLIP text encoder)
};

// q: [N, Tq, heads·d], k and v: [N, Tk, heads·d] (head h is the slice h·d..h·d+d-1
// of the last axis, as diffusers' head_to_batch_dim) → [N, Tq, heads·d].
Tensor attention(Context& ctx, BufferPool& pool, const Tensor& q, const Tensor& k, const Tensor& v,
                 const AttentionOptions& options);

}  // namespace skingen::ops
