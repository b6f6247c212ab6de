#include "models/vae_loader.hpp"

#include <chrono>
#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"

namespace skingen::models {
namespace {

bool any(const engine::TensorStore& s, const std::string& p) { return !s.with_prefix(p).empty(); }

}  // namespace

std::string VaeDetection::layout_name() const {
  const std::string n = naming == VaeNaming::Ldm ? "LDM" : naming == VaeNaming::Diffusers ? "diffusers" : "legacy diffusers";
  if (prefix == "first_stage_model.") return "checkpoint (" + n + ")";
  if (prefix == "vae/") return "diffusers folder (" + n + ")";
  return "standalone " + n + " file";
}

bool has_vae(const engine::TensorStore& store) {
  for (const char* p : {"first_stage_model.decoder.", "first_stage_model.encoder.", "vae/decoder.", "vae/encoder.",
                        "decoder.", "encoder."})
    if (any(store, p)) return true;
  return false;
}

VaeDetection detect_vae(const engine::TensorStore& store) {
  const std::string where = store.path().string();
  VaeDetection d;
  if (any(store, "first_stage_model.")) d.prefix = "first_stage_model.";
  else if (any(store, "vae/")) d.prefix = "vae/";
  else if (any(store, "decoder.") || any(store, "encoder.")) d.prefix = "";
  else throw FormatError(where + ": no VAE found (looked for 'first_stage_model.…', a 'vae/' folder, 'decoder.…')");

  const std::string& p = d.prefix;
  if (any(store, p + "decoder.up_blocks.") || any(store, p + "encoder.down_blocks.")) {
    d.naming = (any(store, p + "decoder.mid_block.attentions.0.query.") || any(store, p + "encoder.mid_block.attentions.0.query."))
                   ? VaeNaming::DiffusersLegacyAttention
                   : VaeNaming::Diffusers;
  } else if (any(store, p + "decoder.up.") || any(store, p + "encoder.down.")) {
    d.naming = VaeNaming::Ldm;
  } else {
    throw FormatError(where + ": tensors under '" + p + "' do not form a VAE (no decoder.up… or encoder.down… blocks)");
  }

  // Levels and channels from the encoder when present, else from the decoder.
  auto shape = [&](const std::string& canonical, int levels) -> std::optional<engine::Shape> {
    const auto stored = vae_canonical_to(d.naming, canonical, levels);
    const auto* e = stored ? store.find(p + *stored) : nullptr;
    if (!e) return std::nullopt;
    return e->info->shape;
  };
  VaeConfig& c = d.config;
  int levels = 0;
  const bool enc = any(store, p + "encoder.");
  const std::string blocks = d.naming == VaeNaming::Ldm ? (enc ? "encoder.down." : "decoder.up.")
                                                        : (enc ? "encoder.down_blocks." : "decoder.up_blocks.");
  while (any(store, p + blocks + std::to_string(levels) + ".")) ++levels;
  if (levels == 0) throw FormatError(where + ": VAE has no resolution levels");
  c.block_channels.assign(static_cast<std::size_t>(levels), 0);
  auto require = [&](const std::string& canonical) {
    auto s = shape(canonical, levels);
    if (!s || s->empty()) throw FormatError(where + ": VAE tensor for '" + canonical + "' is missing");
    return *s;
  };
  int res = 0;
  if (enc) {
    for (int l = 0; l < levels; ++l)
      c.block_channels[static_cast<std::size_t>(l)] =
          static_cast<int>(require("encoder.down_blocks." + std::to_string(l) + ".resnets.0.conv1.weight")[0]);
    while (shape("encoder.down_blocks.0.resnets." + std::to_string(res) + ".conv1.weight", levels)) ++res;
    c.in_channels = static_cast<int>(require("encoder.conv_in.weight")[1]);
    c.z_channels = static_cast<int>(require("encoder.conv_out.weight")[0] / 2);
    c.embed_dim = static_cast<int>(require("quant_conv.weight")[0] / 2);
  } else {
    for (int b = 0; b < levels; ++b)
      c.block_channels[static_cast<std::size_t>(levels - 1 - b)] =
          static_cast<int>(require("decoder.up_blocks." + std::to_string(b) + ".resnets.0.conv1.weight")[0]);
    while (shape("decoder.up_blocks.0.resnets." + std::to_string(res) + ".conv1.weight", levels)) ++res;
    res -= 1;
  }
  c.num_res_blocks = res;
  if (any(store, p + "decoder.")) {
    c.out_channels = static_cast<int>(require("decoder.conv_out.weight")[0]);
    c.z_channels = static_cast<int>(require("decoder.conv_in.weight")[1]);
    c.embed_dim = static_cast<int>(require("post_quant_conv.weight")[1]);
  }
  if (store.is_folder()) {
    if (std::ifstream f(store.path() / "vae" / "config.json"); f) {
      try {
        nlohmann::json j;
        f >> j;
        if (j.contains("scaling_factor") && j["scaling_factor"].is_number()) c.scaling_factor = j["scaling_factor"].get<float>();
      } catch (const nlohmann::json::exception& e) {
        throw FormatError((store.path() / "vae" / "config.json").string() + ": not valid JSON: " + e.what());
      }
    }
  }
  return d;
}

LoadedVae load_vae(ops::Context& ctx, const engine::TensorStore& store, bool with_encoder, bool with_decoder) {
  const auto t0 = std::chrono::steady_clock::now();
  LoadedVae r;
  r.detection = detect_vae(store);
  const auto& d = r.detection;
  const int levels = d.config.levels();
  const auto naming = d.naming;
  CheckpointWeights weights(store, "vae", d.prefix,
                            [naming, levels](const std::string& n) { return vae_canonical_to(naming, n, levels); });
  r.model = std::make_unique<AutoencoderKL>(ctx, engine::WeightScope(weights), d.config, with_encoder, with_decoder);
  // The half not asked for is skipped without reading its bytes, and is not "unused".
  std::vector<std::string> skipped;
  if (!with_encoder) skipped = {"encoder.", "quant_conv."};
  if (!with_decoder) skipped.insert(skipped.end(), {"decoder.", "post_quant_conv."});
  for (const auto& s : skipped)
    for (const auto* e : store.with_prefix(d.prefix + s)) store.mark_used(e->name);
  weights.require_all_used();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace skingen::models
