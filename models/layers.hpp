#pragma once
// Parameter-holding wrappers shared by every model: norms and the factories
// that bind conv / linear weights from a scope (declaring a module binds its
// weights: docs/ARCHITECTURE.md, "Rules the code follows").
#include "engine/weight_scope.hpp"
#include "models/run_context.hpp"
#include "ops/conv2d.hpp"
#include "ops/linear.hpp"
#include "ops/norm.hpp"

namespace skingen::models {

struct GroupNorm {
  Tensor weight, bias;  // [C]
  int groups = 32;
  float eps = 1e-5f;

  GroupNorm(const WeightScope& ws, int channels, int groups, float eps);
  // silu: fused SiLU after the affine; add_before: [N, C] added before the statistics.
  Tensor forward(const RunContext& rc, const Tensor& x, bool silu, const Tensor* add_before = nullptr) const;
};

struct LayerNorm {
  Tensor weight, bias;  // [C]
  float eps = 1e-5f;

  LayerNorm(const WeightScope& ws, int channels, float eps);
  Tensor forward(const RunContext& rc, const Tensor& x) const;
};

// Conv weights [out, in, k, k] and bias [out] under `ws` ("weight", "bias").
ops::Conv2d bind_conv(ops::Context& ctx, const WeightScope& ws, int in, int out, int kernel, int stride,
                      ops::Padding2d padding);
inline ops::Conv2d bind_conv(ops::Context& ctx, const WeightScope& ws, int in, int out, int kernel, int stride = 1) {
  return bind_conv(ctx, ws, in, out, kernel, stride, ops::Padding2d::same(kernel / 2));
}
// Linear weight [out, in] (a 1×1 conv's [out, in, 1, 1] is accepted), bias [out] if `bias`.
ops::Linear bind_linear(ops::Context& ctx, const WeightScope& ws, int in, int out, bool bias = true);

}  // namespace skingen::models
