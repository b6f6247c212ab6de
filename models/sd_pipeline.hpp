#pragma once
// Text (or embeddings) → latents → image: the SD 1.x/2.x txt2img and img2img
// pipeline over loaded components. The sampler and the noise are the
// engine's (model-agnostic); this wires the UNet in with classifier-free
// guidance, the text encoder with A1111's prompt rules, and the VAE.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/clip_tokenizer.hpp"
#include "engine/guidance.hpp"
#include "engine/rng.hpp"
#include "engine/sampler.hpp"
#include "models/text_encoder_loader.hpp"
#include "models/unet_loader.hpp"
#include "models/vae_loader.hpp"

namespace skingen::models {

struct SdComponents {
  LoadedUNet unet;
  std::optional<LoadedTextEncoder> text_encoder;  // absent when embeddings are given
  LoadedVae vae;
  std::optional<engine::ClipTokenizer> tokenizer;
};

struct GenerationSettings {
  std::string prompt;    // without <lora:…> tags
  std::string negative;
  std::uint64_t seed = 0;
  int steps = 20;
  float cfg = 7.0f;
  engine::GuidanceInterval cfg_interval;  // where cfg applies (σ); elsewhere the prompt alone
  engine::SamplerKind sampler = engine::SamplerKind::Euler;
  engine::ScheduleKind schedule = engine::ScheduleKind::Normal;
  engine::RngKind rng = engine::RngKind::Cpu;
  int width = 512, height = 512;
  int batch = 1;
  // Increment: image i is seeded with seed + i (A1111). Stream: one
  // torch.randn for the whole batch (ComfyUI, diffusers); see engine/rng.hpp.
  engine::BatchSeeds batch_seeds = engine::BatchSeeds::Increment;
  // Stream only: these `batch` images are images [stream_first, stream_first +
  // batch) of a stream batch of `stream_total` (0: the batch itself), so that
  // one image of a batch can be rerun alone (regress).
  int stream_total = 0, stream_first = 0;
  int clip_skip = 0;     // 0: the model's default
  ops::Tiling tiling = ops::Tiling::None;
  // Test hooks for comparisons with other tools.
  std::optional<Tensor> init_latent;  // [1, 4, h, w] unit-variance noise replacing the seeded draw
  std::optional<Tensor> cond, uncond;  // [1, T, D] replacing tokenizer + text encoder
  // img2img
  std::optional<Tensor> init_image;   // [1, 3, H, W] in [-1, 1], NCHW
  double strength = 0.75;
};

struct GenerationTimes {
  double text = 0, sampling = 0, vae = 0;
  int model_calls = 0;
};

struct GenerationResult {
  Tensor latent;  // [B, 4, h, w], the sampler's final latent (before VAE scaling is undone)
  Tensor image;   // [B, H, W, 3] (NHWC) in about [-1, 1], not clamped
  GenerationTimes times;
};

class SdPipeline {
 public:
  SdPipeline(ops::Context& ctx, SdComponents components);

  // Validates settings (UsageError naming the flag) and runs. Throws
  // skingen::Cancelled when hooks.cancel is raised between steps.
  GenerationResult generate(const GenerationSettings& s, const engine::SamplerHooks& hooks = {});

  // The conditioning A1111 would build for `text`: [1, 77·chunks, D].
  Tensor encode_text(const std::string& text, int clip_skip);

  const SdComponents& components() const { return c_; }
  engine::BufferPool& pool() { return pool_; }

 private:
  ops::Context& ctx_;
  SdComponents c_;
  engine::BufferPool pool_;
};

}  // namespace skingen::models
