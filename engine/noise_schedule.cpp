// SD's training noise schedule in LDM's and diffusers' precision; each
// float32 expression below is one PyTorch operation, rounded on its own.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

#include "engine/noise_schedule.hpp"

#include <algorithm>
#include <cmath>

#include "engine/upstream_numerics.hpp"

namespace skingen::engine {
namespace {

void fill_sigmas(NoiseSchedule& s) {
  const std::size_t n = s.alphas_cumprod.size();
  s.sigmas.resize(n);
  s.log_sigmas.resize(n);
  for (std::size_t t = 0; t < n; ++t) {
    const float a = s.alphas_cumprod[t];
    s.sigmas[t] = std::sqrt((1.0f - a) / a);  // ** 0.5 is sqrt in PyTorch
    s.log_sigmas[t] = upstream::log_f32(s.sigmas[t]);
  }
}

}  // namespace

NoiseSchedule ldm_schedule() {
  // ldm/modules/diffusionmodules/util.py make_beta_schedule("linear") and
  // ldm/models/diffusion/ddpm.py register_schedule.
  const auto root_betas = upstream::torch_linspace_f64(std::sqrt(kBetaStart), std::sqrt(kBetaEnd), kTrainTimesteps);
  NoiseSchedule s;
  s.alphas_cumprod.resize(root_betas.size());
  double acc = 1.0;
  for (std::size_t t = 0; t < root_betas.size(); ++t) {
    const double beta = root_betas[t] * root_betas[t];
    acc *= 1.0 - beta;
    s.alphas_cumprod[t] = static_cast<float>(acc);
  }
  fill_sigmas(s);
  return s;
}

NoiseSchedule diffusers_schedule() {
  // diffusers schedulers' __init__, beta_schedule == "scaled_linear".
  const auto root_betas = upstream::torch_linspace_f32(std::sqrt(kBetaStart), std::sqrt(kBetaEnd), kTrainTimesteps);
  NoiseSchedule s;
  s.alphas_cumprod.resize(root_betas.size());
  double acc = 1.0;  // torch.cumprod on CPU accumulates float32 input in double
  for (std::size_t t = 0; t < root_betas.size(); ++t) {
    const float beta = root_betas[t] * root_betas[t];
    const float alpha = 1.0f - beta;
    acc *= static_cast<double>(alpha);
    s.alphas_cumprod[t] = static_cast<float>(acc);
  }
  fill_sigmas(s);
  return s;
}

float NoiseSchedule::sigma_to_t(float sigma) const {
  // k-diffusion external.py DiscreteSchedule.sigma_to_t: low_idx is the last
  // index with log_sigmas[i] <= log σ (0 if none), at most len − 2.
  const float log_sigma = upstream::log_f32(sigma);
  const auto n = static_cast<std::int64_t>(log_sigmas.size());
  std::int64_t low = 0;
  for (std::int64_t i = 0; i < n; ++i)
    if (log_sigma - log_sigmas[static_cast<std::size_t>(i)] >= 0.0f) low = i;
  low = std::min(low, n - 2);
  const std::int64_t high = low + 1;
  const float lo = log_sigmas[static_cast<std::size_t>(low)];
  const float hi = log_sigmas[static_cast<std::size_t>(high)];
  float w = (lo - log_sigma) / (lo - hi);
  w = std::clamp(w, 0.0f, 1.0f);
  return (1.0f - w) * static_cast<float>(low) + w * static_cast<float>(high);
}

float NoiseSchedule::t_to_sigma(float t) const {
  // k-diffusion external.py DiscreteSchedule.t_to_sigma.
  const auto low = static_cast<std::size_t>(std::floor(t));
  const auto high = static_cast<std::size_t>(std::ceil(t));
  const float w = t - std::trunc(t);  // Tensor.frac()
  const float log_sigma = (1.0f - w) * log_sigmas[low] + w * log_sigmas[high];
  return upstream::exp_f32(log_sigma);
}

}  // namespace skingen::engine
