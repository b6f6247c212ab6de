#pragma once
// CLIP text transformer (HF transformers modeling_clip.py CLIPTextModel; the
// SD 1.x text encoder, ViT-L/14's text tower) and the SD 2.x OpenCLIP ViT-H
// text tower, which has the same math with exact GELU. Canonical names are
// HF's (`text_model.encoder.layers.{i}.self_attn.q_proj.weight` …), which is
// also what kohya's `lora_te_…` keys spell.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/layers.hpp"

namespace skingen::models {

struct ClipTextConfig {
  int vocab_size = 49408;
  int max_positions = 77;
  int width = 768;
  int layers = 12;
  int heads = 12;           // width / 64 for both CLIP-L and OpenCLIP-H
  int intermediate = 3072;
  float eps = 1e-5f;
  bool quick_gelu = true;   // OpenAI CLIP; OpenCLIP uses exact GELU
  int default_clip_skip = 1;  // SD 2.x conditions on the penultimate layer (FrozenOpenCLIPEmbedder "penultimate")
  std::string summary() const;
  // Overrides from HF CLIPTextConfig fields (num_attention_heads, hidden_act,
  // layer_norm_eps) — a diffusers text_encoder/config.json or --text-encoder-config.
  void apply_json(const nlohmann::json& j, const std::string& source);
};

class ClipEncoderLayer {
 public:
  ClipEncoderLayer(ops::Context& ctx, const WeightScope& ws, const ClipTextConfig& c);
  Tensor forward(const RunContext& rc, const Tensor& x) const;  // [B, T, D] → same

 private:
  int heads_;
  bool quick_gelu_;
  LayerNorm layer_norm1;
  ops::Linear q_proj, k_proj, v_proj, out_proj;
  LayerNorm layer_norm2;
  ops::Linear fc1, fc2;
};

class ClipTextModel {
 public:
  ClipTextModel(ops::Context& ctx, const WeightScope& ws, const ClipTextConfig& c);

  // ids: I32/I64 [B, T ≤ max_positions] → [B, T, width]: the hidden state
  // clip_skip − 1 layers before the last, then final_layer_norm (A1111's rule;
  // clip_skip 0 means the model's default).
  Tensor forward(const RunContext& rc, const Tensor& ids, int clip_skip = 0) const;

  const ClipTextConfig& config() const { return config_; }
  // FLOPs of one forward (linears and attention matmuls) of batch n, t tokens, with clip_skip as forward takes it.
  double flops(int n, int t, int clip_skip = 0) const;

 private:
  ClipTextConfig config_;
  Tensor token_embedding;     // [V, D]
  Tensor position_embedding;  // [P, D]
  std::vector<ClipEncoderLayer> layers;
  LayerNorm final_layer_norm;
};

}  // namespace skingen::models
