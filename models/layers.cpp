#include "models/layers.hpp"

namespace skingen::models {

GroupNorm::GroupNorm(const WeightScope& ws, int channels, int groups_, float eps_)
    : weight(ws.take("weight", {channels})), bias(ws.take("bias", {channels})), groups(groups_), eps(eps_) {}

Tensor GroupNorm::forward(const RunContext& rc, const Tensor& x, bool silu, const Tensor* add_before) const {
  ops::GroupNormOptions o;
  o.groups = groups;
  o.eps = eps;
  o.silu = silu;
  o.add_before = add_before;
  return ops::group_norm(rc.ctx, rc.pool, x, weight, bias, o);
}

LayerNorm::LayerNorm(const WeightScope& ws, int channels, float eps_)
    : weight(ws.take("weight", {channels})), bias(ws.take("bias", {channels})), eps(eps_) {}

Tensor LayerNorm::forward(const RunContext& rc, const Tensor& x) const {
  return ops::layer_norm(rc.ctx, rc.pool, x, weight, bias, eps);
}

ops::Conv2d bind_conv(ops::Context& ctx, const WeightScope& ws, int in, int out, int kernel, int stride,
                      ops::Padding2d padding) {
  const Tensor w = ws.take("weight", {out, in, kernel, kernel});
  const Tensor b = ws.take("bias", {out});
  return ops::Conv2d(ctx, w, b, stride, padding);
}

ops::Linear bind_linear(ops::Context& ctx, const WeightScope& ws, int in, int out, bool bias) {
  const Tensor w = ws.take("weight", {out, in});
  const Tensor b = bias ? ws.take("bias", {out}) : Tensor();
  return ops::Linear(ctx, w, b);
}

}  // namespace skingen::models
