#include "models/lora_targets.hpp"

#include <algorithm>
#include <cstring>
#include <map>

#include "engine/core/error.hpp"
#include "models/text_encoder_loader.hpp"

namespace skingen::models {
namespace {

constexpr const char* kWeight = ".weight";

std::string strip_weight(const std::string& n) { return n.substr(0, n.size() - 7); }

engine::LoraComponent unet_component(const engine::TensorStore& store, const UNetDetection* det) {
  engine::LoraComponent c;
  c.name = "unet";
  c.display = "UNet";
  // kohya sd-scripts networks/lora.py LORA_PREFIX_UNET; SD 1.x files use diffusers module
  // names, SDXL-style files LDM names: both are in the index through the aliases.
  c.kohya_prefixes = {"lora_unet_"};
  // diffusers/PEFT "unet."; LDM-named dotted keys as ComfyUI accepts them; unprefixed
  // old attention-processor files (diffusers loaders/unet.py load_attn_procs).
  c.dotted_prefixes = {"unet.", "model.diffusion_model.", "diffusion_model.", ""};
  // diffusers utils/state_dict_utils.py UNET_TO_DIFFUSERS
  c.dotted_renames = {{"to_q_lora", "to_q"}, {"to_k_lora", "to_k"}, {"to_v_lora", "to_v"}, {"to_out_lora", "to_out.0"}};
  if (!det) {
    c.targets_known = false;
    return c;
  }
  const UNetDetection& d = *det;
  const std::string& prefix = d.location.prefix;
  for (const auto* e : store.with_prefix(prefix)) {
    const std::string stored = e->name.substr(prefix.size());
    if (!stored.ends_with(kWeight)) continue;
    const auto canonical = d.location.ldm ? unet_ldm_to_diffusers(stored, d.layout) : std::optional<std::string>(stored);
    if (!canonical) continue;  // not a UNet weight (the loader reports leftovers)
    const auto ldm = d.location.ldm ? std::optional<std::string>(stored) : unet_diffusers_to_ldm(stored, d.layout);
    engine::LoraWeightTarget t;
    t.canonical = strip_weight(*canonical);
    t.shape = e->info->shape;
    t.stored_weight = e->name;
    const std::string bias = e->name.substr(0, e->name.size() - 7) + ".bias";
    t.has_bias = store.contains(bias);
    if (t.has_bias) t.stored_bias = bias;
    if (ldm && strip_weight(*ldm) != t.canonical) t.aliases.push_back(strip_weight(*ldm));
    c.targets.push_back(std::move(t));
  }
  const std::int64_t context = d.config.context_dim;
  c.explain_mismatch = [context](const engine::LoraWeightTarget& t, const engine::Shape& delta) -> std::string {
    const bool cross = t.canonical.ends_with("attn2.to_k") || t.canonical.ends_with("attn2.to_v");
    if (!cross || delta.size() < 2 || delta[1] == context) return "";
    const std::string fam = family_for_context_dim(delta[1]);
    return "the LoRA's cross-attention input is " + std::to_string(delta[1]) + " wide" +
           (fam.empty() ? "" : " (" + fam + ")") + ", this model's context is " + std::to_string(context) +
           ": the LoRA was made for another model family";
  };
  return c;
}

// The OpenCLIP layout (SD 2.x single files) through the text-encoder loader's
// name table (openclip_name): q/k/v are thirds of the fused in_proj tensors.
void add_openclip_targets(engine::LoraComponent& c, const engine::TensorStore& store, const TextEncoderDetection& d) {
  std::vector<std::string> modules = {"text_model.final_layer_norm", "text_model.embeddings.token_embedding"};
  for (int i = 0; i < d.config.layers; ++i)
    for (const char* leaf : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "mlp.fc1",
                             "mlp.fc2", "layer_norm1", "layer_norm2"})
      modules.push_back("text_model.encoder.layers." + std::to_string(i) + "." + leaf);
  for (const auto& m : modules) {
    const auto w = openclip_name(m + kWeight);
    const auto* e = w ? store.find(d.prefix + w->stored) : nullptr;
    if (!e || e->info->shape.empty()) continue;
    engine::LoraWeightTarget t;
    t.canonical = m;
    t.shape = e->info->shape;
    t.stored_weight = e->name;
    if (w->third >= 0) {
      t.shape[0] /= 3;
      t.stored_row0 = w->third * t.shape[0];
    }
    const auto b = openclip_name(m + ".bias");
    t.has_bias = b && store.contains(d.prefix + b->stored);
    if (t.has_bias) t.stored_bias = d.prefix + b->stored;
    c.targets.push_back(std::move(t));
  }
}

}  // namespace

