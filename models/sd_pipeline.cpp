#include "models/sd_pipeline.hpp"

#include <chrono>
#include <cmath>
#include <cstring>

#include "engine/core/error.hpp"
#include "engine/guidance.hpp"
#include "models/prompt_encoder.hpp"
#include "ops/layout.hpp"

namespace skingen::models {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// `b` copies of a [1, T, D] conditioning → [b, T, D].
Tensor repeat_batch(const Tensor& c, std::int64_t b) {
  Tensor r = Tensor::f32({b, c.dim(1), c.dim(2)});
  for (std::int64_t i = 0; i < b; ++i)
    std::memcpy(r.f32_mut() + i * c.numel(), c.f32_data(), static_cast<std::size_t>(c.numel()) * sizeof(float));
  return r;
}

// [a; b] along the batch axis.
Tensor concat_batch(const Tensor& a, const Tensor& b) {
  Shape s = a.shape();
  s[0] += b.dim(0);
  Tensor r = Tensor::f32(s);
  std::memcpy(r.f32_mut(), a.f32_data(), a.nbytes());
  std::memcpy(r.f32_mut() + a.numel(), b.f32_data(), b.nbytes());
  return r;
}

void check_settings(const GenerationSettings& s, const UNetConfig& unet, const VaeConfig& vae) {
  const int f = vae.downscale();
  if (s.width <= 0 || s.height <= 0 || s.width % f || s.height % f)
    throw UsageError("--size: width and height must be positive multiples of " + std::to_string(f) + ", got " +
                     std::to_string(s.width) + "x" + std::to_string(s.height));
  if (s.steps < 1) throw UsageError("--steps: must be at least 1, got " + std::to_string(s.steps));
  if (!std::isfinite(s.cfg)) throw UsageError("--cfg: must be a finite number");
  if (!(s.cfg_interval.sigma_lo >= 0 && s.cfg_interval.sigma_lo < s.cfg_interval.sigma_hi))
    throw UsageError("--cfg-interval: expected 0 <= LO < HI, got " + engine::guidance_interval_str(s.cfg_interval));
  if (s.batch < 1) throw UsageError("--batch: must be at least 1, got " + std::to_string(s.batch));
  if (s.strength < 0 || s.strength > 1) throw UsageError("--strength: must be in [0, 1]");
  const Shape latent{1, unet.in_channels, s.height / f, s.width / f};
  if (s.init_latent && s.init_latent->shape() != latent)
    throw UsageError("--init-latent: tensor 'latent' must be " + engine::shape_str(latent) + " for --size " +
                     std::to_string(s.width) + "x" + std::to_string(s.height) + ", got " +
                     engine::shape_str(s.init_latent->shape()));
  for (const auto* c : {&s.cond, &s.uncond})
    if (*c && ((*c)->ndim() != 3 || (*c)->dim(0) != 1 || (*c)->dim(2) != unet.context_dim))
      throw UsageError("--embeddings: cond and uncond must be [1, T, " + std::to_string(unet.context_dim) + "], got " +
                       engine::shape_str((*c)->shape()));
}

}  // namespace

SdPipeline::SdPipeline(ops::Context& ctx, SdComponents components) : ctx_(ctx), c_(std::move(components)) {}

Tensor SdPipeline::encode_text(const std::string& text, int clip_skip) {
  if (!c_.text_encoder || !c_.tokenizer) throw UsageError("no text encoder or tokenizer loaded to encode the prompt");
  RunContext rc{ctx_, pool_, ops::Tiling::None, {}};
  return PromptEncoder(*c_.tokenizer, *c_.text_encoder->model).encode(rc, text, clip_skip);
}

