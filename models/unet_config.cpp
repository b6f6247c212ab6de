#include "models/unet_config.hpp"

#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"

namespace skingen::models {

std::string prediction_name(Prediction p) { return p == Prediction::V ? "v_prediction" : "epsilon"; }

nlohmann::json UNetConfig::to_json() const {
  std::vector<int> block_out;
  for (int l = 0; l < levels(); ++l) block_out.push_back(channels(l));
  std::vector<std::string> down, up;
  for (int l = 0; l < levels(); ++l)
    down.push_back(attention[static_cast<std::size_t>(l)] ? "CrossAttnDownBlock2D" : "DownBlock2D");
  for (int l = levels() - 1; l >= 0; --l)
    up.push_back(attention[static_cast<std::size_t>(l)] ? "CrossAttnUpBlock2D" : "UpBlock2D");
  nlohmann::json j = {
      {"in_channels", in_channels},
      {"out_channels", out_channels},
      {"block_out_channels", block_out},
      {"layers_per_block", num_res_blocks},
      {"down_block_types", down},
      {"up_block_types", up},
      {"mid_block_type", mid_attention ? "UNetMidBlock2DCrossAttn" : "UNetMidBlock2D"},
      {"transformer_layers_per_block", transformer_depth},
      {"cross_attention_dim", context_dim},
      {"use_linear_projection", linear_proj},
      {"norm_num_groups", norm_groups},
      {"norm_eps", std::stod(std::to_string(norm_eps))},  // 1e-05, not 9.99999974e-06
      {"time_embed_dim", time_embed_dim},
      {"prediction_type", prediction_name(prediction)},
  };
  // diffusers spells head counts "num_attention_heads" (or, historically,
  // "attention_head_dim"); the per-head width is skingen's own "head_dim".
  std::vector<int> heads_per_level;
  for (int l = 0; l < levels(); ++l) heads_per_level.push_back(heads(channels(l)));
  j["num_attention_heads"] = heads_per_level;
  if (head_dim > 0) j["head_dim"] = head_dim;
  return j;
}

void UNetConfig::apply_json(const nlohmann::json& j, const std::string& source) {
  auto field = [&](const char* name) -> const nlohmann::json* {
    auto it = j.find(name);
    return it == j.end() || it->is_null() ? nullptr : &*it;
  };
  try {
    if (auto* v = field("in_channels")) in_channels = v->get<int>();
    if (auto* v = field("out_channels")) out_channels = v->get<int>();
    if (auto* v = field("layers_per_block")) num_res_blocks = v->get<int>();
    if (auto* v = field("cross_attention_dim")) context_dim = v->get<int>();
    if (auto* v = field("use_linear_projection")) linear_proj = v->get<bool>();
    if (auto* v = field("norm_num_groups")) norm_groups = v->get<int>();
    if (auto* v = field("norm_eps")) norm_eps = v->get<float>();
    if (auto* v = field("block_out_channels")) {
      const auto ch = v->get<std::vector<int>>();
      if (ch.empty() || ch[0] <= 0) throw UsageError(source + ": 'block_out_channels' must be positive");
      model_channels = ch[0];
      channel_mult.clear();
      for (int c : ch) channel_mult.push_back(c / model_channels);
    }
    if (auto* v = field("down_block_types")) {
      attention.clear();
      for (const auto& t : *v) attention.push_back(t.get<std::string>().find("CrossAttn") != std::string::npos);
    }
    if (auto* v = field("mid_block_type"))
      mid_attention = v->get<std::string>().find("CrossAttn") != std::string::npos;
    if (auto* v = field("transformer_layers_per_block")) {
      if (v->is_number()) transformer_depth.assign(channel_mult.size(), v->get<int>());
      else transformer_depth = v->get<std::vector<int>>();
    }
    // diffusers' "attention_head_dim" is a head count for SD 1.x configs (8) and
    // a per-head width for SD 2.x (5, 10, 20, 20 heads of 64 → [5, 10, 20, 20]
    // in the config); "num_attention_heads", when present, is always a count.
    if (auto* v = field("num_attention_heads")) {
      num_heads = v->is_array() ? v->at(0).get<int>() : v->get<int>();
      head_dim = 0;
      if (v->is_array())
        for (const auto& x : *v)
          if (x.get<int>() != num_heads) head_dim = channels(0) / num_heads;  // per-level counts of one width
    } else if (auto* v = field("attention_head_dim")) {
      if (v->is_array()) {  // per level: heads = that number (diffusers passes it as heads)
        num_heads = v->at(0).get<int>();
        head_dim = 0;
        const int n0 = num_heads;
        bool all_same = true;
        for (const auto& x : *v) all_same = all_same && x.get<int>() == n0;
        if (!all_same) head_dim = channels(0) / n0;  // SD 2.x: [5, 10, 20, 20] means head width 64
      } else {
        num_heads = v->get<int>();
        head_dim = 0;
      }
    }
    if (auto* v = field("head_dim")) {  // skingen's own override: width per head
      head_dim = v->get<int>();
    }
    if (auto* v = field("prediction_type")) {
      const auto p = v->get<std::string>();
      if (p == "epsilon" || p == "eps") prediction = Prediction::Epsilon;
      else if (p == "v_prediction" || p == "v") prediction = Prediction::V;
      else throw UsageError(source + ": 'prediction_type' must be epsilon or v_prediction, got '" + p + "'");
    }
    if (auto* v = field("time_embed_dim")) time_embed_dim = v->get<int>();
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(source + ": bad UNet config field: " + e.what());
  }
  if (attention.size() != channel_mult.size() || transformer_depth.size() != channel_mult.size())
    throw UsageError(source + ": block types, transformer depths and block_out_channels disagree in length");
}

std::string UNetConfig::summary() const {
  std::string mult, attn;
  for (std::size_t i = 0; i < channel_mult.size(); ++i) {
    if (i) {
      mult += ',';
      attn += ',';
    }
    mult += std::to_string(channel_mult[i]);
    attn += attention[i] ? std::to_string(transformer_depth[i]) : std::string("-");
  }
  std::string heads_s = head_dim > 0 ? "head dim " + std::to_string(head_dim) : std::to_string(num_heads) + " heads";
  return "UNet " + std::to_string(model_channels) + "ch ×(" + mult + "), " + std::to_string(num_res_blocks) +
         " res blocks, attention depth (" + attn + ")" + (mid_attention ? " + mid" : "") + ", " + heads_s +
         ", context " + std::to_string(context_dim) + ", " + (linear_proj ? "linear" : "conv") + " proj, " +
         prediction_name(prediction);
}

}  // namespace skingen::models
