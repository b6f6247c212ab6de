#include "models/attention_block.hpp"

#include "ops/elementwise.hpp"

namespace skingen::models {

Attention::Attention(ops::Context& ctx, const WeightScope& ws, int query_dim, int context_dim, int heads)
    : heads_(heads),
      to_q(bind_linear(ctx, ws.sub("to_q"), query_dim, query_dim, false)),
      to_k(bind_linear(ctx, ws.sub("to_k"), context_dim, query_dim, false)),
      to_v(bind_linear(ctx, ws.sub("to_v"), context_dim, query_dim, false)),
      to_out(bind_linear(ctx, ws.sub("to_out").sub(0), query_dim, query_dim, true)) {}

Tensor Attention::forward(const RunContext& rc, const Tensor& x, const Tensor& context, const Tensor& residual) const {
  const Tensor q = to_q.forward(rc.ctx, rc.pool, x);        // [N, Tq, C]
  const Tensor k = to_k.forward(rc.ctx, rc.pool, context);  // [N, Tk, C]
  const Tensor v = to_v.forward(rc.ctx, rc.pool, context);  // [N, Tk, C]
  const Tensor o = ops::attention(rc.ctx, rc.pool, q, k, v, {.heads = heads_});  // [N, Tq, C]
  return to_out.forward(rc.ctx, rc.pool, o, {.residual = &residual});            // [N, Tq, C]
}

FeedForward::FeedForward(ops::Context& ctx, const WeightScope& ws, int dim, int mult)
    : proj(bind_linear(ctx, ws.sub("net").sub(0).sub("proj"), dim, 2 * mult * dim)),
      out(bind_linear(ctx, ws.sub("net").sub(2), mult * dim, dim)) {}

Tensor FeedForward::forward(const RunContext& rc, const Tensor& x, const Tensor& residual) const {
  const Tensor h = proj.forward(rc.ctx, rc.pool, x);          // [N, T, 2·inner]
  const Tensor g = ops::geglu(rc.ctx, rc.pool, h);            // [N, T, inner]
  return out.forward(rc.ctx, rc.pool, g, {.residual = &residual});  // [N, T, C]
}

BasicTransformerBlock::BasicTransformerBlock(ops::Context& ctx, const WeightScope& ws, int dim, int context_dim,
                                             int heads, float ln_eps)
    : norm1(ws.sub("norm1"), dim, ln_eps),
      attn1(ctx, ws.sub("attn1"), dim, dim, heads),
      norm2(ws.sub("norm2"), dim, ln_eps),
      attn2(ctx, ws.sub("attn2"), dim, context_dim, heads),
      norm3(ws.sub("norm3"), dim, ln_eps),
      ff(ctx, ws.sub("ff"), dim) {}

Tensor BasicTransformerBlock::forward(const RunContext& rc, const Tensor& x, const Tensor& context) const {
  Tensor n = norm1.forward(rc, x);                   // [N, T, C]
  Tensor h = attn1.forward(rc, n, n, x);             // [N, T, C] self-attention + residual
  n = norm2.forward(rc, h);
  h = attn2.forward(rc, n, context, h);              // cross-attention + residual
  n = norm3.forward(rc, h);
  return ff.forward(rc, n, h);                       // feed-forward + residual
}

Transformer2DModel::Transformer2DModel(ops::Context& ctx, const WeightScope& ws, const Config& c)
    : norm(ws.sub("norm"), c.channels, c.groups, c.norm_eps),
      proj_in(bind_linear(ctx, ws.sub("proj_in"), c.channels, c.channels)),
      proj_out(bind_linear(ctx, ws.sub("proj_out"), c.channels, c.channels)) {
  const auto blocks = ws.sub("transformer_blocks");
  for (int i = 0; i < c.depth; ++i)
    transformer_blocks.emplace_back(ctx, blocks.sub(i), c.channels, c.context_dim, c.heads, c.ln_eps);
}

Tensor Transformer2DModel::forward(const RunContext& rc, const Tensor& x, const Tensor& context) const {
  const auto N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
  // NHWC is already the [N, H·W, C] token matrix: no layout change around the transformer.
  Tensor h = norm.forward(rc, x, /*silu=*/false).reshaped({N, H * W, C});  // [N, HW, C]
  h = proj_in.forward(rc.ctx, rc.pool, h);                                 // [N, HW, C]
  for (const auto& block : transformer_blocks) h = block.forward(rc, h, context);
  const Tensor residual = x.reshaped({N, H * W, C});
  return proj_out.forward(rc.ctx, rc.pool, h, {.residual = &residual}).reshaped({N, H, W, C});  // [N, H, W, C]
}

}  // namespace skingen::models
