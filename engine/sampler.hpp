#pragma once
// Model-agnostic samplers: Euler, Euler ancestral, Heun, DPM++ 2M, DDIM, LCM
// on the schedules of sampling_plan.hpp, for ε- and v-prediction models.
//
// σ schedules follow k-diffusion's sampling.py (sample_euler,
// sample_euler_ancestral with eta 1 and s_noise 1, sample_heun,
// sample_dpmpp_2m) around its CompVisDenoiser / CompVisVDenoiser wrapper
// (external.py: model input x·c_in with c_in = 1/√(σ²+1), timestep t(σ);
// ε: denoised = x − σ·ε; v: denoised = v·c_out + x·c_skip, c_skip = 1/(σ²+1),
// c_out = −σ/√(σ²+1)). DDIM there is ComfyUI's "ddim" (Euler steps, which is
// DDIM with η = 0 in σ form) and LCM is ComfyUI's sample_lcm (x = denoised,
// plus σ_{i+1}·noise while σ_{i+1} > 0).
// Timestep spacings follow diffusers' EulerDiscreteScheduler,
// EulerAncestralDiscreteScheduler, HeunDiscreteScheduler,
// DPMSolverMultistepScheduler (dpmsolver++, order 2, lower_order_final),
// DDIMScheduler (η = 0) and LCMScheduler step by step, in float32.
//
// Noise: the initial noise (unit variance, [B, C, H, W]) is given; samplers
// that add noise per step (Euler a; LCM) draw it from `step_noise` in
// upstream's order, after the step's model call. With a BatchNoise that drew
// the initial noise first, image i reproduces A1111's ImageRNG (and
// diffusers with one generator per image) for seed + i. ComfyUI instead
// draws step noise for the whole batch from a generator of its own
// (batch_noise_sources with BatchSeeds::Stream, engine/rng.hpp).
//
// img2img (strength s, clean latent x0): σ schedules follow A1111
// (sd_samplers_common.setup_img2img_steps, img2img_fix_steps off): with
// t_enc = ⌊min(s, 0.999)·n⌋ the run starts at σ index n − t_enc − 1, so it
// takes t_enc + 1 steps, from x0 + noise·σ_start. Timestep spacings follow
// diffusers' img2img pipeline: init = min(⌊n·s⌋, n) steps are run, the first
// n − init are skipped, and x0 is noised with the scheduler's add_noise at
// the first remaining timestep (x0 + σ·noise for Euler/Heun/Euler a,
// √ᾱ·x0 + √(1 − ᾱ)·noise for DPM++ 2M, DDIM and LCM).
//
// Tensors are fp32 NCHW [B, C, H, W] (model inputs and outputs are NCHW).
// After construction nothing is allocated inside the step loop.
#include <atomic>
#include <functional>
#include <memory>

#include "engine/core/tensor.hpp"
#include "engine/prediction.hpp"
#include "engine/rng.hpp"
#include "engine/sampling_plan.hpp"

namespace skingen::engine {

// Prediction: engine/prediction.hpp

// x_in: the model input for the whole batch (already scaled); t: the model
// timestep; out: where to write the raw model output (ε or v), same shape.
// Classifier-free guidance happens inside (see guidance.hpp).
using ModelFn = std::function<void(const Tensor& x_in, float t, Tensor& out)>;

struct SamplerHooks {
  // Called after each completed step with (steps done, total steps).
  std::function<void(int done, int total)> progress;
  // When set and true at the start of a step, the run throws skingen::Cancelled.
  const std::atomic<bool>* cancel = nullptr;
};

class Sampler {
 public:
  // shape: the latent shape [B, C, H, W]. Throws UsageError for bad steps or shapes.
  Sampler(SamplerKind sampler, ScheduleKind schedule, int steps, Prediction prediction, Shape shape);
  ~Sampler();
  Sampler(Sampler&&) noexcept;
  Sampler& operator=(Sampler&&) noexcept;

  const SamplingPlan& plan() const;

  // txt2img from unit-variance noise. step_noise may be null for samplers
  // that draw none (Euler, Heun, DPM++ 2M, DDIM). Returns the final latent.
  Tensor txt2img(const Tensor& noise, BatchNoise* step_noise, const ModelFn& model, const SamplerHooks& hooks = {});

  // img2img from a clean latent x0 and unit-variance noise; strength in [0, 1].
  Tensor img2img(const Tensor& x0, const Tensor& noise, double strength, BatchNoise* step_noise,
                 const ModelFn& model, const SamplerHooks& hooks = {});

  // The number of steps img2img runs at this strength (for progress bars).
  int img2img_steps(double strength) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace skingen::engine
