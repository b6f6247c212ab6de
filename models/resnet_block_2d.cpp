#include "models/resnet_block_2d.hpp"

namespace skingen::models {

ResnetBlock2D::ResnetBlock2D(ops::Context& ctx, const WeightScope& ws, int in, int out, int temb, int groups,
                             float eps)
    : out_channels_(out),
      norm1(ws.sub("norm1"), in, groups, eps),
      conv1(bind_conv(ctx, ws.sub("conv1"), in, out, 3)),
      norm2(ws.sub("norm2"), out, groups, eps),
      conv2(bind_conv(ctx, ws.sub("conv2"), out, out, 3)) {
  if (temb > 0) time_emb_proj.emplace(bind_linear(ctx, ws.sub("time_emb_proj"), temb, out));
  if (in != out) conv_shortcut.emplace(bind_conv(ctx, ws.sub("conv_shortcut"), in, out, 1));
}

Tensor ResnetBlock2D::forward(const RunContext& rc, const Tensor& x, const Tensor* temb_silu) const {
  Tensor h = norm1.forward(rc, x, /*silu=*/true);                      // [N, H, W, in]
  h = conv1.forward(rc.ctx, rc.pool, h, {.tiling = rc.tiling});       // [N, H, W, out]
  Tensor t;
  if (time_emb_proj && temb_silu) t = time_emb_proj->forward(rc.ctx, rc.pool, *temb_silu);  // [N, out]
  // The time-embedding add is folded into norm2's statistics pass (issue 3: a
  // per-sample channel add inside the conv would send oneDNN to a slow path).
  h = norm2.forward(rc, h, /*silu=*/true, t.defined() ? &t : nullptr);  // [N, H, W, out]
  const Tensor skip = conv_shortcut ? conv_shortcut->forward(rc.ctx, rc.pool, x) : x;  // [N, H, W, out]
  return conv2.forward(rc.ctx, rc.pool, h, {.tiling = rc.tiling, .residual = &skip});  // [N, H, W, out]
}

}  // namespace skingen::models
