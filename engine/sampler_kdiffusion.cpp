// k-diffusion samplers (crowsonkb/k-diffusion k_diffusion/sampling.py) around
// the CompVis denoiser wrapper (external.py), as A1111 and ComfyUI run them.
// Every float32 expression is one PyTorch operation of the upstream code,
// in upstream's order, so contraction is off.
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
using upstream::expm1_f32;
using upstream::log_f32;

// denoised = wrapper(x, σ) with the model at timestep t(σ).
// CompVisDenoiser:  c_in = 1/√(σ²+1), denoised = x + ε·(−σ)
// CompVisVDenoiser: c_skip = 1/(σ²+1), c_out = −σ/√(σ²+1), denoised = v·c_out + x·c_skip
void denoise(const Run& r, const float* x, float sigma, float t) {
  const float s2p1 = sigma * sigma + 1.0f;
  const float c_in = 1.0f / std::sqrt(s2p1);
  float* in = r.buf.x_in.f32_mut();
  for (std::size_t i = 0; i < r.n; ++i) in[i] = x[i] * c_in;
  r.call_model(t);
  const float* out = r.buf.out.f32_data();
  float* den = r.buf.denoised.f32_mut();
  if (r.prediction == Prediction::Epsilon) {
    const float c_out = -sigma;
    for (std::size_t i = 0; i < r.n; ++i) den[i] = x[i] + out[i] * c_out;
  } else {
    const float c_skip = 1.0f / s2p1;
    const float c_out = -sigma * 1.0f / std::sqrt(s2p1);
    for (std::size_t i = 0; i < r.n; ++i) den[i] = out[i] * c_out + x[i] * c_skip;
  }
}

// d = (x − denoised)/σ; x += d·dt (sampling.py to_d and the Euler update).
void euler_update(const Run& r, float* x, float sigma, float dt) {
  const float* den = r.buf.denoised.f32_data();
  float* d = r.buf.deriv.f32_mut();
  for (std::size_t i = 0; i < r.n; ++i) {
    d[i] = (x[i] - den[i]) / sigma;
    x[i] = x[i] + d[i] * dt;
  }
}

// sampling.py get_ancestral_step with eta = 1.
void ancestral_step(float from, float to, float* down, float* up) {
  const float v = std::sqrt(to * to * (from * from - to * to) / (from * from));
  *up = v < to ? v : to;  // min(sigma_to, …): sigma_to unless strictly smaller
  *down = std::sqrt(to * to - *up * *up);
}

}  // namespace

void run_kdiffusion(const Run& r, int start) {
  const auto& sig = r.plan.sigmas;
  const auto& ts = r.plan.timesteps;
  const int steps = r.plan.steps;
  const int total = steps - start;
  float* x = r.buf.x.f32_mut();
  bool have_old = false;  // DPM++ 2M's old_denoised

  for (int i = start; i < steps; ++i) {
    r.begin_step();
    const auto k = static_cast<std::size_t>(i);
    const float s = sig[k], s_next = sig[k + 1];
    denoise(r, x, s, ts[k]);

    switch (r.plan.sampler) {
      case SamplerKind::Euler:
      case SamplerKind::Ddim:  // ComfyUI: ddim = euler
        euler_update(r, x, s, s_next - s);
        break;

      case SamplerKind::EulerAncestral: {
        float down, up;
        ancestral_step(s, s_next, &down, &up);
        euler_update(r, x, s, down - s);
        if (s_next > 0) {
          r.draw_noise();
          const float* z = r.buf.noise.f32_data();
          for (std::size_t j = 0; j < r.n; ++j) x[j] = x[j] + z[j] * 1.0f * up;  // noise · s_noise · σ_up
        }
        break;
      }

      case SamplerKind::Heun: {
        const float dt = s_next - s;
        if (s_next == 0) {
          euler_update(r, x, s, dt);
          break;
        }
        const float* den = r.buf.denoised.f32_data();
        float* d = r.buf.deriv.f32_mut();
        float* x2 = r.buf.x2.f32_mut();
        for (std::size_t j = 0; j < r.n; ++j) {
          d[j] = (x[j] - den[j]) / s;
          x2[j] = x[j] + d[j] * dt;
        }
        denoise(r, x2, s_next, ts[k + 1]);
        for (std::size_t j = 0; j < r.n; ++j) {
          const float d2 = (x2[j] - den[j]) / s_next;
          const float d_prime = (d[j] + d2) / 2.0f;
          x[j] = x[j] + d_prime * dt;
        }
        break;
      }

      case SamplerKind::DpmPP2M: {
        // t = −log σ; σ(t) = exp(−t); float32 scalars as the 0-d tensors upstream.
        const float t = -log_f32(s), t_next = -log_f32(s_next);
        const float h = t_next - t;
        const float ratio = exp_f32(-t_next) / exp_f32(-t);
        const float phi = expm1_f32(-h);
        const float* den = r.buf.denoised.f32_data();
        float* old = r.buf.prev.f32_mut();
        if (!have_old || s_next == 0) {
          for (std::size_t j = 0; j < r.n; ++j) x[j] = ratio * x[j] - phi * den[j];
        } else {
          const float h_last = t - -log_f32(sig[k - 1]);
          const float rr = h_last / h;
          const float inv = 1.0f / (2.0f * rr);
          const float a = 1.0f + inv;
          for (std::size_t j = 0; j < r.n; ++j) {
            const float dd = a * den[j] - inv * old[j];
            x[j] = ratio * x[j] - phi * dd;
          }
        }
        std::copy(den, den + r.n, old);
        have_old = true;
        break;
      }

      case SamplerKind::Lcm: {
        // ComfyUI sample_lcm: x = denoised, then noise_scaling(σ_next, noise, x) = noise·σ_next + x.
        const float* den = r.buf.denoised.f32_data();
        if (s_next > 0) {
          r.draw_noise();
          const float* z = r.buf.noise.f32_data();
          for (std::size_t j = 0; j < r.n; ++j) x[j] = z[j] * s_next + den[j];
        } else {
          std::copy(den, den + r.n, x);
        }
        break;
      }
    }
    r.end_step(i - start + 1, total);
  }
}

}  // namespace skingen::engine::detail
