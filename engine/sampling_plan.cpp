// Noise levels and timesteps per sampler and schedule; the semantics and
// their upstream sources are listed in the header.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

#include "engine/sampling_plan.hpp"

#include <array>
#include <cmath>
#include <string>

#include "engine/core/error.hpp"
#include "engine/upstream_numerics.hpp"

namespace skingen::engine {
namespace {

using upstream::np_round;

constexpr std::array<std::pair<SamplerKind, std::string_view>, 6> kSamplerNames = {{
    {SamplerKind::Euler, "euler"},
    {SamplerKind::EulerAncestral, "euler_a"},
    {SamplerKind::Heun, "heun"},
    {SamplerKind::DpmPP2M, "dpmpp_2m"},
    {SamplerKind::Ddim, "ddim"},
    {SamplerKind::Lcm, "lcm"},
}};
constexpr std::array<std::pair<ScheduleKind, std::string_view>, 6> kScheduleNames = {{
    {ScheduleKind::Normal, "normal"},
    {ScheduleKind::Karras, "karras"},
    {ScheduleKind::Exponential, "exponential"},
    {ScheduleKind::Leading, "leading"},
    {ScheduleKind::Linspace, "linspace"},
    {ScheduleKind::Trailing, "trailing"},
}};

constexpr int kStepsOffset = 1;  // SD 1.5 scheduler_config.json "steps_offset"

// ---- σ schedules (k-diffusion), float32 as PyTorch computes them ----

std::vector<float> normal_sigmas(const NoiseSchedule& table, int n) {
  const auto t = upstream::torch_linspace_f32(kTrainTimesteps - 1, 0, n);
  std::vector<float> s;
  for (float ti : t) s.push_back(table.t_to_sigma(ti));
  return s;
}

std::vector<float> karras_sigmas(const NoiseSchedule& table, int n) {
  constexpr double rho = 7.0;  // A1111 sd_schedulers.py default_rho; k-diffusion default
  // sigma_min / sigma_max reach get_sigmas_karras as Python floats.
  const double min_inv_rho = std::pow(static_cast<double>(table.sigma_min()), 1.0 / rho);
  const double max_inv_rho = std::pow(static_cast<double>(table.sigma_max()), 1.0 / rho);
  // Python scalars meet the float32 ramp as float32 operands.
  const float span = static_cast<float>(min_inv_rho - max_inv_rho);
  const float top = static_cast<float>(max_inv_rho);
  std::vector<float> s;
  for (float r : upstream::torch_linspace_f32(0, 1, n)) s.push_back(upstream::pow_f32(top + r * span, rho));
  return s;
}

std::vector<float> exponential_sigmas(const NoiseSchedule& table, int n) {
  const auto l = upstream::torch_linspace_f32(std::log(static_cast<double>(table.sigma_max())),
                                              std::log(static_cast<double>(table.sigma_min())), n);
  std::vector<float> s;
  for (float v : l) s.push_back(upstream::exp_f32(v));
  return s;
}

// ---- diffusers timestep spacings ----

std::vector<double> trailing(int n, double last_timestep) {
  std::vector<double> t = upstream::np_arange(last_timestep, 0, -(kTrainTimesteps / static_cast<double>(n)));
  for (double& v : t) v = np_round(v) - 1;
  return t;
}

// EulerDiscreteScheduler / EulerAncestral / Heun set_timesteps (float32 timesteps).
std::vector<double> euler_timesteps(ScheduleKind s, int n) {
  std::vector<double> t;
  if (s == ScheduleKind::Linspace) {
    for (double v : upstream::np_linspace(0, kTrainTimesteps - 1, n)) t.insert(t.begin(), static_cast<float>(v));
  } else if (s == ScheduleKind::Leading) {
    const int ratio = kTrainTimesteps / n;
    for (int i = n - 1; i >= 0; --i) t.push_back(static_cast<double>(i) * ratio + kStepsOffset);
  } else {
    t = trailing(n, kTrainTimesteps);
  }
  return t;
}

// DPMSolverMultistepScheduler set_timesteps (int64 timesteps, n + 1 points).
std::vector<double> dpm_timesteps(ScheduleKind s, int n) {
  std::vector<double> t;
  if (s == ScheduleKind::Linspace) {
    const auto l = upstream::np_linspace(0, kTrainTimesteps - 1, n + 1);
    for (int i = n; i >= 1; --i) t.push_back(np_round(l[static_cast<std::size_t>(i)]));
  } else if (s == ScheduleKind::Leading) {
    const int ratio = kTrainTimesteps / (n + 1);
    for (int i = n; i >= 1; --i) t.push_back(static_cast<double>(i) * ratio + kStepsOffset);
  } else {
    t = trailing(n, kTrainTimesteps);
  }
  return t;
}

// DDIMScheduler set_timesteps (int64 timesteps).
std::vector<double> ddim_timesteps(ScheduleKind s, int n) {
  if (s != ScheduleKind::Linspace) return euler_timesteps(s, n);  // same integers
  std::vector<double> t;
  const auto l = upstream::np_linspace(0, kTrainTimesteps - 1, n);
  for (int i = n - 1; i >= 0; --i) t.push_back(np_round(l[static_cast<std::size_t>(i)]));
  return t;
}

// LCMScheduler set_timesteps with strength 1 (the spacing is not used).
std::vector<double> lcm_timesteps(int n) {
  if (n > kLcmOriginalSteps)
    throw UsageError("LCM takes at most " + std::to_string(kLcmOriginalSteps) + " steps (its distillation grid), got " +
                     std::to_string(n));
  constexpr int k = kTrainTimesteps / kLcmOriginalSteps;
  std::vector<double> origin;  // 999, 979, …, 19
  for (int i = kLcmOriginalSteps; i >= 1; --i) origin.push_back(i * k - 1);
  std::vector<double> t;
  for (double idx : upstream::np_linspace(0, kLcmOriginalSteps, n, /*endpoint=*/false))
    t.push_back(origin[static_cast<std::size_t>(std::floor(idx))]);
  return t;
}

}  // namespace

std::optional<SamplerKind> parse_sampler(std::string_view name) {
  for (const auto& [k, n] : kSamplerNames)
    if (n == name) return k;
  return std::nullopt;
}
std::string_view sampler_name(SamplerKind kind) {
  for (const auto& [k, n] : kSamplerNames)
    if (k == kind) return n;
  return "?";
}
std::optional<ScheduleKind> parse_schedule(std::string_view name) {
  for (const auto& [k, n] : kScheduleNames)
    if (n == name) return k;
  return std::nullopt;
}
std::string_view schedule_name(ScheduleKind kind) {
  for (const auto& [k, n] : kScheduleNames)
    if (k == kind) return n;
  return "?";
}

bool is_timestep_spacing(ScheduleKind kind) {
  return kind == ScheduleKind::Leading || kind == ScheduleKind::Linspace || kind == ScheduleKind::Trailing;
}

SamplingPlan make_plan(SamplerKind sampler, ScheduleKind schedule, int steps) {
  if (steps < 1) throw UsageError("--steps must be at least 1, got " + std::to_string(steps));
  if (steps > kTrainTimesteps)
    throw UsageError("--steps must be at most " + std::to_string(kTrainTimesteps) + ", got " + std::to_string(steps));
  SamplingPlan p;
  p.sampler = sampler;
  p.schedule = schedule;
  p.requested_steps = steps;

  if (!is_timestep_spacing(schedule)) {
    p.table = ldm_schedule();
    if (schedule == ScheduleKind::Normal) p.sigmas = normal_sigmas(p.table, steps);
    else if (schedule == ScheduleKind::Karras) p.sigmas = karras_sigmas(p.table, steps);
    else p.sigmas = exponential_sigmas(p.table, steps);
    for (float s : p.sigmas) p.timesteps.push_back(p.table.sigma_to_t(s));
    p.sigmas.push_back(0.0f);  // append_zero
    p.steps = steps;
    p.init_noise_sigma = p.sigmas.front();
    return p;
  }

  p.table = diffusers_schedule();
  std::vector<double> t;
  switch (sampler) {
    case SamplerKind::Euler:
    case SamplerKind::EulerAncestral:
    case SamplerKind::Heun: t = euler_timesteps(schedule, steps); break;
    case SamplerKind::DpmPP2M: t = dpm_timesteps(schedule, steps); break;
    case SamplerKind::Ddim: t = ddim_timesteps(schedule, steps); break;
    case SamplerKind::Lcm: t = lcm_timesteps(steps); break;
  }
  p.steps = static_cast<int>(t.size());
  for (double v : t) p.timesteps.push_back(static_cast<float>(v));
  if (sampler == SamplerKind::Ddim || sampler == SamplerKind::Lcm) return p;  // init_noise_sigma 1

  // np.interp over the float32 table (as float64), then float32.
  std::vector<double> table(p.table.sigmas.begin(), p.table.sigmas.end());
  for (float v : p.timesteps) p.sigmas.push_back(static_cast<float>(upstream::np_interp_unit(v, table)));
  p.sigmas.push_back(0.0f);
  if (sampler != SamplerKind::DpmPP2M) {
    float max_sigma = 0.0f;
    for (float s : p.sigmas) max_sigma = std::max(max_sigma, s);
    p.init_noise_sigma = schedule == ScheduleKind::Leading ? std::sqrt(max_sigma * max_sigma + 1.0f) : max_sigma;
  }
  return p;
}

}  // namespace skingen::engine
