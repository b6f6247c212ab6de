#pragma once
// SD 1.x/2.x's 1000-step "scaled_linear" training schedule (docs/FORMATS.md,
// "Noise schedule"):
// β_t = (√0.00085 + t/999 · (√0.012 − √0.00085))², ᾱ_t = Π(1 − β_i),
// σ_t = √((1 − ᾱ_t)/ᾱ_t). Two upstream constructions, each in its own
// precision, because the tables they yield differ in the last bits:
//
// ldm_schedule()       CompVis LDM `register_schedule` (and so every SD
//                      checkpoint's `alphas_cumprod` buffer, A1111 and
//                      k-diffusion's CompVisDenoiser): β in float64
//                      (torch.linspace(float64)²), ᾱ = np.cumprod(1 − β) in
//                      float64, stored as float32. k-diffusion then computes
//                      σ = ((1 − ᾱ)/ᾱ)^0.5 and log σ in float32 from that buffer.
// diffusers_schedule() diffusers' schedulers: β = torch.linspace(float32)²,
//                      ᾱ = torch.cumprod (float32 output, accumulated in
//                      double on CPU), σ in float32.
//
// sigma_to_t / t_to_sigma are k-diffusion's DiscreteSchedule (external.py,
// quantize = False) in float32: t(σ) by linear interpolation of log σ between
// the two table entries around it, σ(t) = exp of the log σ interpolated at t.
#include <vector>

namespace skingen::engine {

// SD's training schedule (CompVis configs/stable-diffusion/v1-inference.yaml
// linear_start / linear_end / timesteps; diffusers scheduler_config.json).
constexpr int kTrainTimesteps = 1000;
constexpr double kBetaStart = 0.00085;
constexpr double kBetaEnd = 0.012;

struct NoiseSchedule {
  std::vector<float> alphas_cumprod;  // ᾱ_t, t = 0 … 999
  std::vector<float> sigmas;          // σ_t, increasing with t
  std::vector<float> log_sigmas;      // log σ_t (k-diffusion's buffer)

  float sigma_min() const { return sigmas.front(); }
  float sigma_max() const { return sigmas.back(); }
  float sigma_to_t(float sigma) const;
  float t_to_sigma(float t) const;
};

NoiseSchedule ldm_schedule();
NoiseSchedule diffusers_schedule();

}  // namespace skingen::engine
