#pragma once
// The transformer pieces of the UNet (diffusers attention_processor.py
// Attention, attention.py BasicTransformerBlock / FeedForward / GEGLU;
// CompVis ldm/modules/attention.py CrossAttention, BasicTransformerBlock).
#include <optional>

#include "models/layers.hpp"
#include "ops/attention.hpp"

namespace skingen::models {

// Multi-head attention: to_q, to_k, to_v without bias, to_out.0 with bias.
class Attention {
 public:
  Attention(ops::Context& ctx, const WeightScope& ws, int query_dim, int context_dim, int heads);
  // x: [N, Tq, C]; context: [N, Tk, context_dim] (x itself for self-attention);
  // residual: [N, Tq, C] added to the output (fused into to_out) → [N, Tq, C]
  Tensor forward(const RunContext& rc, const Tensor& x, const Tensor& context, const Tensor& residual) const;

 private:
  int heads_;
  ops::Linear to_q, to_k, to_v, to_out;
};

// GEGLU feed-forward: net.0.proj (C → 2·inner), x·gelu(gate), net.2 (inner → C).
class FeedForward {
 public:
  FeedForward(ops::Context& ctx, const WeightScope& ws, int dim, int mult = 4);
  Tensor forward(const RunContext& rc, const Tensor& x, const Tensor& residual) const;

 private:
  ops::Linear proj, out;
};

class BasicTransformerBlock {
 public:
  BasicTransformerBlock(ops::Context& ctx, const WeightScope& ws, int dim, int context_dim, int heads, float ln_eps);
  // x: [N, T, dim]; context: [N, 77, context_dim] → [N, T, dim]
  Tensor forward(const RunContext& rc, const Tensor& x, const Tensor& context) const;

 private:
  LayerNorm norm1;
  Attention attn1;
  LayerNorm norm2;
  Attention attn2;
  LayerNorm norm3;
  FeedForward ff;
};

// Transformer2DModel / SpatialTransformer: GroupNorm, proj_in, blocks, proj_out, residual.
class Transformer2DModel {
 public:
  struct Config {
    int channels;
    int heads;
    int depth;
    int context_dim;
    int groups;
    float norm_eps;    // GroupNorm, 1e-6 upstream
    float ln_eps;      // LayerNorm, 1e-5
  };
  Transformer2DModel(ops::Context& ctx, const WeightScope& ws, const Config& cfg);
  // x: [N, H, W, C]; context: [N, 77, context_dim] → [N, H, W, C]
  Tensor forward(const RunContext& rc, const Tensor& x, const Tensor& context) const;

 private:
  GroupNorm norm;
  ops::Linear proj_in;
  std::vector<BasicTransformerBlock> transformer_blocks;
  ops::Linear proj_out;
};

}  // namespace skingen::models
