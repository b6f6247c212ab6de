#pragma once
// Internal to the samplers (sampler.cpp, sampler_kdiffusion.cpp,
// sampler_diffusers.cpp): the run state and its pre-allocated buffers.
#include <cstddef>

#include "engine/sampler.hpp"

namespace skingen::engine::detail {

struct SamplerBuffers {
  explicit SamplerBuffers(const Shape& shape);
  Tensor x;         // the current latent
  Tensor x_in;      // model input
  Tensor out;       // raw model output
  Tensor denoised;  // x0 prediction
  Tensor deriv;     // d (Euler/Heun derivative)
  Tensor prev;      // DPM++ 2M: previous x0 prediction; Heun: the step's starting latent
  Tensor x2;        // Heun: Euler predictor
  Tensor noise;     // per-step noise
};

struct Run {
  const SamplingPlan& plan;
  Prediction prediction;
  const ModelFn& model;
  const SamplerHooks& hooks;
  BatchNoise* step_noise;
  SamplerBuffers& buf;
  std::size_t n;  // elements per tensor

  // Throws Cancelled when the flag is set.
  void begin_step() const;
  void end_step(int done, int total) const;
  // Fills buf.noise from step_noise (UsageError if there is none).
  void draw_noise() const;
  // Runs the model on buf.x_in, writing buf.out.
  void call_model(float t) const;
};

// k-diffusion samplers over plan.sigmas[start:] (σ schedules).
void run_kdiffusion(const Run& run, int start);
// diffusers schedulers over plan.timesteps[start:] (timestep spacings).
void run_diffusers(const Run& run, int start);

// The diffusers schedulers' add_noise at step index `start` (img2img), in
// place on buf.x = x0; `noise` unit variance.
void diffusers_add_noise(const Run& run, int start, const float* noise);

}  // namespace skingen::engine::detail
