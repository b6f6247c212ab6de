#include "engine/checkpoint_kind.hpp"

#include <charconv>
#include <set>
#include <span>

namespace skingen::engine {
namespace {

bool starts(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends(std::string_view s, std::string_view p) { return s.size() >= p.size() && s.substr(s.size() - p.size()) == p; }

// The layer index after `marker` in `name` ("encoder.layers." → 11), if any.
std::optional<std::int64_t> index_after(std::string_view name, std::string_view marker) {
  const auto at = name.find(marker);
  if (at == std::string_view::npos) return std::nullopt;
  const char* b = name.data() + at + marker.size();
  const char* e = name.data() + name.size();
  std::int64_t v = 0;
  const auto r = std::from_chars(b, e, v);
  if (r.ec != std::errc() || r.ptr == b) return std::nullopt;
  return v;
}

enum Slot { kUnet, kVae, kText, kText2, kEma, kOther };

struct PrefixRule {
  std::string_view prefix;
  Slot slot;
};

// CompVis LatentDiffusion (SD 1.x / 2.x) and Stability-AI sgm DiffusionEngine (SDXL) state dicts.
constexpr PrefixRule kLdmRules[] = {
    {"model.diffusion_model.", kUnet},   {"first_stage_model.", kVae},
    {"cond_stage_model.", kText},        {"conditioner.embedders.0.", kText},
    {"conditioner.embedders.1.", kText2}, {"model_ema.diffusion_model", kEma},
};
// TensorStore names the files of a diffusers folder by component folder.
constexpr PrefixRule kDiffusersRules[] = {
    {"unet/", kUnet}, {"vae/", kVae}, {"text_encoder/", kText}, {"text_encoder_2/", kText2}};

template <std::size_t N>
bool any_prefix(const std::vector<KeyInfo>& keys, const PrefixRule (&rules)[N]) {
  for (const auto& k : keys)
    for (const auto& r : rules)
      if (starts(k.name, r.prefix)) return true;
  return false;
}

// A single part with no component prefix: which one, from marker keys.
Slot single_part(const std::vector<KeyInfo>& keys, KeyLayout& layout) {
  for (const auto& k : keys) {
    const std::string_view n = k.name;
    if (starts(n, "input_blocks.") || starts(n, "middle_block.") || starts(n, "output_blocks.")) {
      layout = KeyLayout::LDM;
      return kUnet;
    }
    if (starts(n, "time_embedding.") || (starts(n, "down_blocks.") && n.find(".attentions.") != n.npos)) {
      layout = KeyLayout::Diffusers;
      return kUnet;
    }
    if (starts(n, "encoder.down.") || starts(n, "decoder.up.") || starts(n, "decoder.mid.")) {
      layout = KeyLayout::LDM;
      return kVae;
    }
    if (starts(n, "encoder.down_blocks.") || starts(n, "decoder.up_blocks.")) {
      layout = KeyLayout::Diffusers;
      return kVae;
    }
    if (starts(n, "text_model.encoder.") || starts(n, "transformer.resblocks.")) {
      layout = starts(n, "text_model.") ? KeyLayout::Diffusers : KeyLayout::LDM;
      return kText;
    }
  }
  return kOther;
}

void summarize(ComponentSummary& c, std::string prefix, const std::vector<const KeyInfo*>& keys) {
  c.present = !keys.empty();
  c.prefix = std::move(prefix);
  c.tensors = keys.size();
  c.parameters = float_parameters(keys);
}

// Text encoder facts; returns the family it implies. `open_clip`: named as
// open_clip names it (transformer.resblocks.N), SD 2.x's cond_stage_model.model.
ModelFamily describe_text_encoder(CheckpointInfo& info, const std::vector<const KeyInfo*>& te, bool sdxl_prefix,
                                  std::string& evidence, bool& open_clip) {
  std::set<std::int64_t> layers;
  bool hf = false;
  open_clip = false;
  for (const auto* k : te) {
    if (ends(k->name, "token_embedding.weight") && k->shape.size() == 2) info.text_width = k->shape[1];
    if (auto i = index_after(k->name, "encoder.layers.")) layers.insert(*i), hf = true;
    if (auto i = index_after(k->name, "transformer.resblocks.")) layers.insert(*i), open_clip = true;
  }
  if (!layers.empty()) info.text_layers = static_cast<std::int64_t>(layers.size());
  info.text_encoder_type = open_clip ? "OpenCLIP text model (open_clip naming)"
                           : hf      ? "CLIP text model (transformers naming)"
                                     : "unrecognised text encoder";
  if (sdxl_prefix) {
    evidence = "SDXL text encoder keys (conditioner.embedders / text_encoder_2)";
    return ModelFamily::SDXL;
  }
  if (open_clip) {
    // SD 2.x conditions on OpenCLIP ViT-H (FrozenOpenCLIPEmbedder) stored as cond_stage_model.model.
    evidence = "OpenCLIP text encoder (open_clip naming), width " +
               (info.text_width ? std::to_string(*info.text_width) : std::string("?"));
    return info.text_width && *info.text_width == 1280 ? ModelFamily::SDXL : ModelFamily::SD2;
  }
  if (info.text_width) {
    evidence = "text encoder width " + std::to_string(*info.text_width) + " (token_embedding)";
    if (*info.text_width == 1280) return ModelFamily::SDXL;  // OpenCLIP bigG, SDXL's second encoder
    return family_from_text_width(*info.text_width);
  }
  return ModelFamily::Unknown;
}

void describe_unet(CheckpointInfo& info, const std::vector<const KeyInfo*>& unet) {
  for (const auto* k : unet) {
    const std::string_view n = k->name;
    if ((ends(n, "input_blocks.0.0.weight") || ends(n, "conv_in.weight")) && k->shape.size() == 4) {
      info.unet_model_channels = k->shape[0];
      info.unet_in_channels = k->shape[1];
    }
    if (ends(n, "attn2.to_k.weight") && k->shape.size() == 2 && !info.context_dim) info.context_dim = k->shape[1];
    if (ends(n, "proj_in.weight") && !info.linear_proj) info.linear_proj = k->shape.size() == 2;
  }
  if (info.unet_in_channels == 9) info.notes.push_back("inpainting UNet (9 input channels: latent, mask, masked image)");
  if (info.unet_in_channels == 8) info.notes.push_back("instruct-pix2pix UNet (8 input channels)");
}

}  // namespace

std::string_view kind_id(ModelKind k) {
  switch (k) {
    case ModelKind::Checkpoint: return "checkpoint";
    case ModelKind::UNet: return "unet";
    case ModelKind::VAE: return "vae";
    case ModelKind::TextEncoder: return "text_encoder";
    case ModelKind::Unknown: break;
  }
  return "unknown";
}

std::string_view layout_id(KeyLayout l) { return l == KeyLayout::LDM ? "ldm" : "diffusers"; }

CheckpointInfo detect_checkpoint(const std::vector<KeyInfo>& keys) {
  CheckpointInfo info;
  std::vector<const KeyInfo*> slots[kOther + 1];
  std::string prefixes[kOther + 1];
  const bool diffusers = any_prefix(keys, kDiffusersRules);
  const bool ldm = !diffusers && any_prefix(keys, kLdmRules);
  if (diffusers || ldm) {
    info.kind = ModelKind::Checkpoint;
    info.layout = diffusers ? KeyLayout::Diffusers : KeyLayout::LDM;
    for (const auto& k : keys) {
      Slot slot = kOther;
      for (const auto& r : diffusers ? std::span<const PrefixRule>(kDiffusersRules) : std::span<const PrefixRule>(kLdmRules))
        if (starts(k.name, r.prefix)) {
          slot = r.slot;
          // The first matching key's prefix names the component; SDXL's two text encoders share a slot each.
          if (prefixes[slot].empty()) prefixes[slot] = std::string(r.prefix);
          break;
        }
      slots[slot].push_back(&k);
    }
  } else {
    const Slot part = single_part(keys, info.layout);
    info.kind = part == kUnet ? ModelKind::UNet : part == kVae ? ModelKind::VAE
              : part == kText ? ModelKind::TextEncoder : ModelKind::Unknown;
    for (const auto& k : keys) {
      // Training leftovers in standalone VAE files (A1111 sd_vae.py ignores these).
      const bool leftover = starts(k.name, "loss.") || starts(k.name, "model_ema.");
      slots[part == kOther || leftover ? kOther : part].push_back(&k);
    }
  }
  summarize(info.unet, prefixes[kUnet], slots[kUnet]);
  summarize(info.vae, prefixes[kVae], slots[kVae]);
  summarize(info.text_encoder, prefixes[kText], slots[kText]);
  summarize(info.text_encoder_2, prefixes[kText2], slots[kText2]);
  summarize(info.ema, prefixes[kEma], slots[kEma]);
  summarize(info.other, "", slots[kOther]);

  describe_unet(info, slots[kUnet]);
  const bool has_text = !slots[kText].empty() || !slots[kText2].empty();
  bool sdxl_text = info.text_encoder_2.present;
  for (const auto* k : slots[kText]) sdxl_text |= starts(k->name, "conditioner.");
  std::string text_evidence;
  bool open_clip = false;
  const ModelFamily text_family =
      !has_text ? ModelFamily::Unknown : describe_text_encoder(info, slots[kText], sdxl_text, text_evidence, open_clip);

  if (info.context_dim || info.linear_proj) {
    // The UNet's facts and the text encoder's naming, by the reference loaders' rule.
    const auto rule = sd_family({info.context_dim, info.linear_proj, open_clip && !sdxl_text});
    info.family = rule.family;
    info.family_evidence = rule.evidence;
    const ModelFamily unet_family = info.context_dim ? family_from_context_dim(*info.context_dim) : ModelFamily::Unknown;
    if (text_family != ModelFamily::Unknown && unet_family != ModelFamily::Unknown && text_family != unet_family)
      info.notes.push_back("the text encoder looks like " + std::string(family_name(text_family)) + " (" +
                           text_evidence + ") but the UNet's context width like " + std::string(family_name(unet_family)));
  } else if (text_family != ModelFamily::Unknown) {
    info.family = text_family;
    info.family_evidence = text_evidence;
  }
  if (info.kind == ModelKind::VAE)
    info.notes.push_back("SD 1.x, 2.x and SDXL share the VAE architecture: the family cannot be told from a VAE alone");
  if (info.family == ModelFamily::SD2)
    info.notes.push_back("epsilon or v-prediction is not recorded in the weights (SD 2.x 768-v models use v)");
  if (info.kind == ModelKind::Checkpoint && info.layout == KeyLayout::LDM && !info.unet.present)
    info.notes.push_back("no UNet (model.diffusion_model.*) in this checkpoint");
  return info;
}

}  // namespace skingen::engine
