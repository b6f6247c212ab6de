#pragma once
// Which noise levels and model timesteps a sampler visits, with upstream's
// exact semantics. Two families:
//
// σ schedules (normal, karras, exponential) — k-diffusion / A1111 / ComfyUI:
//   σ_0 > … > σ_{n−1} > σ_n = 0 from the LDM table (noise_schedule.hpp); the
//   model sees t(σ) by log-σ interpolation (k-diffusion CompVisDenoiser);
//   initial noise × σ_0.
//   normal      t = torch.linspace(999, 0, n), σ = t_to_sigma(t)
//               (k-diffusion DiscreteSchedule.get_sigmas, A1111 "Automatic").
//   karras      (σmax^(1/ρ) + ramp·(σmin^(1/ρ) − σmax^(1/ρ)))^ρ, ρ = 7,
//               ramp = linspace(0, 1, n) (k-diffusion get_sigmas_karras).
//   exponential exp(linspace(ln σmax, ln σmin, n)) (get_sigmas_exponential).
//
// timestep spacings (leading, linspace, trailing) — diffusers' schedulers,
//   SD 1.5's scheduler config (steps_offset 1, set_alpha_to_one false,
//   clip_sample false), with the diffusers table (noise_schedule.hpp); the
//   model sees the schedule's own timestep.
//   Euler, Euler a, Heun (EulerDiscreteScheduler & co):
//     linspace  t = np.linspace(0, 999, n, dtype=float32) reversed
//     leading   t = (arange(n)·(1000 // n)) reversed + 1   (8 steps: 876 … 1)
//     trailing  t = round(np.arange(1000, 0, −1000/n)) − 1 (can be n + 1 long)
//     σ = np.interp(t, 0…999, σ_table) (float64, stored as float32), then 0;
//     initial noise × σ_max for linspace/trailing, × √(σ_max² + 1) for leading.
//   DPM++ 2M (DPMSolverMultistepScheduler, dpmsolver++, order 2): its own
//     integer timesteps over n + 1 points (leading: arange(n+1)·(1000//(n+1))
//     reversed without the last, + 1; linspace: round(np.linspace(0, 999,
//     n + 1)) reversed without the last; trailing as above); initial noise × 1.
//   DDIM (DDIMScheduler): integer timesteps (linspace: round(np.linspace(0,
//     999, n)) reversed; leading and trailing as Euler); initial noise × 1.
//   LCM (LCMScheduler): its own timesteps whatever the spacing: the 50-step
//     distillation grid 19, 39, …, 999 reversed, indices
//     ⌊np.linspace(0, 50, n, endpoint=False)⌋; initial noise × 1.
#include <optional>
#include <string_view>
#include <vector>

#include "engine/noise_schedule.hpp"

namespace skingen::engine {

enum class SamplerKind { Euler, EulerAncestral, Heun, DpmPP2M, Ddim, Lcm };
enum class ScheduleKind { Normal, Karras, Exponential, Leading, Linspace, Trailing };

// CLI names: euler, euler_a, heun, dpmpp_2m, ddim, lcm.
std::optional<SamplerKind> parse_sampler(std::string_view name);
std::string_view sampler_name(SamplerKind kind);
// CLI names: normal, karras, exponential, leading, linspace, trailing.
std::optional<ScheduleKind> parse_schedule(std::string_view name);
std::string_view schedule_name(ScheduleKind kind);

// True for leading / linspace / trailing (the diffusers family).
bool is_timestep_spacing(ScheduleKind kind);

// The LCM distillation grid (LCMScheduler original_inference_steps).
constexpr int kLcmOriginalSteps = 50;

struct SamplingPlan {
  SamplerKind sampler = SamplerKind::Euler;
  ScheduleKind schedule = ScheduleKind::Normal;
  int requested_steps = 0;
  int steps = 0;  // sampler steps; differs from requested_steps only for some `trailing` n
  // σ_0 … σ_steps (σ_steps = 0) for every σ-based sampler; empty for the
  // diffusers DDIM and LCM schedulers, which work on ᾱ directly.
  std::vector<float> sigmas;
  // The model timestep of each step: t(σ_i) for σ schedules, the scheduler's
  // timestep for the diffusers family.
  std::vector<float> timesteps;
  float init_noise_sigma = 1.0f;
  // The 1000-step table of the family: ldm_schedule() for σ schedules,
  // diffusers_schedule() for timestep spacings.
  NoiseSchedule table;
};

// Throws UsageError for steps < 1 or a combination upstream rejects (LCM
// with more than 50 steps).
SamplingPlan make_plan(SamplerKind sampler, ScheduleKind schedule, int steps);

}  // namespace skingen::engine