GenerationResult SdPipeline::generate(const GenerationSettings& s, const engine::SamplerHooks& hooks) {
  const auto& unet_cfg = c_.unet.detection.config;
  const auto& vae_cfg = c_.vae.detection.config;
  check_settings(s, unet_cfg, vae_cfg);
  GenerationResult result;

  // Conditioning: given embeddings, or the prompt through tokenizer and text encoder.
  auto t0 = Clock::now();
  const Tensor cond = s.cond ? *s.cond : encode_text(s.prompt, s.clip_skip);
  const bool guided = s.cfg != 1.0f;  // diffusers skips the unconditional pass at scale 1
  Tensor uncond;
  if (guided) uncond = s.uncond ? *s.uncond : encode_text(s.negative, s.clip_skip);
  result.times.text = since(t0);

  const std::int64_t B = s.batch;
  const int f = vae_cfg.downscale();
  const Shape latent_shape{B, unet_cfg.in_channels, s.height / f, s.width / f};

  // Initial and per-step noise as --batch-seeds says (engine/rng.hpp).
  auto noise_sources = engine::batch_noise_sources(s.rng, s.batch_seeds, s.seed, B, s.stream_total, s.stream_first);
  // The seeded draw happens even with --init-latent, so the per-step noise of
  // ancestral samplers continues the same streams: feeding `eval noise`'s
  // output back as --init-latent reproduces the plain run exactly.
  Tensor noise = noise_sources.initial.draw(latent_shape);
  if (s.init_latent) {
    for (std::int64_t i = 0; i < B; ++i)
      std::memcpy(noise.f32_mut() + i * s.init_latent->numel(), s.init_latent->f32_data(), s.init_latent->nbytes());
  }

  // The model as the sampler sees it: NCHW latents in, raw output (ε or v) out.
  // Conditioning of equal length runs as one doubled batch [uncond; cond];
  // otherwise uncond and cond run separately (A1111 without pad_cond_uncond).
  const Tensor cond_b = repeat_batch(cond, B);
  const Tensor uncond_b = guided ? repeat_batch(uncond, B) : Tensor();
  const bool one_pass = guided && uncond.dim(1) == cond.dim(1);
  const Tensor context2 = one_pass ? concat_batch(uncond_b, cond_b) : Tensor();
  RunContext rc{ctx_, pool_, s.tiling, {}};
  auto run_unet = [&](const Tensor& x_nchw, float t, const Tensor& context, float* out) {
    const std::int64_t n = x_nchw.dim(0);
    Tensor tt = Tensor::f32({n});
    for (std::int64_t i = 0; i < n; ++i) tt.f32_mut()[i] = t;
    const Tensor x = ops::nchw_to_nhwc(ctx_, pool_, x_nchw);
    const Tensor y = ops::nhwc_to_nchw(ctx_, pool_, c_.unet.model->forward(rc, x, tt, context));
    std::memcpy(out, y.f32_data(), y.nbytes());
    ++result.times.model_calls;
  };
  engine::ModelFn inner = [&](const Tensor& x2, float t, Tensor& out2) {
    if (one_pass) {
      run_unet(x2, t, context2, out2.f32_mut());
      return;
    }
    // x2 = [x; x] for B images each: uncond half, then cond half.
    const Tensor half = Tensor::wrap(engine::DType::F32, latent_shape, const_cast<float*>(x2.f32_data()), nullptr);
    run_unet(half, t, uncond_b, out2.f32_mut());
    run_unet(half, t, cond_b, out2.f32_mut() + half.numel());
  };
  engine::ModelFn unguided = [&](const Tensor& x, float t, Tensor& out) { run_unet(x, t, cond_b, out.f32_mut()); };
  engine::GuidedModel guided_model(inner, unguided, s.cfg, s.cfg_interval, latent_shape);

  engine::Sampler sampler(s.sampler, s.schedule, s.steps, unet_cfg.prediction, latent_shape);
  t0 = Clock::now();
  const engine::ModelFn model = guided ? guided_model.fn() : unguided;
  if (s.init_image) {
    RunContext vrc{ctx_, pool_, s.tiling, {}};
    Tensor x0 = Tensor::f32(latent_shape);
    const Tensor moments = c_.vae.model->encode_moments(vrc, ops::nchw_to_nhwc(ctx_, pool_, *s.init_image));
    // The latent is the distribution's mean scaled by the VAE factor (deterministic img2img).
    const Tensor m = ops::nhwc_to_nchw(ctx_, pool_, moments);
    const std::int64_t per = latent_shape[1] * latent_shape[2] * latent_shape[3];
    for (std::int64_t i = 0; i < B; ++i)
      for (std::int64_t j = 0; j < per; ++j) x0.f32_mut()[i * per + j] = m.f32_data()[j] * vae_cfg.scaling_factor;
    result.latent = sampler.img2img(x0, noise, s.strength, &noise_sources.step(), model, hooks);
  } else {
    result.latent = sampler.txt2img(noise, &noise_sources.step(), model, hooks);
  }
  result.times.sampling = since(t0);

  // Decode one image at a time: the decoder's activations dominate memory.
  t0 = Clock::now();
  result.image = Tensor::f32({B, s.height, s.width, vae_cfg.out_channels});
  const std::int64_t per_latent = result.latent.numel() / B, per_image = result.image.numel() / B;
  for (std::int64_t i = 0; i < B; ++i) {
    const Tensor li = Tensor::wrap(engine::DType::F32, {1, latent_shape[1], latent_shape[2], latent_shape[3]},
                                   result.latent.f32_mut() + i * per_latent, nullptr);
    const Tensor img = c_.vae.model->decode(rc, ops::nchw_to_nhwc(ctx_, pool_, li));  // [1, H, W, 3]
    std::memcpy(result.image.f32_mut() + i * per_image, img.f32_data(), img.nbytes());
  }
  result.times.vae = since(t0);
  return result;
}

}  // namespace skingen::models
