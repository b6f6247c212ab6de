#pragma once
// Classifier-free guidance (REFERENCE.md §4): ε = ε_u + g·(ε_c − ε_u), with
// the unconditional half first in the doubled batch, as diffusers'
// StableDiffusionPipeline does (torch.cat([latents] * 2) with the negative
// embeddings first; noise_pred_uncond + guidance_scale * (noise_pred_text −
// noise_pred_uncond)). A1111 combines the denoised outputs instead; the two
// agree up to float rounding.
#include <cstddef>
#include <functional>

#include "engine/core/tensor.hpp"
#include "engine/sampler.hpp"

namespace skingen::engine {

// out[i] = uncond[i] + scale·(cond[i] − uncond[i]), rounded as diffusers rounds it.
void combine_guidance(const float* uncond, const float* cond, float scale, float* out, std::size_t n);

// Wraps a model that takes the doubled batch [uncond; cond] (2B images) into
// a ModelFn for B images. Buffers are allocated once, in the constructor.
class GuidedModel {
 public:
  // inner(x2 [2B, C, H, W], t, out2 [2B, C, H, W]); `shape` is [B, C, H, W].
  GuidedModel(ModelFn inner, float scale, const Shape& shape);

  void operator()(const Tensor& x_in, float t, Tensor& out);
  // A ModelFn that calls this object (which must outlive it).
  ModelFn fn() {
    return [this](const Tensor& x, float t, Tensor& o) { (*this)(x, t, o); };
  }

 private:
  ModelFn inner_;
  float scale_;
  Tensor x2_, out2_;
};

}  // namespace skingen::engine
