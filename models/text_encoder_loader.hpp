#pragma once
// Finds the text encoder in a store — SD 1.x CLIP in a checkpoint
// (`cond_stage_model.transformer.`), a diffusers `text_encoder/` folder, a bare
// HF file, or SD 2.x OpenCLIP (`cond_stage_model.model.`) — derives its config
// from shapes and binds it strictly, LoRA patches included.
#include <memory>
#include <string>

#include "engine/tensor_store.hpp"
#include "engine/weight_patcher.hpp"
#include "models/clip_text_model.hpp"

namespace skingen::models {

enum class TextEncoderLayout { Hf, OpenClip };

struct TextEncoderDetection {
  std::string prefix;  // "cond_stage_model.transformer.", "text_encoder/", "", "cond_stage_model.model."
  TextEncoderLayout layout = TextEncoderLayout::Hf;
  ClipTextConfig config;
  // How config.heads was chosen: no key records a text encoder's head count, so
  // without a config it is width / 64 (real CLIP ViT-L and OpenCLIP ViT-H text
  // towers have 64-wide heads), and the rule says so and names the override.
  std::string heads_rule;
  std::string layout_name() const;
};

bool has_text_encoder(const engine::TensorStore& store);
// `config_override`: HF CLIPTextConfig fields (e.g. num_attention_heads), applied last.
TextEncoderDetection detect_text_encoder(const engine::TensorStore& store,
                                         const nlohmann::json& config_override = nullptr);

// Stored name (relative to the prefix) of a canonical HF name in an OpenCLIP
// file, and which third of a fused in_proj tensor it is (-1: the whole tensor).
struct OpenClipName {
  std::string stored;
  int third = -1;
};
std::optional<OpenClipName> openclip_name(const std::string& canonical);

struct LoadedTextEncoder {
  TextEncoderDetection detection;
  std::unique_ptr<ClipTextModel> model;
  double seconds = 0;
};

LoadedTextEncoder load_text_encoder(ops::Context& ctx, const engine::TensorStore& store,
                                    engine::WeightPatcher* patcher = nullptr,
                                    const nlohmann::json& config_override = nullptr);

}  // namespace skingen::models
