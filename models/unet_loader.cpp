#include "models/unet_loader.hpp"

#include <chrono>
#include <cmath>
#include <fstream>

#include "engine/core/error.hpp"
#include "engine/model_family.hpp"

namespace skingen::models {
namespace {

constexpr const char* kLdmPrefix = "model.diffusion_model.";
// SD 2.x single files keep their OpenCLIP text encoder here (FrozenOpenCLIPEmbedder).
constexpr const char* kOpenClipPrefix = "cond_stage_model.model.";

bool any_with_prefix(const engine::TensorStore& s, const std::string& p) { return !s.with_prefix(p).empty(); }

std::vector<std::string> names_under(const engine::TensorStore& s, const std::string& prefix) {
  std::vector<std::string> r;
  for (const auto* e : s.with_prefix(prefix)) r.push_back(e->name.substr(prefix.size()));
  return r;
}

// ComfyUI's heuristic for SD 2.x checkpoints without a config (comfy/model_detection.py,
// `model_type` of supported_models.SD20): v-prediction models have a last output
// resnet conv with a clearly larger spread.
bool looks_like_v_prediction(const engine::TensorStore& store, const std::string& stored_name) {
  const auto* e = store.find(stored_name);
  if (!e) return false;
  const engine::Tensor w = e->file->read_f32(*e->info);
  double sum = 0, sq = 0;
  const auto n = w.numel();
  for (std::int64_t i = 0; i < n; ++i) sum += w.f32_data()[i];
  const double mean = sum / static_cast<double>(n);
  for (std::int64_t i = 0; i < n; ++i) sq += (w.f32_data()[i] - mean) * (w.f32_data()[i] - mean);
  return std::sqrt(sq / static_cast<double>(n)) > 0.09;
}

// The config field that sets the heads (UNetConfig::apply_json's order), if any; null counts as absent.
std::optional<std::string> heads_key(const nlohmann::json& j) {
  for (const char* k : {"head_dim", "num_attention_heads", "attention_head_dim"})
    if (j.contains(k) && !j[k].is_null()) return std::string(k);
  return std::nullopt;
}

}  // namespace

std::string UNetLocation::layout_name() const {
  if (prefix == "unet/") return "diffusers folder";
  if (!ldm) return "diffusers UNet file";
  return prefix.empty() ? "LDM UNet file" : "LDM single file";
}

UNetLocation locate_unet(const engine::TensorStore& store) {
  const std::string where = store.path().string();
  for (const char* sdxl : {"model.diffusion_model.label_emb.", "label_emb.", "unet/add_embedding.", "add_embedding."})
    if (any_with_prefix(store, sdxl))
      throw FormatError(where + ": this is an SDXL UNet (tensor '" + std::string(sdxl) +
                        "…'); skingen supports SD 1.x and 2.x");
  if (any_with_prefix(store, kLdmPrefix)) return {kLdmPrefix, true};
  if (any_with_prefix(store, "unet/down_blocks.")) return {"unet/", false};
  if (any_with_prefix(store, "down_blocks.") && store.contains("conv_in.weight")) return {"", false};
  if (any_with_prefix(store, "input_blocks.") && store.contains("input_blocks.0.0.weight")) return {"", true};
  throw FormatError(where + ": no UNet found (looked for '" + kLdmPrefix +
                    "…', a diffusers 'unet/' folder, and bare 'down_blocks.…' or 'input_blocks.…' names)");
}

CheckpointWeightsNameMap unet_name_map(const UNetDetection& d) {
  if (!d.location.ldm) return nullptr;  // canonical names are the stored names
  const auto layout = d.layout;
  return [layout](const std::string& n) { return unet_diffusers_to_ldm(n, layout); };
}

UNetDetection detect_unet(const engine::TensorStore& store, const UNetLoadOptions& options) {
  UNetDetection d;
  d.location = locate_unet(store);
  const std::string where = store.path().string();
  const auto names = names_under(store, d.location.prefix);
  d.layout = detect_unet_block_layout(names, d.location.ldm, where);
  const auto map = unet_name_map(d);

  auto shape = [&](const std::string& canonical) -> std::optional<engine::Shape> {
    const auto stored = map ? map(canonical) : std::optional<std::string>(canonical);
    if (!stored) return std::nullopt;
    const auto* e = store.find(d.location.prefix + *stored);
    if (!e) return std::nullopt;
    return e->info->shape;
  };
  auto require = [&](const std::string& canonical, std::size_t ndim) {
    auto s = shape(canonical);
    if (!s || s->size() < ndim)
      throw FormatError(where + ": UNet tensor for '" + canonical + "' is missing or malformed (" +
                        d.location.layout_name() + ")");
    return *s;
  };
  auto count = [&](const std::string& prefix_fmt) {
    int n = 0;
    while (shape(prefix_fmt + std::to_string(n) + ".norm1.weight")) ++n;
    return n;
  };

  UNetConfig& c = d.config;
  const auto conv_in = require("conv_in.weight", 4);
  c.in_channels = static_cast<int>(conv_in[1]);
  c.model_channels = static_cast<int>(conv_in[0]);
  c.out_channels = static_cast<int>(require("conv_out.weight", 4)[0]);
  c.time_embed_dim = static_cast<int>(require("time_embedding.linear_1.weight", 2)[0]);
  c.num_res_blocks = d.layout.num_res_blocks;
  c.attention = d.layout.attention;
  c.mid_attention = d.layout.mid_attention;
  c.channel_mult.clear();
  c.transformer_depth.clear();
  std::optional<engine::Shape> any_to_k, any_proj_in;
  for (int l = 0; l < d.layout.levels; ++l) {
    const std::string lvl = "down_blocks." + std::to_string(l) + ".";
    const auto conv1 = require(lvl + "resnets.0.conv1.weight", 4);
    if (conv1[0] % c.model_channels != 0)
      throw FormatError(where + ": level " + std::to_string(l) + " has " + std::to_string(conv1[0]) +
                        " channels, not a multiple of " + std::to_string(c.model_channels));
    c.channel_mult.push_back(static_cast<int>(conv1[0] / c.model_channels));
    int depth = 0;
    if (c.attention[static_cast<std::size_t>(l)]) {
      depth = count(lvl + "attentions.0.transformer_blocks.");
      if (!any_to_k) any_to_k = shape(lvl + "attentions.0.transformer_blocks.0.attn2.to_k.weight");
      if (!any_proj_in) any_proj_in = shape(lvl + "attentions.0.proj_in.weight");
    }
    c.transformer_depth.push_back(depth);
  }
  c.mid_transformer_depth = c.mid_attention ? count("mid_block.attentions.0.transformer_blocks.") : 0;
  if (!any_to_k && c.mid_attention) any_to_k = shape("mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight");
  if (!any_proj_in && c.mid_attention) any_proj_in = shape("mid_block.attentions.0.proj_in.weight");
  if (any_to_k) c.context_dim = static_cast<int>(any_to_k->at(1));
  c.linear_proj = any_proj_in && any_proj_in->size() == 2;

  // Heads are not visible in shapes: SD 1.x and SD 2.x are told apart as the
  // reference loaders do (engine/model_family.hpp sd_family), then their real
  // configs give the heads (docs/FORMATS.md, "Family and configuration from keys").
  const auto rule = engine::sd_family({any_to_k ? std::optional<std::int64_t>(c.context_dim) : std::nullopt,
                                       any_proj_in ? std::optional<bool>(c.linear_proj) : std::nullopt,
                                       any_with_prefix(store, kOpenClipPrefix)});
  const bool sd2 = rule.head_width_64;
  d.family = sd2 ? "SD 2.x" : "SD 1.x";
  if (sd2) {
    c.head_dim = 64;
    d.heads_rule = "channels / 64 (SD 2.x num_head_channels 64), because of the " + rule.evidence;
  } else {
    c.num_heads = 8;
    c.head_dim = 0;
    d.heads_rule = "8 (SD 1.x num_heads 8), because of the " + rule.evidence;
  }

  // Prediction type: explicit option > config > metadata > SD 2.x heuristic > ε.
  d.prediction_source = "default for " + d.family;
  c.prediction = Prediction::Epsilon;
  if (auto it = store.metadata().find("modelspec.prediction_type"); it != store.metadata().end()) {
    c.prediction = it->second.find('v') == 0 ? Prediction::V : Prediction::Epsilon;
    d.prediction_source = "metadata modelspec.prediction_type";
  } else if (sd2 && d.location.ldm) {
    const std::string probe = d.location.prefix + "output_blocks." +
                              std::to_string(d.layout.levels * (d.layout.num_res_blocks + 1) - 1) +
                              ".0.out_layers.3.weight";
    if (looks_like_v_prediction(store, probe)) c.prediction = Prediction::V;
    d.prediction_source = "guessed from the weights of " + probe + " (ComfyUI's rule; override with --prediction)";
  }

  if (store.is_folder()) {
    const auto cfg_path = store.path() / "unet" / "config.json";
    if (std::ifstream f(cfg_path); f) {
      nlohmann::json j;
      try {
        f >> j;
      } catch (const nlohmann::json::exception& e) {
        throw FormatError(cfg_path.string() + ": not valid JSON: " + e.what());
      }
      c.apply_json(j, cfg_path.string());
      if (const auto key = heads_key(j)) d.heads_rule = "unet/config.json (" + *key + ")";
    }
    const auto sched = store.path() / "scheduler" / "scheduler_config.json";
    if (std::ifstream f(sched); f) {
      try {
        nlohmann::json j;
        f >> j;
        if (j.contains("prediction_type")) {
          c.apply_json({{"prediction_type", j["prediction_type"]}}, sched.string());
          d.prediction_source = sched.string();
        }
      } catch (const nlohmann::json::exception& e) {
        throw FormatError(sched.string() + ": not valid JSON: " + e.what());
      }
    }
  }
  if (options.config_override) {
    c.apply_json(*options.config_override, "--unet-config");
    if (const auto key = heads_key(*options.config_override)) d.heads_rule = "--unet-config (" + *key + ")";
  }
  if (options.prediction) {
    c.prediction = *options.prediction;
    d.prediction_source = "--prediction";
  }
  for (int l = 0; l < c.levels(); ++l) {
    const bool mid = l == c.levels() - 1 && c.mid_attention;
    if (!c.attention[static_cast<std::size_t>(l)] && !mid) continue;
    const int ch = c.channels(l), heads = c.heads(ch);
    if (heads <= 0 || ch % heads != 0)
      throw FormatError(where + ": " + std::to_string(ch) + " channels cannot be split into " +
                        (c.head_dim > 0 ? "heads of width " + std::to_string(c.head_dim)
                                        : std::to_string(heads) + " heads") +
                        " (heads: " + d.heads_rule + "); give --unet-config");
  }
  return d;
}

LoadedUNet load_unet(ops::Context& ctx, const engine::TensorStore& store, const UNetLoadOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  LoadedUNet r;
  r.detection = detect_unet(store, options);
  CheckpointWeights weights(store, "unet", r.detection.location.prefix, unet_name_map(r.detection), options.patcher);
  r.model = std::make_unique<UNet2DConditionModel>(ctx, engine::WeightScope(weights), r.detection.config);
  weights.require_all_used();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace skingen::models
