#include "engine/lora_file.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/safetensors_reader.hpp"

namespace skingen::engine {
namespace {

using R = LoraRole;
using N = LoraNaming;

struct Suffix {
  std::string_view text;
  R role;
  N naming;
};

// Tensor-name suffixes of every supported layout. kohya/LyCORIS: sd-scripts
// networks/lora.py, LyCORIS lycoris/modules/{locon,loha,lokr,full}.py (w_norm /
// b_norm: its norm-layer module, a plain diff). diffusers: utils/state_dict_utils.py
// (UNET_TO_DIFFUSERS, DIFFUSERS_OLD_TO_PEFT: `lora.down`, `lora_linear_layer.down`,
// attention-processor `to_q_lora.down`); PEFT: lora_A / lora_B / lora_magnitude_vector.
constexpr std::array<Suffix, 31> kSuffixes{{
    {".lora_down.weight", R::Down, N::Kohya},
    {".lora_up.weight", R::Up, N::Kohya},
    {".lora_mid.weight", R::Mid, N::Kohya},
    {".alpha", R::Alpha, N::Kohya},
    {".scale", R::Scale, N::Kohya},
    {".dora_scale", R::DoraScale, N::Kohya},
    {".hada_w1_a", R::HadaW1A, N::Kohya},
    {".hada_w1_b", R::HadaW1B, N::Kohya},
    {".hada_w2_a", R::HadaW2A, N::Kohya},
    {".hada_w2_b", R::HadaW2B, N::Kohya},
    {".hada_t1", R::HadaT1, N::Kohya},
    {".hada_t2", R::HadaT2, N::Kohya},
    {".lokr_w1", R::LokrW1, N::Kohya},
    {".lokr_w1_a", R::LokrW1A, N::Kohya},
    {".lokr_w1_b", R::LokrW1B, N::Kohya},
    {".lokr_w2", R::LokrW2, N::Kohya},
    {".lokr_w2_a", R::LokrW2A, N::Kohya},
    {".lokr_w2_b", R::LokrW2B, N::Kohya},
    {".lokr_t2", R::LokrT2, N::Kohya},
    {".diff", R::Diff, N::Kohya},
    {".diff_b", R::DiffB, N::Kohya},
    {".w_norm", R::Diff, N::Kohya},
    {".b_norm", R::DiffB, N::Kohya},
    {".lora_A.weight", R::Down, N::Peft},
    {".lora_B.weight", R::Up, N::Peft},
    {".lora_B.bias", R::UpBias, N::Peft},
    {".lora_magnitude_vector", R::DoraScale, N::Peft},
    {".lora.down.weight", R::Down, N::Diffusers},
    {".lora.up.weight", R::Up, N::Diffusers},
    {".lora_linear_layer.down.weight", R::Down, N::Diffusers},
    {".lora_linear_layer.up.weight", R::Up, N::Diffusers},
}};

// Old diffusers attention processors: "….attn1.processor.to_q_lora.down.weight";
// the module key keeps "to_q_lora" (renamed per model by the resolver).
constexpr std::array<Suffix, 2> kProcessorSuffixes{{
    {"_lora.down.weight", R::Down, N::Diffusers},
    {"_lora.up.weight", R::Up, N::Diffusers},
}};

std::string naming_name(N n) {
  switch (n) {
    case N::Kohya: return "kohya/LyCORIS";
    case N::Diffusers: return "diffusers";
    case N::Peft: return "PEFT";
  }
  return "?";
}

void check_finite(const Tensor& t, const std::string& file, const std::string& name) {
  const float* p = t.f32_data();
  const std::int64_t n = t.numel();
  for (std::int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(p[i]))
      throw FormatError(file + ": tensor '" + name + "' contains " + (std::isnan(p[i]) ? "NaN" : "Inf") +
                        " (element " + std::to_string(i) + " of " + std::to_string(n) +
                        "); the LoRA is broken (diverged training or a bad export)");
  }
}

// diffusers' lora_adapter_metadata (loaders/lora_base.py LORA_ADAPTER_METADATA_KEY): JSON of
// the LoraConfig of each component, keys prefixed "unet." / "text_encoder.".
void apply_adapter_metadata(LoraFile& f) {
  const auto it = f.metadata.find("lora_adapter_metadata");
  if (it == f.metadata.end()) return;
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(it->second);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(f.path.string() + ": metadata 'lora_adapter_metadata' is not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw FormatError(f.path.string() + ": metadata 'lora_adapter_metadata' is not a JSON object");
  auto number = [&](const std::string& key) -> std::optional<double> {
    if (!j.contains(key)) return std::nullopt;
    if (!j[key].is_number())
      throw FormatError(f.path.string() + ": lora_adapter_metadata '" + key + "' must be a number");
    return j[key].get<double>();
  };
  for (auto& m : f.modules) {
    if (m.naming == N::Kohya) continue;
    const auto dot = m.key.find('.');
    if (dot == std::string::npos) continue;
    const std::string prefix = m.key.substr(0, dot + 1);  // "unet."
    const std::string inner = m.key.substr(dot + 1);
    if (j.contains(prefix + "use_rslora") && j[prefix + "use_rslora"].is_boolean())
      m.rslora = j[prefix + "use_rslora"].get<bool>();
    if (m.has(R::Alpha)) continue;  // an .alpha tensor wins
    std::optional<double> alpha = number(prefix + "lora_alpha");
    if (j.contains(prefix + "alpha_pattern") && j[prefix + "alpha_pattern"].is_object())
      for (const auto& [pattern, value] : j[prefix + "alpha_pattern"].items())
        if (peft_pattern_matches(pattern, inner) && value.is_number()) {
          alpha = value.get<double>();
          break;
        }
    if (alpha) {
      m.alpha = alpha;
      m.alpha_source = "lora_adapter_metadata";
    }
  }
}

}  // namespace

bool split_lora_tensor_name(const std::string& name, std::string& module_key, LoraRole& role, LoraNaming& naming) {
  const Suffix* best = nullptr;
  for (const auto& s : kSuffixes)
    if (name.size() > s.text.size() && name.ends_with(s.text) && (!best || s.text.size() > best->text.size()))
      best = &s;
  if (!best)
    for (const auto& s : kProcessorSuffixes)
      if (name.size() > s.text.size() && name.ends_with(s.text)) {
        // keep "_lora" in the key: "…processor.to_q_lora"
        module_key = name.substr(0, name.size() - s.text.size() + 5);
        role = s.role;
        naming = s.naming;
        return true;
      }
  if (!best) return false;
  module_key = name.substr(0, name.size() - best->text.size());
  role = best->role;
  naming = best->naming;
  return true;
}

bool peft_pattern_matches(const std::string& pattern, const std::string& module_name) {
  if (pattern.empty()) return false;
  if (module_name == pattern) return true;
  return module_name.size() > pattern.size() && module_name.ends_with(pattern) &&
         module_name[module_name.size() - pattern.size() - 1] == '.';
}

std::string LoraFile::base_model() const {
  const auto it = metadata.find("ss_base_model_version");
  return it == metadata.end() ? "" : it->second;
}

LoraFile LoraFile::open(const std::filesystem::path& path) {
  const auto t0 = std::chrono::steady_clock::now();
  LoraFile f;
  f.path = path;
  f.name = path.filename().string();
  if (f.name.ends_with(".safetensors")) f.name.resize(f.name.size() - 12);
  const std::string where = path.string();
  const auto ext = path.extension().string();
  if (ext == ".ckpt" || ext == ".pt" || ext == ".bin" || ext == ".pth")
    throw FormatError(where + ": pickle LoRA files are not loaded (they can run code); convert to .safetensors");
  const auto file = SafetensorsFile::open(path);  // validates the header and sizes (a truncated file fails here)
  f.metadata = file.metadata();
  f.file_bytes = file.file_size();

  std::unordered_map<std::string, std::size_t> by_key;
  for (const auto& info : file.tensors()) {
    std::string key;
    R role{};
    N naming{};
    if (!split_lora_tensor_name(info.name, key, role, naming)) {
      f.unrecognized.push_back(info.name);
      continue;
    }
    if (!is_float_dtype(info.dtype))
      throw FormatError(where + ": tensor '" + info.name + "' has dtype " + std::string(dtype_name(info.dtype)) +
                        ", expected a float type (F16, BF16, F32)");
    auto [it, fresh] = by_key.emplace(key, f.modules.size());
    if (fresh) {
      f.modules.emplace_back();
      f.modules.back().key = key;
      f.modules.back().naming = naming;
    }
    LoraModule& m = f.modules[it->second];
    const auto slot = static_cast<std::size_t>(role);
    // .alpha / .scale / .dora_scale are shared by every naming; the weights decide it.
    const bool neutral = role == R::Alpha || role == R::Scale || role == R::DoraScale;
    if (!neutral) {
      const bool first_weight = std::none_of(m.names.begin(), m.names.end(), [&](const std::string& n) {
        return !n.empty() && !n.ends_with(".alpha") && !n.ends_with(".scale") && !n.ends_with(".dora_scale");
      });
      if (first_weight) m.naming = naming;
      else if (m.naming != naming)
        throw FormatError(where + ": LoRA module '" + key + "' mixes " + naming_name(m.naming) + " and " +
                          naming_name(naming) + " tensor names ('" + info.name + "')");
    }
    if (!m.names[slot].empty())
      throw FormatError(where + ": LoRA module '" + key + "' has two '" + std::string(lora_role_name(role)) +
                        "' tensors: '" + m.names[slot] + "' and '" + info.name + "'");
    m.names[slot] = info.name;
    m.t[slot] = file.read_f32(info);
    check_finite(m.t[slot], where, info.name);
  }
  apply_adapter_metadata(f);  // before analysis: alphas from metadata where no tensor gave one
  for (auto& m : f.modules) analyse_lora_module(m, where);
  std::sort(f.modules.begin(), f.modules.end(), [](const LoraModule& a, const LoraModule& b) { return a.key < b.key; });
  f.read_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return f;
}

}  // namespace skingen::engine
