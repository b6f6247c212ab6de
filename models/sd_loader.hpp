#pragma once
// Loads what a generation needs from a checkpoint (single file or diffusers
// folder), an optional replacement VAE and a tokenizer, with LoRA patches
// merged at load time. Only the parts asked for are read.
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include "engine/weight_patcher.hpp"
#include "models/sd_pipeline.hpp"

namespace skingen::models {

struct SdLoadOptions {
  std::filesystem::path model;
  std::optional<std::filesystem::path> vae;        // --vae
  std::optional<std::filesystem::path> tokenizer;  // --tokenizer
  UNetLoadOptions unet;                            // config / prediction overrides; .patcher is set from `patcher`
  nlohmann::json text_encoder_config;              // --text-encoder-config
  bool text_encoder = true;                        // false when embeddings are given
  bool vae_encoder = false;                        // img2img
  engine::WeightPatcher* patcher = nullptr;        // LoRA
};

struct SdLoadTimes {
  double unet = 0, text_encoder = 0, vae = 0, tokenizer = 0;
};

SdComponents load_sd(ops::Context& ctx, const SdLoadOptions& o, SdLoadTimes* times = nullptr);

}  // namespace skingen::models
