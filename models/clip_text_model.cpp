#include "models/clip_text_model.hpp"

#include <algorithm>

#include "engine/core/error.hpp"
#include "ops/attention.hpp"
#include "ops/elementwise.hpp"
#include "ops/embedding.hpp"

namespace skingen::models {

std::string ClipTextConfig::summary() const {
  return std::string(quick_gelu ? "CLIP" : "OpenCLIP") + " text " + std::to_string(layers) + "×" +
         std::to_string(width) + ", " + std::to_string(heads) + " heads, vocab " + std::to_string(vocab_size);
}

void ClipTextConfig::apply_json(const nlohmann::json& j, const std::string& source) {
  try {
    if (j.contains("num_attention_heads")) heads = j["num_attention_heads"].get<int>();
    if (j.contains("layer_norm_eps")) eps = j["layer_norm_eps"].get<float>();
    if (j.contains("hidden_act")) {
      const auto act = j["hidden_act"].get<std::string>();
      if (act != "quick_gelu" && act != "gelu")
        throw UsageError(source + ": hidden_act must be quick_gelu or gelu, got '" + act + "'");
      quick_gelu = act == "quick_gelu";
    }
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(source + ": bad text encoder config field: " + e.what());
  }
  if (heads <= 0 || width % heads)
    throw UsageError(source + ": " + std::to_string(width) + " channels cannot be split into " + std::to_string(heads) +
                     " heads");
}

ClipEncoderLayer::ClipEncoderLayer(ops::Context& ctx, const WeightScope& ws, const ClipTextConfig& c)
    : heads_(c.heads),
      quick_gelu_(c.quick_gelu),
      layer_norm1(ws.sub("layer_norm1"), c.width, c.eps),
      q_proj(bind_linear(ctx, ws.sub("self_attn").sub("q_proj"), c.width, c.width)),
      k_proj(bind_linear(ctx, ws.sub("self_attn").sub("k_proj"), c.width, c.width)),
      v_proj(bind_linear(ctx, ws.sub("self_attn").sub("v_proj"), c.width, c.width)),
      out_proj(bind_linear(ctx, ws.sub("self_attn").sub("out_proj"), c.width, c.width)),
      layer_norm2(ws.sub("layer_norm2"), c.width, c.eps),
      fc1(bind_linear(ctx, ws.sub("mlp").sub("fc1"), c.width, c.intermediate)),
      fc2(bind_linear(ctx, ws.sub("mlp").sub("fc2"), c.intermediate, c.width)) {}

Tensor ClipEncoderLayer::forward(const RunContext& rc, const Tensor& x) const {
  auto& ctx = rc.ctx;
  auto& pool = rc.pool;
  Tensor n = layer_norm1.forward(rc, x);  // [B, T, D]
  const Tensor q = q_proj.forward(ctx, pool, n);
  const Tensor k = k_proj.forward(ctx, pool, n);
  const Tensor v = v_proj.forward(ctx, pool, n);
  const Tensor o = ops::attention(ctx, pool, q, k, v, {.heads = heads_, .causal = true});
  const Tensor h = out_proj.forward(ctx, pool, o, {.residual = &x});  // [B, T, D]
  n = layer_norm2.forward(rc, h);
  Tensor m = quick_gelu_ ? ops::quick_gelu(ctx, pool, fc1.forward(ctx, pool, n))
                         : fc1.forward(ctx, pool, n, {.activation = ops::Activation::GELU});  // [B, T, 4D]
  return fc2.forward(ctx, pool, m, {.residual = &h});                                            // [B, T, D]
}

ClipTextModel::ClipTextModel(ops::Context& ctx, const WeightScope& ws, const ClipTextConfig& c)
    : config_(c),
      token_embedding(ws.sub("embeddings").sub("token_embedding").take("weight", {c.vocab_size, c.width})),
      position_embedding(ws.sub("embeddings").sub("position_embedding").take("weight", {c.max_positions, c.width})),
      final_layer_norm(ws.sub("final_layer_norm"), c.width, c.eps) {
  for (int i = 0; i < c.layers; ++i) layers.emplace_back(ctx, ws.sub("encoder").sub("layers").sub(i), c);
}

Tensor ClipTextModel::forward(const RunContext& rc, const Tensor& ids, int clip_skip) const {
  const int skip = clip_skip > 0 ? clip_skip : config_.default_clip_skip;
  if (skip > config_.layers)
    throw UsageError("--clip-skip " + std::to_string(skip) + " exceeds the text encoder's " +
                     std::to_string(config_.layers) + " layers");
  if (ids.ndim() != 2 || ids.dim(1) > config_.max_positions)
    throw FormatError("token ids must be [B, T ≤ " + std::to_string(config_.max_positions) + "], got " +
                      engine::shape_str(ids.shape()));
  const auto B = ids.dim(0), T = ids.dim(1), D = static_cast<std::int64_t>(config_.width);
  Tensor x = ops::embedding(rc.ctx, rc.pool, token_embedding, ids);  // [B, T, D]
  float* px = x.f32_mut();
  const float* pos = position_embedding.f32_data();
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t i = 0; i < T * D; ++i) px[b * T * D + i] += pos[i];
  rc.emit("embeddings", x);
  // Hidden state k is the output of layer k-1; clip skip N keeps layers 0 … L−N.
  const int run = config_.layers - (skip - 1);
  for (int i = 0; i < run; ++i) {
    x = layers[static_cast<std::size_t>(i)].forward(rc, x);
    rc.emit("layers." + std::to_string(i), x);
  }
  return final_layer_norm.forward(rc, x);  // [B, T, D]
}

double ClipTextModel::flops(int n, int t, int clip_skip) const {
  const auto& c = config_;
  const int skip = clip_skip > 0 ? clip_skip : c.default_clip_skip;
  const double T = t, D = c.width, I = c.intermediate;
  // q, k, v, out projections; fc1, fc2; scores and weighted values.
  const double layer = 2.0 * n * (4 * T * D * D + 2 * T * D * I + 2 * T * T * D);
  return layer * std::max(0, c.layers - (skip - 1));
}

}  // namespace skingen::models
