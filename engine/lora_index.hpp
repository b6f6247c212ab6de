#pragma once
// Which model weight a LoRA module adapts. The model side (models/lora_targets)
// lists its real weights per component, in every naming it is known by
// (UNet: diffusers and LDM names); this index maps
//   kohya keys   prefix + module path with '.' → '_'   (looked up in an index
//                built from the real keys, because '_' also occurs inside
//                names: docs/FORMATS.md, "LoRA key naming"), and
//   dotted keys  diffusers / PEFT "unet.down_blocks.0.….to_q"
// to a target, and finds the closest real key for a key that matched nothing.
#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/core/tensor.hpp"
#include "engine/lora_module.hpp"

namespace skingen::engine {

struct LoraWeightTarget {
  std::string canonical;             // canonical module name; the weight is canonical + ".weight"
  Shape shape;                       // the weight's stored shape
  bool has_bias = false;
  std::vector<std::string> aliases;  // the same module in other namings (LDM)
  // Where the weight sits in the checkpoint (for lora-check, which reads it
  // without building the model): full store name, and the first row when the
  // weight is a slice of a fused tensor (OpenCLIP's in_proj_weight holds q, k, v).
  std::string stored_weight;
  std::string stored_bias;
  std::int64_t stored_row0 = 0;
};

struct LoraComponent {
  std::string name;     // the WeightPatcher component: "unet", "text_encoder"
  std::string display;  // "UNet", "text encoder"
  bool loaded = true;          // false: matched modules count as "not applied (<display> not loaded)"
  bool targets_known = true;   // false: the checkpoint has no such part; modules are classified by prefix only
  std::vector<std::string> kohya_prefixes;   // "lora_unet_"
  std::vector<std::string> dotted_prefixes;  // "unet.", "" (unprefixed keys)
  // Old diffusers attention-processor names, replaced at the end of a dotted key: {"to_q_lora", "to_q"}.
  std::vector<std::pair<std::string, std::string>> dotted_renames;
  std::vector<LoraWeightTarget> targets;
  // Optional: why a ΔW of shape `delta` does not fit `target` ("made for SDXL: context 2048 ≠ 768").
  std::function<std::string(const LoraWeightTarget& target, const Shape& delta)> explain_mismatch;
};

// A key prefix that belongs to another model family: {"lora_te1_", "SDXL (two text encoders)"}.
struct LoraForeignPrefix {
  std::string prefix;
  std::string family;
};

struct LoraModelTargets {
  std::string model;  // "SD 1.x", for messages
  std::vector<LoraComponent> components;
  std::vector<LoraForeignPrefix> foreign;
};

enum class LoraMatch { Matched, NotLoaded, Unmatched, Foreign };

struct LoraResolution {
  LoraMatch match = LoraMatch::Unmatched;
  int component = -1;  // index into LoraModelTargets::components (-1: unknown)
  int target = -1;     // index into the component's targets (-1 unless matched)
  std::string reason;  // for Unmatched / Foreign
};

class LoraIndex {
 public:
  explicit LoraIndex(const LoraModelTargets& model);

  const LoraModelTargets& model() const { return *model_; }
  LoraResolution resolve(const std::string& module_key) const;
  // The real key (in the same spelling as `module_key`) closest by edit distance, or "".
  std::string closest(const std::string& module_key) const;

 private:
  const LoraModelTargets* model_;
  // per component: underscored name → target (-2: two targets flatten to the same name)
  std::vector<std::unordered_map<std::string, int>> underscore_;
  std::vector<std::unordered_map<std::string, int>> dotted_;

  std::string normalize_dotted(const LoraComponent& c, std::string rest) const;
};

// Levenshtein distance, giving up (returning > limit) once it exceeds `limit`.
std::size_t bounded_edit_distance(const std::string& a, const std::string& b, std::size_t limit);

}  // namespace skingen::engine
