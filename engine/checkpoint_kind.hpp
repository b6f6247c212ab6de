#pragma once
// What kind of Stable Diffusion weights a key list holds — a full checkpoint
// in the CompVis single-file (LDM) layout, a diffusers folder, or a single
// UNet / VAE / text-encoder part in either naming — and which family, from
// key names and shapes only. Pure functions over key lists.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/key_info.hpp"
#include "engine/model_family.hpp"

namespace skingen::engine {

enum class ModelKind { Checkpoint, UNet, VAE, TextEncoder, Unknown };
std::string_view kind_id(ModelKind k);  // "checkpoint", "unet", "vae", "text_encoder", "unknown"

enum class KeyLayout { LDM, Diffusers };
std::string_view layout_id(KeyLayout l);  // "ldm", "diffusers"

struct ComponentSummary {
  bool present = false;
  std::string prefix;          // where its keys live, e.g. "model.diffusion_model." or "unet/"
  std::size_t tensors = 0;
  std::uint64_t parameters = 0;  // elements of float tensors (integer buffers excluded)
};

struct CheckpointInfo {
  ModelKind kind = ModelKind::Unknown;
  KeyLayout layout = KeyLayout::LDM;
  ModelFamily family = ModelFamily::Unknown;
  std::string family_evidence;  // which key and shape decided, for the user

  ComponentSummary unet, vae, text_encoder, text_encoder_2, ema;
  ComponentSummary other;  // schedule buffers, EMA counters, anything not in a component

  // UNet facts read off shapes (the full UNet config is derived by the graph builder).
  std::optional<std::int64_t> unet_in_channels, unet_model_channels, context_dim;
  std::optional<bool> linear_proj;  // proj_in is Linear (SD 2.x, SDXL) rather than a 1x1 conv

  std::string text_encoder_type;  // e.g. "CLIP text model (transformers naming)"
  std::optional<std::int64_t> text_width, text_layers;

  std::vector<std::string> notes;  // inpainting UNet, family conflicts, what cannot be told from keys
};

CheckpointInfo detect_checkpoint(const std::vector<KeyInfo>& keys);

}  // namespace skingen::engine
