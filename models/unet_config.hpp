#pragma once
// The architecture of a UNet2DConditionModel (SD 1.x / 2.x), as detected from
// a checkpoint's keys and shapes or read from a diffusers config.json.
// Defaults are SD 1.5's (CompVis configs/stable-diffusion/v1-inference.yaml).
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "engine/prediction.hpp"

namespace skingen::models {

using Prediction = engine::Prediction;

struct UNetConfig {
  int in_channels = 4;
  int out_channels = 4;
  int model_channels = 320;                 // block_out_channels[0]
  std::vector<int> channel_mult{1, 2, 4, 4};
  int num_res_blocks = 2;                   // layers_per_block
  std::vector<bool> attention{true, true, true, false};  // per level (down and mirrored up)
  std::vector<int> transformer_depth{1, 1, 1, 0};        // per level
  bool mid_attention = true;
  int mid_transformer_depth = 1;
  int context_dim = 768;
  bool linear_proj = false;                 // use_linear_projection (SD 2.x)
  // Heads are not visible in shapes. SD 1.x: a fixed 8 heads; SD 2.x: head dim 64
  // (docs/FORMATS.md, "Family and configuration from keys").
  int num_heads = 8;                        // used when head_dim == 0
  int head_dim = 0;                         // > 0: heads = channels / head_dim per level
  int time_embed_dim = 1280;                // 4 · model_channels
  float norm_eps = 1e-5f;                   // resnet and final GroupNorm
  float transformer_norm_eps = 1e-6f;       // Transformer2D GroupNorm (CompVis Normalize(eps=1e-6))
  float layer_norm_eps = 1e-5f;             // LayerNorm in the transformer blocks
  int norm_groups = 32;
  Prediction prediction = Prediction::Epsilon;

  int levels() const { return static_cast<int>(channel_mult.size()); }
  int channels(int level) const { return model_channels * channel_mult[static_cast<std::size_t>(level)]; }
  int heads(int channels) const { return head_dim > 0 ? channels / head_dim : num_heads; }

  // Same field names as diffusers' UNet2DConditionModel config.json where one exists.
  nlohmann::json to_json() const;
  // Overrides the fields present in a diffusers config.json (or our own to_json()); throws naming the field.
  void apply_json(const nlohmann::json& j, const std::string& source);
  std::string summary() const;  // one line for inspect / load reports
};

std::string prediction_name(Prediction p);

}  // namespace skingen::models
