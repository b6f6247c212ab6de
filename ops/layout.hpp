#pragma once
// Activations are fp32 NHWC ([N, H, W, C], channels contiguous) everywhere
// inside the engine: oneDNN's fastest convolutions on this machine take NHWC
// (brgconv on AVX-512, jit:avx2 otherwise) and the transformer blocks read the
// same memory as a [N, H*W, C] token matrix without a copy. Model inputs and
// outputs are NCHW; these convert at the edges.
#include "engine/core/buffer_pool.hpp"
#include "engine/core/tensor.hpp"
#include "ops/context.hpp"

namespace skingen::ops {

using engine::BufferPool;
using engine::Shape;
using engine::Tensor;

// [N, C, H, W] → [N, H, W, C]
Tensor nchw_to_nhwc(Context& ctx, BufferPool& pool, const Tensor& x);
// [N, H, W, C] → [N, C, H, W]
Tensor nhwc_to_nchw(Context& ctx, BufferPool& pool, const Tensor& x);

}  // namespace skingen::ops
