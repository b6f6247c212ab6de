#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

#include "engine/guidance.hpp"

#include <algorithm>

#include "engine/core/error.hpp"

namespace skingen::engine {

void combine_guidance(const float* uncond, const float* cond, float scale, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = uncond[i] + scale * (cond[i] - uncond[i]);
}

namespace {
Shape doubled(const Shape& s) {
  if (s.empty() || s[0] < 1) throw UsageError("guidance: bad latent shape " + shape_str(s));
  Shape d = s;
  d[0] *= 2;
  return d;
}
}  // namespace

GuidedModel::GuidedModel(ModelFn inner, float scale, const Shape& shape)
    : inner_(std::move(inner)),
      scale_(scale),
      x2_(Tensor::zeros(DType::F32, doubled(shape))),
      out2_(Tensor::zeros(DType::F32, doubled(shape))) {}

void GuidedModel::operator()(const Tensor& x_in, float t, Tensor& out) {
  const auto n = static_cast<std::size_t>(x_in.numel());
  if (2 * n != static_cast<std::size_t>(x2_.numel()) || out.numel() != x_in.numel())
    throw UsageError("guidance: input " + shape_str(x_in.shape()) + " does not match " + shape_str(x2_.shape()));
  const float* x = x_in.f32_data();
  float* x2 = x2_.f32_mut();
  std::copy(x, x + n, x2);
  std::copy(x, x + n, x2 + n);
  inner_(x2_, t, out2_);
  const float* o = out2_.f32_data();
  combine_guidance(o, o + n, scale_, out.f32_mut(), n);
}

}  // namespace skingen::engine