std::string family_for_context_dim(std::int64_t dim) {
  static const std::map<std::int64_t, std::string> families{{768, "SD 1.x"}, {1024, "SD 2.x"}, {2048, "SDXL"}};
  const auto it = families.find(dim);
  return it == families.end() ? "" : it->second;
}

engine::LoraComponent text_encoder_lora_component(const engine::TensorStore& store) {
  engine::LoraComponent c;
  c.name = "text_encoder";
  c.display = "text encoder";
  c.kohya_prefixes = {"lora_te_"};  // sd-scripts LORA_PREFIX_TEXT_ENCODER
  c.dotted_prefixes = {"text_encoder."};
  // diffusers DIFFUSERS_OLD_TO_PEFT: the text encoder's old processor names
  c.dotted_renames = {{"to_q_lora", "q_proj"}, {"to_k_lora", "k_proj"}, {"to_v_lora", "v_proj"}, {"to_out_lora", "out_proj"}};
  if (!has_text_encoder(store)) {
    c.targets_known = false;
    return c;
  }
  const auto d = detect_text_encoder(store);
  if (d.layout == TextEncoderLayout::OpenClip) {
    add_openclip_targets(c, store, d);
    return c;
  }
  // HF CLIPTextModel: the stored names under the prefix are the canonical names.
  for (const auto* e : store.with_prefix(d.prefix + "text_model.")) {
    if (!e->name.ends_with(kWeight)) continue;
    engine::LoraWeightTarget t;
    t.canonical = strip_weight(e->name.substr(d.prefix.size()));
    t.shape = e->info->shape;
    t.stored_weight = e->name;
    const std::string bias = strip_weight(e->name) + ".bias";
    t.has_bias = store.contains(bias);
    if (t.has_bias) t.stored_bias = bias;
    c.targets.push_back(std::move(t));
  }
  return c;
}

engine::Tensor read_lora_target(const engine::TensorStore& store, const engine::LoraWeightTarget& t, bool bias) {
  const std::string& name = bias ? t.stored_bias : t.stored_weight;
  const engine::Tensor all = store.read_f32(name);
  const engine::Shape want = bias ? engine::Shape{t.shape[0]} : t.shape;
  const std::int64_t n = engine::shape_numel(want);
  if (t.stored_row0 == 0 && all.numel() == n) return all.reshaped(want);
  const std::int64_t row = all.numel() / all.dim(0);
  if (t.stored_row0 * row + n > all.numel())
    throw FormatError(store.path().string() + ": tensor '" + name + "' is too small for " + t.canonical);
  engine::Tensor r = engine::Tensor::f32(want);
  std::memcpy(r.f32_mut(), all.f32_data() + t.stored_row0 * row, static_cast<std::size_t>(n) * sizeof(float));
  return r;
}

engine::LoraModelTargets lora_model_targets(const engine::TensorStore& store, const UNetDetection* unet,
                                            const LoraLoadedParts& loaded) {
  engine::LoraModelTargets m;
  m.components.push_back(unet_component(store, unet));
  m.components.back().loaded = loaded.unet && unet;
  m.components.push_back(text_encoder_lora_component(store));
  m.components.back().loaded = loaded.text_encoder && m.components.back().targets_known;
  if (unet) {
    m.model = unet->family;
  } else {
    // No UNet: the family from the text encoder's width (CLIP-L 768: SD 1.x; OpenCLIP-H 1024: SD 2.x).
    const auto& te = m.components.back().targets;
    const auto it = std::find_if(te.begin(), te.end(), [](const engine::LoraWeightTarget& t) { return t.canonical.ends_with("mlp.fc2"); });
    m.model = it == te.end() ? "SD" : family_for_context_dim(it->shape[0]);
    if (m.model.empty()) m.model = "SD";
  }
  // kohya sd-scripts sdxl_train_network / networks/lora.py: SDXL has two text encoders
  // (lora_te1_, lora_te2_); SD3 adds a third; Flux / SD3 transformers have no UNet blocks.
  const std::string sdxl = "SDXL's (two text encoders)";
  m.foreign = {{"lora_te1_", sdxl},
               {"lora_te2_", sdxl},
               {"text_encoder_2.", sdxl},
               {"lora_te3_", "SD3's (third text encoder)"},
               {"lora_unet_double_blocks_", "Flux's (double blocks)"},
               {"lora_unet_single_blocks_", "Flux's (single blocks)"},
               {"lora_unet_joint_blocks_", "SD3's (joint blocks)"},
               {"lora_transformer_", "a transformer model's (Flux/SD3)"},
               {"transformer.", "a transformer model's (Flux/SD3)"}};
  return m;
}

}  // namespace skingen::models
