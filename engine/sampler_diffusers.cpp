// diffusers' schedulers (huggingface/diffusers src/diffusers/schedulers/),
// step by step as StableDiffusionPipeline drives them: scale_model_input, the
// UNet at the scheduler's timestep, step(). Every float32 expression is one
// PyTorch operation of the upstream code, in upstream's order.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

#include <cmath>

#include "engine/sampler_impl.hpp"
#include "engine/upstream_numerics.hpp"

namespace skingen::engine::detail {
namespace {

using upstream::exp_f32;
using upstream::log_f32;

// Euler-family scale_model_input: sample / (σ² + 1)^0.5, then the model.
void call_scaled(const Run& r, const float* x, float sigma, float t) {
  const float c = std::sqrt(sigma * sigma + 1.0f);
  float* in = r.buf.x_in.f32_mut();
  for (std::size_t i = 0; i < r.n; ++i) in[i] = x[i] / c;
  r.call_model(t);
}

// Unscaled model input (DPM-Solver, DDIM, LCM work on the VP sample).
void call_plain(const Run& r, const float* x, float t) {
  float* in = r.buf.x_in.f32_mut();
  std::copy(x, x + r.n, in);
  r.call_model(t);
}

// Euler / Heun / Euler a pred_original_sample for the model output in buf.out.
void euler_x0(const Run& r, const float* x, float sigma) {
  const float* out = r.buf.out.f32_data();
  float* x0 = r.buf.denoised.f32_mut();
  if (r.prediction == Prediction::Epsilon) {
    for (std::size_t i = 0; i < r.n; ++i) x0[i] = x[i] - sigma * out[i];
  } else {
    const float s2p1 = sigma * sigma + 1.0f;
    const float c_out = -sigma / std::sqrt(s2p1);
    for (std::size_t i = 0; i < r.n; ++i) x0[i] = out[i] * c_out + x[i] / s2p1;
  }
}

// DPMSolverMultistepScheduler._sigma_to_alpha_sigma_t.
struct AlphaSigma {
  float alpha, sigma, lambda;
};
AlphaSigma alpha_sigma(float s) {
  AlphaSigma a;
  a.alpha = 1.0f / std::sqrt(s * s + 1.0f);
  a.sigma = s * a.alpha;
  a.lambda = log_f32(a.alpha) - log_f32(a.sigma);
  return a;
}

// √ᾱ·x0 / √(1 − ᾱ)·ε / x0 per DDIMScheduler / LCMScheduler for buf.out.
void ddim_x0_eps(const Run& r, const float* x, float a_t, float* x0, float* eps) {
  const float* out = r.buf.out.f32_data();
  const float b_t = 1.0f - a_t;
  const float sa = std::sqrt(a_t), sb = std::sqrt(b_t);
  for (std::size_t i = 0; i < r.n; ++i) {
    if (r.prediction == Prediction::Epsilon) {
      x0[i] = (x[i] - sb * out[i]) / sa;
      if (eps) eps[i] = out[i];
    } else {
      x0[i] = sa * x[i] - sb * out[i];
      if (eps) eps[i] = sa * out[i] + sb * x[i];
    }
  }
}

float alpha_at(const Run& r, int t) { return r.plan.table.alphas_cumprod[static_cast<std::size_t>(t)]; }

}  // namespace

void diffusers_add_noise(const Run& r, int start, const float* z) {
  float* x = r.buf.x.f32_mut();
  const auto k = static_cast<std::size_t>(start);
  switch (r.plan.sampler) {
    case SamplerKind::Euler:
    case SamplerKind::EulerAncestral:
    case SamplerKind::Heun: {  // original_samples + noise * sigma
      const float s = r.plan.sigmas[k];
      for (std::size_t i = 0; i < r.n; ++i) x[i] = x[i] + z[i] * s;
      break;
    }
    case SamplerKind::DpmPP2M: {  // alpha_t * original_samples + sigma_t * noise
      const AlphaSigma a = alpha_sigma(r.plan.sigmas[k]);
      for (std::size_t i = 0; i < r.n; ++i) x[i] = a.alpha * x[i] + a.sigma * z[i];
      break;
    }
    case SamplerKind::Ddim:
    case SamplerKind::Lcm: {  // ᾱ^0.5 * original_samples + (1 − ᾱ)^0.5 * noise
      const float a = alpha_at(r, static_cast<int>(r.plan.timesteps[k]));
      const float sa = std::sqrt(a), sb = std::sqrt(1.0f - a);
      for (std::size_t i = 0; i < r.n; ++i) x[i] = sa * x[i] + sb * z[i];
      break;
    }
  }
}

void run_diffusers(const Run& r, int start) {
  const auto& sig = r.plan.sigmas;
  const auto& ts = r.plan.timesteps;
  const int steps = r.plan.steps;
  const int total = steps - start;
  float* x = r.buf.x.f32_mut();
  float* x0 = r.buf.denoised.f32_mut();
  float* d = r.buf.deriv.f32_mut();
  int lower_order_nums = 0;  // DPM-Solver

  for (int i = start; i < steps; ++i) {
    r.begin_step();
    const auto k = static_cast<std::size_t>(i);
    const float t = ts[k];

    switch (r.plan.sampler) {
      case SamplerKind::Euler: {  // EulerDiscreteScheduler.step, s_churn 0
        const float s = sig[k];
        call_scaled(r, x, s, t);
        euler_x0(r, x, s);
        const float dt = sig[k + 1] - s;
        for (std::size_t j = 0; j < r.n; ++j) {
          d[j] = (x[j] - x0[j]) / s;
          x[j] = x[j] + d[j] * dt;
        }
        break;
      }

      case SamplerKind::EulerAncestral: {  // EulerAncestralDiscreteScheduler.step
        const float from = sig[k], to = sig[k + 1];
        call_scaled(r, x, from, t);
        euler_x0(r, x, from);
        const float up = std::sqrt(to * to * (from * from - to * to) / (from * from));
        const float down = std::sqrt(to * to - up * up);
        const float dt = down - from;
        for (std::size_t j = 0; j < r.n; ++j) {
          d[j] = (x[j] - x0[j]) / from;
          x[j] = x[j] + d[j] * dt;
        }
        r.draw_noise();  // drawn at every step, the last one included
        const float* z = r.buf.noise.f32_data();
        for (std::size_t j = 0; j < r.n; ++j) x[j] = x[j] + z[j] * up;
        break;
      }

      case SamplerKind::Heun: {  // HeunDiscreteScheduler: [t0, t1, t1, t2, t2, …] pairs
        const float s = sig[k], s_next = sig[k + 1];
        call_scaled(r, x, s, t);
        euler_x0(r, x, s);
        const float dt = s_next - s;
        float* x1 = r.buf.x2.f32_mut();
        for (std::size_t j = 0; j < r.n; ++j) {
          d[j] = (x[j] - x0[j]) / s;
          x1[j] = x[j] + d[j] * dt;
        }
        if (i + 1 < steps) {  // the last timestep has no second-order half
          call_scaled(r, x1, s_next, ts[k + 1]);
          euler_x0(r, x1, s_next);
          for (std::size_t j = 0; j < r.n; ++j) {
            const float d2 = (x1[j] - x0[j]) / s_next;
            const float dp = (d[j] + d2) / 2.0f;
            x1[j] = x[j] + dp * dt;
          }
        }
        std::copy(x1, x1 + r.n, x);
        break;
      }

      case SamplerKind::DpmPP2M: {  // DPMSolverMultistepScheduler, dpmsolver++, midpoint
        call_plain(r, x, t);
        const AlphaSigma cur = alpha_sigma(sig[k]);
        // convert_model_output → x0 prediction
        const float* out = r.buf.out.f32_data();
        float* m1 = r.buf.prev.f32_mut();  // previous x0 prediction
        float* m0 = r.buf.x2.f32_mut();
        for (std::size_t j = 0; j < r.n; ++j)
          m0[j] = r.prediction == Prediction::Epsilon ? (x[j] - cur.sigma * out[j]) / cur.alpha
                                                      : cur.alpha * x[j] - cur.sigma * out[j];
        const AlphaSigma nxt = alpha_sigma(sig[k + 1]);
        const float h = nxt.lambda - cur.lambda;
        const float ratio = nxt.sigma / cur.sigma;
        const float coef = nxt.alpha * (exp_f32(-h) - 1.0f);
        const bool first_order = lower_order_nums < 1 || i == steps - 1;  // lower_order_final, final σ zero
        if (first_order) {
          for (std::size_t j = 0; j < r.n; ++j) x[j] = ratio * x[j] - coef * m0[j];
        } else {
          const AlphaSigma prv = alpha_sigma(sig[k - 1]);
          const float h0 = cur.lambda - prv.lambda;
          const float r0 = h0 / h;
          const float inv_r0 = 1.0f / r0;
          const float half_coef = 0.5f * coef;
          for (std::size_t j = 0; j < r.n; ++j) {
            const float d1 = inv_r0 * (m0[j] - m1[j]);
            x[j] = ratio * x[j] - coef * m0[j] - half_coef * d1;
          }
        }
        std::copy(m0, m0 + r.n, m1);
        if (lower_order_nums < 2) ++lower_order_nums;
        break;
      }

      case SamplerKind::Ddim: {  // DDIMScheduler.step, eta 0, set_alpha_to_one false
        call_plain(r, x, t);
        const int ti = static_cast<int>(t);
        const int prev_t = ti - kTrainTimesteps / r.plan.requested_steps;
        const float a_t = alpha_at(r, ti);
        const float a_prev = prev_t >= 0 ? alpha_at(r, prev_t) : alpha_at(r, 0);
        ddim_x0_eps(r, x, a_t, x0, d);
        // std_dev_t = 0·variance^0.5 = 0: direction (1 − ᾱ_prev − 0)^0.5 · ε
        const float dir = std::sqrt(1.0f - a_prev - 0.0f);
        const float sa_prev = std::sqrt(a_prev);
        for (std::size_t j = 0; j < r.n; ++j) x[j] = sa_prev * x0[j] + dir * d[j];
        break;
      }

      case SamplerKind::Lcm: {  // LCMScheduler.step
        call_plain(r, x, t);
        const int ti = static_cast<int>(t);
        const int prev_t = i + 1 < steps ? static_cast<int>(ts[k + 1]) : ti;
        const float a_t = alpha_at(r, ti);
        const float a_prev = alpha_at(r, prev_t);
        // get_scalings_for_boundary_condition_discrete, timestep_scaling 10, σ_data 0.5
        const float scaled = static_cast<float>(ti) * 10.0f;
        const float c_skip = 0.25f / (scaled * scaled + 0.25f);
        const float c_out = scaled / std::sqrt(scaled * scaled + 0.25f);
        ddim_x0_eps(r, x, a_t, x0, nullptr);
        for (std::size_t j = 0; j < r.n; ++j) x0[j] = c_out * x0[j] + c_skip * x[j];
        if (i != r.plan.requested_steps - 1) {
          r.draw_noise();
          const float* z = r.buf.noise.f32_data();
          const float sa = std::sqrt(a_prev), sb = std::sqrt(1.0f - a_prev);
          for (std::size_t j = 0; j < r.n; ++j) x[j] = sa * x0[j] + sb * z[j];
        } else {
          std::copy(x0, x0 + r.n, x);
        }
        break;
      }
    }
    r.end_step(i - start + 1, total);
  }
}

}  // namespace skingen::engine::detail
