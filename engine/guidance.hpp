#pragma once
// Classifier-free guidance (docs/FORMATS.md, "Classifier-free guidance"):
// ε = ε_u + g·(ε_c − ε_u), with the unconditional half first in the doubled
// batch, as diffusers'
// StableDiffusionPipeline does (torch.cat([latents] * 2) with the negative
// embeddings first; noise_pred_uncond + guidance_scale * (noise_pred_text −
// noise_pred_uncond)). A1111 combines the denoised outputs instead; the two
// agree up to float rounding.
#include <cstddef>
#include <functional>
#include <limits>
#include <optional>
#include <string>

#include "engine/core/tensor.hpp"
#include "engine/noise_schedule.hpp"
#include "engine/sampler.hpp"

namespace skingen::engine {

// out[i] = uncond[i] + scale·(cond[i] − uncond[i]), rounded as diffusers rounds it.
void combine_guidance(const float* uncond, const float* cond, float scale, float* out, std::size_t n);

// Guidance limited to a noise interval (Kynkäänniemi et al. 2024, "Applying
// guidance in a limited interval improves sample and distribution quality in
// diffusion models"; ComfyUI's guidance-limiter nodes use the same test):
// model calls whose noise level σ lies in (sigma_lo, sigma_hi] are guided,
// the others run the conditional branch alone (scale 1, no unconditional
// pass). σ is that of the call's timestep on SD's training schedule
// (k-diffusion's t_to_sigma), so σ and timestep schedules are treated alike.
struct GuidanceInterval {
  float sigma_lo = 0.0f;
  float sigma_hi = std::numeric_limits<float>::infinity();

  bool contains(float sigma) const { return sigma > sigma_lo && sigma <= sigma_hi; }
  // (0, ∞]: plain classifier-free guidance on every call.
  bool everywhere() const { return sigma_lo <= 0.0f && sigma_hi == std::numeric_limits<float>::infinity(); }
  bool operator==(const GuidanceInterval&) const = default;
};

// "LO,HI" with 0 <= LO < HI; HI may be "inf". nullopt when malformed.
std::optional<GuidanceInterval> parse_guidance_interval(const std::string& text);
// The inverse of parse_guidance_interval ("0,3.3", "0.5,inf").
std::string guidance_interval_str(const GuidanceInterval& interval);

// Wraps a model that takes the doubled batch [uncond; cond] (2B images) into
// a ModelFn for B images. Buffers are allocated once, in the constructor.
class GuidedModel {
 public:
  // inner(x2 [2B, C, H, W], t, out2 [2B, C, H, W]); `shape` is [B, C, H, W].
  GuidedModel(ModelFn inner, float scale, const Shape& shape);
  // Guided only inside `interval`; outside it `cond_only(x [B, C, H, W], t,
  // out)` runs instead.
  GuidedModel(ModelFn inner, ModelFn cond_only, float scale, GuidanceInterval interval, const Shape& shape);

  void operator()(const Tensor& x_in, float t, Tensor& out);
  // A ModelFn that calls this object (which must outlive it).
  ModelFn fn() {
    return [this](const Tensor& x, float t, Tensor& o) { (*this)(x, t, o); };
  }

 private:
  ModelFn inner_, cond_only_;
  float scale_;
  GuidanceInterval interval_;
  NoiseSchedule schedule_;  // σ of a call's timestep (only used with an interval)
  Tensor x2_, out2_;
};

}  // namespace skingen::engine
