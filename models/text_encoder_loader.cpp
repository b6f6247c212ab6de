#include "models/text_encoder_loader.hpp"

#include <chrono>
#include <cstring>
#include <fstream>

#include "engine/core/error.hpp"
#include "models/checkpoint_weights.hpp"

namespace skingen::models {
namespace {

bool any(const engine::TensorStore& s, const std::string& p) { return !s.with_prefix(p).empty(); }

// OpenCLIP keeps q, k, v fused in one in_proj tensor: a WeightSource that
// slices it, so the module tree (and LoRA's canonical names) stay HF's.
class OpenClipWeights : public engine::WeightSource {
 public:
  OpenClipWeights(const engine::TensorStore& store, std::string prefix, engine::WeightPatcher* patcher)
      : store_(store), prefix_(std::move(prefix)), patcher_(patcher) {}

  engine::Tensor take(const std::string& canonical, const engine::Shape& expected) override {
    const auto n = openclip_name(canonical);
    const auto* e = n ? store_.find(prefix_ + n->stored) : nullptr;
    if (!e)
      throw FormatError(store_.path().string() + ": missing tensor '" + prefix_ + (n ? n->stored : canonical) +
                        "' (text_encoder " + canonical + ")");
    engine::Shape want = expected;
    if (n->third >= 0) want[0] *= 3;
    if (e->info->shape != want)
      throw FormatError(e->file->path().string() + ": tensor '" + e->name + "' has shape " +
                        engine::shape_str(e->info->shape) + ", expected " + engine::shape_str(want));
    engine::Tensor full = store_.read_f32(e->name);
    engine::Tensor w = full;
    if (n->third >= 0) {
      w = engine::Tensor::f32(expected);
      const auto part = w.numel();
      std::memcpy(w.f32_mut(), full.f32_data() + n->third * part, static_cast<std::size_t>(part) * sizeof(float));
    }
    if (patcher_) patcher_->patch("text_encoder", canonical, w);
    return w;
  }
  bool has(const std::string& canonical) const override {
    const auto n = openclip_name(canonical);
    return n && store_.contains(prefix_ + n->stored);
  }
  std::optional<engine::Shape> shape_of(const std::string& canonical) const override {
    const auto n = openclip_name(canonical);
    const auto* e = n ? store_.find(prefix_ + n->stored) : nullptr;
    if (!e) return std::nullopt;
    engine::Shape s = e->info->shape;
    if (n->third >= 0) s[0] /= 3;
    return s;
  }

