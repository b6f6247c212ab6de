#pragma once
// Stable Diffusion families, told apart by key names and shapes (never by
// file names): the width of the cross-attention context (attn2.to_k input)
// is 768 for SD 1.x (CLIP ViT-L/14), 1024 for SD 2.x (OpenCLIP ViT-H), 2048
// for SDXL (CLIP-L + OpenCLIP bigG concatenated) — CompVis configs
// v1-inference.yaml / v2-inference.yaml, Stability-AI sd_xl_base.yaml.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace skingen::engine {

enum class ModelFamily { Unknown, SD1, SD2, SDXL };

// "sd1", "sd2", "sdxl", "unknown": the JSON value.
std::string_view family_id(ModelFamily f);
// "SD 1.x", "SD 2.x", "SDXL", "unknown": for text output.
std::string_view family_name(ModelFamily f);
// From the cross-attention context width; Unknown for any other width.
ModelFamily family_from_context_dim(std::int64_t dim);
// From a text encoder's hidden width in HF CLIPTextModel form (768 CLIP-L, 1024 OpenCLIP-H).
ModelFamily family_from_text_width(std::int64_t width);

// The key facts the reference loaders tell SD 1.x from SD 2.x by.
struct FamilyFacts {
  std::optional<std::int64_t> context_dim;  // UNet cross-attention context width (attn2.to_k input)
  std::optional<bool> linear_proj;          // UNet proj_in is Linear (2-D weight), not a 1x1 conv
  bool openclip_text = false;               // an SD text encoder named cond_stage_model.model.* (OpenCLIP)
};

struct FamilyRule {
  ModelFamily family = ModelFamily::Unknown;
  // Attention heads of width 64 (heads = channels / 64, LDM `num_head_channels: 64`
  // in v2-inference.yaml and every config with linear transformers) rather than
  // SD 1.x's fixed 8 heads (v1-inference.yaml `num_heads: 8`).
  bool head_width_64 = false;
  std::string evidence;  // the fact that decided, for the user
};

// In this order: a context of 2048 is SDXL; an OpenCLIP text encoder is SD 2.x
// (A1111 sd_models_config.py guess_model_config_from_state_dict tells SD 2.x
// by cond_stage_model.model.*); a context of 1024 is SD 2.x (diffusers'
// single-file loader, infer_diffusers_model_type); a linear proj_in is SD 2.x
// architecture whatever the context width (ComfyUI's model detection reads
// use_linear_in_transformer off the proj_in shape, and only SD 1.x's config
// sets 8 heads: supported_models_base.py defaults to num_head_channels 64);
// a context of 768 is SD 1.x; anything else keeps SD 1.x's 8 heads with an
// unknown family.
FamilyRule sd_family(const FamilyFacts& facts);

}  // namespace skingen::engine
