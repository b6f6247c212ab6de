#pragma once
// Bandwidth-bound ops on fp32 tensors. Each returns a new tensor from `pool`
// unless it says "in place".
#include <string>

#include "ops/isa.hpp"
#include "ops/layout.hpp"

namespace skingen::ops {

Tensor silu(Context& ctx, BufferPool& pool, const Tensor& x);
// Exact, with erf. isa: which loops run (ops/isa.hpp); the same bits either way.
Tensor gelu(Context& ctx, BufferPool& pool, const Tensor& x, Isa isa = Isa::Auto);
Tensor quick_gelu(Context& ctx, BufferPool& pool, const Tensor& x);  // x·sigmoid(1.702x) (CLIP)
// x: [..., 2F] → [..., F]: first half · gelu(second half) (diffusers GEGLU).
Tensor geglu(Context& ctx, BufferPool& pool, const Tensor& x, Isa isa = Isa::Auto);
// Name of the loops gelu and geglu run with `isa` on this CPU ("avx512", "avx2").
std::string gelu_kernel_name(Isa isa = Isa::Auto);
// Softmax over the last axis.
Tensor softmax(Context& ctx, BufferPool& pool, const Tensor& x);

// a + b, a · b. b broadcasts numpy-style (e.g. [C] or [N, 1, 1, C] against [N, H, W, C]).
Tensor add(Context& ctx, BufferPool& pool, const Tensor& a, const Tensor& b);
Tensor mul(Context& ctx, BufferPool& pool, const Tensor& a, const Tensor& b);
void add_in_place(Context& ctx, Tensor& a, const Tensor& b);
void scale_in_place(Context& ctx, Tensor& a, float s);

// NHWC [N, H, W, C] → [N, 2H, 2W, C], nearest neighbour.
Tensor upsample_nearest2x(Context& ctx, BufferPool& pool, const Tensor& x);
// Along the last axis: [..., C1] ++ [..., C2] → [..., C1 + C2] (the UNet's skip concat in NHWC).
Tensor concat_channels(Context& ctx, BufferPool& pool, const Tensor& a, const Tensor& b);

// SD's sinusoidal timestep embedding (CompVis openaimodel.py timestep_embedding,
// diffusers get_timestep_embedding with flip_sin_to_cos=True, shift 0):
// freqs_i = exp(-ln(max_period)·i/half), output [cos(t·f), sin(t·f)] per row. t: [N] → [N, dim].
Tensor timestep_embedding(Context& ctx, BufferPool& pool, const Tensor& t, int dim, float max_period = 10000.0f);

}  // namespace skingen::ops