 private:
  const engine::TensorStore& store_;
  std::string prefix_;
  engine::WeightPatcher* patcher_;
};

}  // namespace

std::optional<OpenClipName> openclip_name(const std::string& canonical) {
  static constexpr std::pair<const char*, const char*> kTop[] = {
      {"text_model.embeddings.token_embedding.weight", "token_embedding.weight"},
      {"text_model.embeddings.position_embedding.weight", "positional_embedding"},
      {"text_model.final_layer_norm.weight", "ln_final.weight"},
      {"text_model.final_layer_norm.bias", "ln_final.bias"},
  };
  for (const auto& [c, s] : kTop)
    if (canonical == c) return OpenClipName{s, -1};
  const std::string layers = "text_model.encoder.layers.";
  if (!canonical.starts_with(layers)) return std::nullopt;
  const auto dot = canonical.find('.', layers.size());
  if (dot == std::string::npos) return std::nullopt;
  const std::string block = "transformer.resblocks." + canonical.substr(layers.size(), dot - layers.size()) + ".";
  const std::string rest = canonical.substr(dot + 1);
  static constexpr std::pair<const char*, const char*> kLeaf[] = {
      {"layer_norm1.", "ln_1."}, {"layer_norm2.", "ln_2."},         {"mlp.fc1.", "mlp.c_fc."},
      {"mlp.fc2.", "mlp.c_proj."}, {"self_attn.out_proj.", "attn.out_proj."},
  };
  for (const auto& [c, s] : kLeaf)
    if (rest.starts_with(c)) return OpenClipName{block + s + rest.substr(std::strlen(c)), -1};
  static constexpr const char* kQkv[] = {"self_attn.q_proj.", "self_attn.k_proj.", "self_attn.v_proj."};
  for (int i = 0; i < 3; ++i)
    if (rest.starts_with(kQkv[i])) {
      const std::string leaf = rest.substr(std::strlen(kQkv[i]));  // weight or bias
      return OpenClipName{block + "attn.in_proj_" + leaf, i};
    }
  return std::nullopt;
}

std::string TextEncoderDetection::layout_name() const {
  if (layout == TextEncoderLayout::OpenClip) return "OpenCLIP checkpoint";
  if (prefix == "text_encoder/") return "diffusers folder";
  return prefix.empty() ? "HF text encoder file" : "checkpoint";
}

bool has_text_encoder(const engine::TensorStore& store) {
  for (const char* p : {"cond_stage_model.transformer.text_model.", "cond_stage_model.model.", "text_encoder/text_model.",
                        "text_model."})
    if (any(store, p)) return true;
  return false;
}

TextEncoderDetection detect_text_encoder(const engine::TensorStore& store, const nlohmann::json& config_override) {
  const std::string where = store.path().string();
  TextEncoderDetection d;
  if (any(store, "conditioner.embedders."))
    throw FormatError(where + ": SDXL text encoders (conditioner.embedders.…) are not supported; SD 1.x and 2.x are");
  if (any(store, "cond_stage_model.transformer.text_model.")) d.prefix = "cond_stage_model.transformer.";
  else if (any(store, "cond_stage_model.model.")) {
    d.prefix = "cond_stage_model.model.";
    d.layout = TextEncoderLayout::OpenClip;
  } else if (any(store, "text_encoder/text_model.")) d.prefix = "text_encoder/";
  else if (any(store, "text_model.")) d.prefix = "";
  else throw FormatError(where + ": no text encoder found (looked for 'cond_stage_model.…', 'text_encoder/', 'text_model.…')");

  auto shape = [&](const std::string& canonical) -> engine::Shape {
    std::string stored = canonical;
    if (d.layout == TextEncoderLayout::OpenClip) {
      const auto n = openclip_name(canonical);
      if (!n) throw FormatError(where + ": no OpenCLIP name for " + canonical);
      stored = n->stored;
    }
    const auto* e = store.find(d.prefix + stored);
    if (!e || e->info->shape.empty())
      throw FormatError(where + ": text encoder tensor '" + d.prefix + stored + "' is missing");
    return e->info->shape;
  };
  ClipTextConfig& c = d.config;
  const auto tok = shape("text_model.embeddings.token_embedding.weight");
  c.vocab_size = static_cast<int>(tok[0]);
  c.width = static_cast<int>(tok[1]);
  c.max_positions = static_cast<int>(shape("text_model.embeddings.position_embedding.weight")[0]);
  c.layers = 0;
  const std::string block = d.layout == TextEncoderLayout::OpenClip ? "transformer.resblocks." : "text_model.encoder.layers.";
  while (any(store, d.prefix + block + std::to_string(c.layers) + ".")) ++c.layers;
  if (c.layers == 0) throw FormatError(where + ": the text encoder has no layers");
  c.intermediate = static_cast<int>(shape("text_model.encoder.layers.0.mlp.fc1.weight")[0]);
  c.heads = c.width / 64;  // ViT-L/14 (768 → 12) and ViT-H/14 (1024 → 16) text towers: 64-wide heads
  const std::string override_hint =
      "; give --text-encoder-config '{\"num_attention_heads\": N}' if this model has other heads";
  if (c.heads == 0 || c.width % 64) {
    c.heads = 1;
    d.heads_rule = "1: no key records the head count and width " + std::to_string(c.width) +
                   " is not a multiple of 64 (the 64-wide heads of CLIP ViT-L and OpenCLIP ViT-H)" + override_hint;
  } else {
    d.heads_rule = "width / 64: no key records the head count; real CLIP ViT-L (768 → 12) and OpenCLIP ViT-H "
                   "(1024 → 16) text towers have 64-wide heads" + override_hint;
  }
  c.quick_gelu = d.layout == TextEncoderLayout::Hf;
  c.default_clip_skip = d.layout == TextEncoderLayout::OpenClip ? 2 : 1;
  if (store.is_folder()) {
    const auto path = store.path() / "text_encoder" / "config.json";
    if (std::ifstream f(path); f) {
      nlohmann::json j;
      try {
        f >> j;
      } catch (const nlohmann::json::exception& e) {
        throw FormatError(path.string() + ": not valid JSON: " + e.what());
      }
      c.apply_json(j, path.string());
      if (j.contains("num_attention_heads")) d.heads_rule = "text_encoder/config.json num_attention_heads";
    }
  }
  if (!config_override.is_null()) {
    c.apply_json(config_override, "--text-encoder-config");
    if (config_override.contains("num_attention_heads")) d.heads_rule = "--text-encoder-config num_attention_heads";
  }
  return d;
}

LoadedTextEncoder load_text_encoder(ops::Context& ctx, const engine::TensorStore& store,
                                    engine::WeightPatcher* patcher, const nlohmann::json& config_override) {
  const auto t0 = std::chrono::steady_clock::now();
  LoadedTextEncoder r;
  r.detection = detect_text_encoder(store, config_override);
  const auto& d = r.detection;
  // Buffers and heads that the conditioning never uses are skipped, not "unused".
  for (const char* skip : {"text_model.embeddings.position_ids", "text_projection", "logit_scale"})
    if (store.contains(d.prefix + skip)) store.mark_used(d.prefix + skip);
  if (d.layout == TextEncoderLayout::OpenClip) {
    OpenClipWeights weights(store, d.prefix, patcher);
    r.model = std::make_unique<ClipTextModel>(ctx, engine::WeightScope(weights, "text_model."), d.config);
  } else {
    CheckpointWeights weights(store, "text_encoder", d.prefix, nullptr, patcher);
    r.model = std::make_unique<ClipTextModel>(ctx, engine::WeightScope(weights, "text_model."), d.config);
  }
  const auto left = store.unused(d.prefix);
  if (!left.empty())
    throw FormatError(store.path().string() + ": " + std::to_string(left.size()) +
                      " text encoder tensor(s) not used by the model, first '" + left.front() + "'");
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace skingen::models
