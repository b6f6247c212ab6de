#include "engine/lora_kind.hpp"

#include <algorithm>
#include <array>
#include <set>

#include <nlohmann/json.hpp>

namespace skingen::engine {
namespace {

bool starts(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends(std::string_view s, std::string_view p) { return s.size() >= p.size() && s.substr(s.size() - p.size()) == p; }

enum Part {
  kDown, kUp, kMid, kAlpha, kScale, kDora,
  kHadaW1A, kHadaW1B, kHadaW2A, kHadaW2B, kHadaT1, kHadaT2,
  kLokrW1, kLokrW1A, kLokrW1B, kLokrW2, kLokrW2A, kLokrW2B, kLokrT1, kLokrT2,
  kDiff, kDiffB, kPeftDown, kPeftUp, kOtherAlgo, kParts
};

struct Suffix {
  std::string_view text;
  Part part;
};

// Tensor-name suffixes per module. kohya networks/lora.py (lora_down, lora_up,
// alpha); LyCORIS lycoris/modules/{locon,loha,lokr,full,glora,boft,diag_oft,ia3}.py;
// PEFT (lora_A / lora_B, lora_magnitude_vector) and the older diffusers forms.
constexpr Suffix kSuffixes[] = {
    {".lora_down.weight", kDown}, {".lora_up.weight", kUp}, {".lora_mid.weight", kMid},
    {".alpha", kAlpha}, {".scale", kScale}, {".dora_scale", kDora},
    {".hada_w1_a", kHadaW1A}, {".hada_w1_b", kHadaW1B}, {".hada_w2_a", kHadaW2A}, {".hada_w2_b", kHadaW2B},
    {".hada_t1", kHadaT1}, {".hada_t2", kHadaT2},
    {".lokr_w1", kLokrW1}, {".lokr_w1_a", kLokrW1A}, {".lokr_w1_b", kLokrW1B},
    {".lokr_w2", kLokrW2}, {".lokr_w2_a", kLokrW2A}, {".lokr_w2_b", kLokrW2B},
    {".lokr_t1", kLokrT1}, {".lokr_t2", kLokrT2},
    {".diff", kDiff}, {".diff_b", kDiffB},
    {".lora_A.weight", kPeftDown}, {".lora_B.weight", kPeftUp},
    {".lora.down.weight", kPeftDown}, {".lora.up.weight", kPeftUp},
    {".lora_linear_layer.down.weight", kPeftDown}, {".lora_linear_layer.up.weight", kPeftUp},
    {".lora_magnitude_vector", kDora},
    {".oft_blocks", kOtherAlgo}, {".oft_diag", kOtherAlgo}, {".rescale", kOtherAlgo}, {".on_input", kOtherAlgo},
    {".a1.weight", kOtherAlgo}, {".a2.weight", kOtherAlgo}, {".b1.weight", kOtherAlgo},
    {".b2.weight", kOtherAlgo}, {".bm.weight", kOtherAlgo},
};

// Splits "module.suffix" into the module name and its part.
std::optional<std::pair<std::string_view, Part>> split(std::string_view name) {
  const Suffix* best = nullptr;
  for (const auto& s : kSuffixes)
    if (ends(name, s.text) && name.size() > s.text.size() && (!best || s.text.size() > best->text.size())) best = &s;
  if (best) return std::pair{name.substr(0, name.size() - best->text.size()), best->part};
  // diffusers attention processors: "…attn1.processor.to_q_lora.down.weight".
  for (auto [s, part] : {std::pair{std::string_view(".down.weight"), kPeftDown}, {".up.weight", kPeftUp}}) {
    if (ends(name, s)) {
      const auto module = name.substr(0, name.size() - s.size());
      if (ends(module, "_lora")) return std::pair{module, part};
    }
  }
  return std::nullopt;
}

bool kohya_prefix(std::string_view n) {
  return starts(n, "lora_unet_") || starts(n, "lora_te_") || starts(n, "lora_te1_") || starts(n, "lora_te2_");
}

LoraTarget target_of(std::string_view m) {
  if (starts(m, "lora_unet_") || starts(m, "unet.") || starts(m, "down_blocks.") || starts(m, "mid_block.") ||
      starts(m, "up_blocks.") || starts(m, "conv_in") || starts(m, "conv_out") || starts(m, "time_embedding."))
    return LoraTarget::UNet;
  if (starts(m, "lora_te2_") || starts(m, "text_encoder_2.")) return LoraTarget::TextEncoder2;
  if (starts(m, "lora_te_") || starts(m, "lora_te1_") || starts(m, "text_encoder.") || starts(m, "text_model."))
    return LoraTarget::TextEncoder;
  return LoraTarget::Unknown;
}

// Spatial convolutions of the SD UNet by module name, for LoHa / LoKr files
// that store conv factors flattened to 2-D (diffusers and LDM names, '.' or '_').
bool spatial_conv_name(std::string_view m) {
  for (std::string_view s : {"conv1", "conv2", "downsamplers_0_conv", "upsamplers_0_conv", "downsamplers.0.conv",
                             "upsamplers.0.conv", "conv_in", "conv_out", "in_layers_2", "out_layers_3", "0_op",
                             "in_layers.2", "out_layers.3", "0.op"})
    if (ends(m, s)) return true;
  return false;
}

using Parts = std::array<const KeyInfo*, kParts>;

std::optional<std::int64_t> dim(const KeyInfo* k, std::size_t i) {
  if (!k || k->shape.size() <= i) return std::nullopt;
  return k->shape[i];
}

LoraModuleInfo analyze(std::string_view name, const Parts& p) {
  LoraModuleInfo m;
  m.name = std::string(name);
  m.target = target_of(name);
  m.dora = p[kDora] != nullptr;
  for (const KeyInfo* k : p)
    if (k && k->shape.size() == 4 && k != p[kDora]) m.conv = true;
  auto kernel_of = [&](const KeyInfo* k) {
    if (k && k->shape.size() == 4) m.kernel = std::max(m.kernel, k->shape[2]);
  };
  const bool decomposed_lokr = p[kLokrW1A] || p[kLokrW2A];
  bool plain_scale = false;  // scale = alpha / rank
  if (p[kDown] || p[kUp]) {
    m.algo = p[kMid] ? LoraAlgo::CP : LoraAlgo::LoRA;
    m.rank = dim(p[kDown], 0);
    m.in_features = dim(p[kDown], 1);
    kernel_of(p[kDown]);
    kernel_of(p[kMid]);
    if (m.algo == LoraAlgo::LoRA && m.kernel > 1) m.algo = LoraAlgo::LoCon;
    plain_scale = true;
  } else if (p[kPeftDown] || p[kPeftUp]) {
    m.algo = LoraAlgo::LoRA;
    m.rank = dim(p[kPeftDown], 0);
    m.in_features = dim(p[kPeftDown], 1);
    kernel_of(p[kPeftDown]);
    if (m.kernel > 1) m.algo = LoraAlgo::LoCon;
    plain_scale = true;
  } else if (p[kHadaW1A] || p[kHadaW1B] || p[kHadaW2A] || p[kHadaW2B]) {
    m.algo = LoraAlgo::LoHa;
    m.rank = dim(p[kHadaW1B], 0);
    if (p[kHadaW1B] && p[kHadaW1B]->shape.size() == 2 && !m.conv) m.in_features = dim(p[kHadaW1B], 1);
    kernel_of(p[kHadaT1]);
    plain_scale = true;
  } else if (p[kLokrW1] || p[kLokrW1A] || p[kLokrW2] || p[kLokrW2A] || p[kLokrW2B]) {
    m.algo = LoraAlgo::LoKr;
    m.rank = p[kLokrW1B] ? dim(p[kLokrW1B], 0) : dim(p[kLokrW2B], 0);
    const auto in1 = p[kLokrW1] ? dim(p[kLokrW1], 1) : dim(p[kLokrW1B], 1);
    const auto in2 = p[kLokrW2] ? dim(p[kLokrW2], 1) : dim(p[kLokrW2B], 1);
    if (in1 && in2 && !m.conv) m.in_features = *in1 * *in2;
    kernel_of(p[kLokrW2]);
    kernel_of(p[kLokrT2]);
    plain_scale = decomposed_lokr;  // LyCORIS lokr.py: scale = alpha / dim only when a factor is decomposed
    if (!decomposed_lokr) m.scale = 1.0;
  } else if (p[kDiff]) {
    m.algo = LoraAlgo::Full;
    m.in_features = dim(p[kDiff], 1);
    kernel_of(p[kDiff]);
    m.scale = 1.0;
  }
  if ((m.algo == LoraAlgo::LoHa || m.algo == LoraAlgo::LoKr) && m.kernel == 1 && spatial_conv_name(name)) {
    m.conv = true;
    m.kernel = 3;  // flattened factors: the SD UNet's named convolutions are 3x3
  }
  if (p[kAlpha] && p[kAlpha]->value) m.alpha = p[kAlpha]->value;
  if (plain_scale && m.rank && *m.rank > 0) {
    // kohya LoRAModule: alpha None or 0 means alpha = rank.
    const double alpha = m.alpha && *m.alpha != 0 ? *m.alpha : static_cast<double>(*m.rank);
    m.scale = alpha / static_cast<double>(*m.rank);
  }
  if (p[kScale] && p[kScale]->value) m.scale = p[kScale]->value;  // an explicit .scale overrides alpha / rank
  return m;
}

std::optional<ValueStats> stats(const std::vector<double>& values) {
  if (values.empty()) return std::nullopt;
  std::map<double, std::size_t> counts;
  for (double v : values) ++counts[v];
  ValueStats s;
  s.count = values.size();
  s.min = counts.begin()->first;
  s.max = counts.rbegin()->first;
  std::size_t best = 0;
  for (const auto& [v, n] : counts)
    if (n > best) best = n, s.most_common = v;
  return s;
}

// diffusers writes PEFT's LoraConfig as JSON: {"unet.r": 4, "unet.lora_alpha": 8, …}
// (loaders/lora_pipeline.py `lora_adapter_metadata`). Returns (r, lora_alpha) per component prefix.
std::map<std::string, std::pair<double, double>> peft_alphas(const std::map<std::string, std::string>& metadata,
                                                             std::vector<std::string>& notes) {
  std::map<std::string, std::pair<double, double>> out;
  const auto it = metadata.find("lora_adapter_metadata");
  if (it == metadata.end()) return out;
  const auto j = nlohmann::json::parse(it->second, nullptr, false);
  if (!j.is_object()) {
    notes.push_back("__metadata__ lora_adapter_metadata is not a JSON object; alphas assumed equal to ranks");
    return out;
  }
  for (const std::string comp : {"unet", "text_encoder", "text_encoder_2"}) {
    const auto r = j.find(comp + ".r");
    const auto a = j.find(comp + ".lora_alpha");
    if (r != j.end() && a != j.end() && r->is_number() && a->is_number())
      out[comp] = {r->get<double>(), a->get<double>()};
    const auto pat = j.find(comp + ".alpha_pattern");
    if (pat != j.end() && pat->is_object() && !pat->empty())
      notes.push_back(comp + ": per-module alpha_pattern present; scales shown use the global lora_alpha");
  }
  return out;
}

// The family from one module's input width: cross-attention to_k (context width) first.
void decide_family(LoraInfo& info) {
  std::optional<std::int64_t> ctx, te_width, proj_in_dims;
  bool te2 = false;
  for (const auto& m : info.module_list) {
    const std::string_view n = m.name;
    if (m.target == LoraTarget::UNet && m.in_features && !ctx &&
        (ends(n, "attn2_to_k") || ends(n, "attn2.to_k") || ends(n, "attn2.processor.to_k_lora")))
      ctx = m.in_features;
    if (m.target == LoraTarget::TextEncoder && m.in_features && !te_width &&
        (ends(n, "self_attn_q_proj") || ends(n, "self_attn.q_proj")))
      te_width = m.in_features;
    if (m.target == LoraTarget::TextEncoder2) te2 = true;
    if (m.target == LoraTarget::UNet && (ends(n, "proj_in")) && !proj_in_dims) proj_in_dims = m.conv ? 4 : 2;
  }
  const ModelFamily te_family = te2 ? ModelFamily::SDXL : te_width ? family_from_text_width(*te_width)
                                                                   : ModelFamily::Unknown;
  if (ctx) {
    info.family = family_from_context_dim(*ctx);
    info.family_evidence = "UNet cross-attention to_k input width " + std::to_string(*ctx);
    if (te_family != ModelFamily::Unknown && info.family != ModelFamily::Unknown && te_family != info.family)
      info.notes.push_back("the text-encoder modules look like " + std::string(family_name(te_family)) +
                           " but the UNet modules like " + std::string(family_name(info.family)));
  } else if (te_family != ModelFamily::Unknown) {
    info.family = te_family;
    info.family_evidence = te2 ? "second text encoder modules (lora_te2 / text_encoder_2)"
                               : "text encoder q_proj input width " + std::to_string(*te_width);
  } else if (info.unet_naming == "ldm") {
    info.family = ModelFamily::SDXL;  // only kohya's SDXL networks name UNet modules the LDM way
    info.family_evidence = "kohya UNet modules in LDM naming (input_blocks / output_blocks)";
  } else if (proj_in_dims == 4) {
    info.family = ModelFamily::SD1;  // SD 1.x is the only family with 1x1-conv proj_in
    info.family_evidence = "proj_in patched as a 1x1 convolution";
  } else if (proj_in_dims == 2) {
    info.notes.push_back("proj_in is linear (SD 2.x or SDXL), but no cross-attention module tells which");
  }
}

}  // namespace

std::string_view lora_format_id(LoraFormat f) { return f == LoraFormat::Kohya ? "kohya" : "peft"; }

std::string_view lora_algo_id(LoraAlgo a) {
  switch (a) {
    case LoraAlgo::LoRA: return "lora";
    case LoraAlgo::LoCon: return "locon";
    case LoraAlgo::CP: return "cp";
    case LoraAlgo::LoHa: return "loha";
    case LoraAlgo::LoKr: return "lokr";
    case LoraAlgo::Full: return "full";
    case LoraAlgo::Other: break;
  }
  return "other";
}

std::string_view lora_algo_name(LoraAlgo a) {
  switch (a) {
    case LoraAlgo::LoRA: return "LoRA";
    case LoraAlgo::LoCon: return "LoCon";
    case LoraAlgo::CP: return "CP/Tucker (lora_mid)";
    case LoraAlgo::LoHa: return "LoHa";
    case LoraAlgo::LoKr: return "LoKr";
    case LoraAlgo::Full: return "full diff";
    case LoraAlgo::Other: break;
  }
  return "other LyCORIS algorithm";
}

bool looks_like_lora(const std::vector<KeyInfo>& keys) {
  for (const auto& k : keys) {
    if (kohya_prefix(k.name)) return true;
    const auto s = split(k.name);
    if (s && s->second != kAlpha && s->second != kScale && s->second != kDiff && s->second != kDiffB &&
        s->second != kOtherAlgo)
      return true;
  }
  return false;
}

LoraInfo detect_lora(const std::vector<KeyInfo>& keys, const std::map<std::string, std::string>& metadata) {
  LoraInfo info;
  std::map<std::string, Parts, std::less<>> modules;
  for (const auto& k : keys) {
    const auto s = split(k.name);
    if (!s) {
      if (++info.unrecognised_tensors <= 5) info.unrecognised_examples.push_back(k.name);
      continue;
    }
    auto it = modules.find(s->first);
    if (it == modules.end()) it = modules.emplace(std::string(s->first), Parts{}).first;
    it->second[s->second] = &k;
  }
  bool kohya = false;
  for (const auto& [name, parts] : modules) kohya |= kohya_prefix(name);
  info.format = kohya ? LoraFormat::Kohya : LoraFormat::Peft;
  const auto peft = kohya ? decltype(peft_alphas(metadata, info.notes)){} : peft_alphas(metadata, info.notes);

  std::set<LoraAlgo> algos;
  std::vector<double> ranks, alphas, scales;
  for (const auto& [name, parts] : modules) {
    LoraModuleInfo m = analyze(name, parts);
    if (!kohya && !m.alpha && m.rank) {
      // PEFT: lora_alpha from the adapter metadata, else lora_alpha = r (scale 1).
      const std::string comp = m.target == LoraTarget::TextEncoder2 ? "text_encoder_2"
                               : m.target == LoraTarget::TextEncoder ? "text_encoder" : "unet";
      if (const auto it = peft.find(comp); it != peft.end() && it->second.first > 0) {
        m.alpha = it->second.second;
        m.scale = it->second.second / it->second.first;
      }
    }
    if (m.algo == LoraAlgo::Other && !parts[kOtherAlgo]) {
      // Only an alpha, scale or dora_scale: a fragment, not a module.
      if (++info.unrecognised_tensors <= 5) info.unrecognised_examples.push_back(name + " (incomplete module)");
      continue;
    }
    algos.insert(m.algo);
    info.dora |= m.dora;
    ++info.modules;
    switch (m.target) {
      case LoraTarget::UNet: ++info.unet_modules; break;
      case LoraTarget::TextEncoder: ++info.text_encoder_modules; break;
      case LoraTarget::TextEncoder2: ++info.text_encoder_2_modules; break;
      case LoraTarget::Unknown: ++info.unknown_target_modules; break;
    }
    if (m.conv) ++info.conv_modules;
    if (m.kernel > 1) ++info.conv3x3_modules;
    if (m.rank) ranks.push_back(static_cast<double>(*m.rank));
    if (m.alpha) alphas.push_back(*m.alpha);
    else if (m.algo != LoraAlgo::Full) ++info.modules_without_alpha;
    if (m.scale) scales.push_back(*m.scale);
    if (m.target == LoraTarget::UNet && info.unet_naming.empty()) {
      const bool ldm = m.name.find("input_blocks") != std::string::npos ||
                       m.name.find("output_blocks") != std::string::npos ||
                       m.name.find("middle_block") != std::string::npos;
      info.unet_naming = ldm ? "ldm" : "diffusers";
    }
    info.module_list.push_back(std::move(m));
  }
  info.algos.assign(algos.begin(), algos.end());
  for (auto a : info.algos) {
    // kohya's LoCon is LoRA on linears plus LoRA on 3x3 convolutions: one kind.
    if (a == LoraAlgo::LoRA && algos.count(LoraAlgo::LoCon)) continue;
    info.kind += (info.kind.empty() ? "" : " + ") + std::string(lora_algo_name(a));
  }
  if (info.dora) info.kind += info.kind.empty() ? "DoRA" : " + DoRA";
  if (info.kind.empty()) info.kind = "no recognised modules";
  info.ranks = stats(ranks);
  info.alphas = stats(alphas);
  info.scales = stats(scales);
  decide_family(info);
  return info;
}

}  // namespace skingen::engine
