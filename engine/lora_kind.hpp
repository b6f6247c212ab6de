#pragma once
// What a LoRA file holds, from its key names, shapes and alpha values: the
// format (kohya / LyCORIS `lora_unet_…` keys, or diffusers / PEFT), the
// algorithm of each module (LoRA, LoCon, CP/Tucker, LoHa, LoKr, full diff,
// DoRA), ranks, alphas and effective scales, which network it patches and
// for which Stable Diffusion family. Pure functions over key lists; key
// suffixes from kohya-ss sd-scripts networks/lora.py, KohakuBlueleaf/LyCORIS
// lycoris/modules/*.py and PEFT / diffusers (docs/FORMATS.md, "LoRA key naming").
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/key_info.hpp"
#include "engine/model_family.hpp"

namespace skingen::engine {

enum class LoraFormat { Kohya, Peft };
std::string_view lora_format_id(LoraFormat f);  // "kohya", "peft"

enum class LoraAlgo { LoRA, LoCon, CP, LoHa, LoKr, Full, Other };
std::string_view lora_algo_id(LoraAlgo a);    // "lora", "locon", "cp", "loha", "lokr", "full", "other"
std::string_view lora_algo_name(LoraAlgo a);  // "LoRA", "LoCon", "CP/Tucker (lora_mid)", …

enum class LoraTarget { UNet, TextEncoder, TextEncoder2, Unknown };

struct LoraModuleInfo {
  std::string name;  // key prefix, e.g. "lora_unet_down_blocks_0_attentions_0_proj_in"
  LoraTarget target = LoraTarget::Unknown;
  LoraAlgo algo = LoraAlgo::Other;
  bool dora = false;
  bool conv = false;              // patches a convolution (4-D weights or a conv layer name)
  std::int64_t kernel = 1;        // > 1: a spatial (e.g. 3x3) convolution
  std::optional<std::int64_t> rank;
  std::optional<double> alpha;    // the `.alpha` tensor (kohya / LyCORIS) or PEFT's lora_alpha
  std::optional<double> scale;    // effective multiplier of ΔW at strength 1
  std::optional<std::int64_t> in_features;
};

struct ValueStats {
  double min = 0, max = 0, most_common = 0;  // most common: the smallest among ties
  std::size_t count = 0;                       // modules with a value
};

struct LoraInfo {
  LoraFormat format = LoraFormat::Kohya;
  std::vector<LoraAlgo> algos;  // distinct, in enum order
  bool dora = false;
  std::string kind;             // "LoRA", "LoCon", "LoHa + LoKr", … ("+ DoRA" when dora_scale is present)
  std::string unet_naming;      // "diffusers" or "ldm" (SDXL kohya files), empty without UNet modules
  ModelFamily family = ModelFamily::Unknown;
  std::string family_evidence;

  std::size_t modules = 0, unet_modules = 0, text_encoder_modules = 0, text_encoder_2_modules = 0,
              unknown_target_modules = 0;
  std::size_t conv_modules = 0;      // modules patching any convolution (incl. 1x1)
  std::size_t conv3x3_modules = 0;   // modules patching spatial convolutions (kernel > 1)

  std::optional<ValueStats> ranks, alphas, scales;
  std::size_t modules_without_alpha = 0;  // alpha = rank (kohya's rule)

  std::size_t unrecognised_tensors = 0;        // tensors that fit no known module form
  std::vector<std::string> unrecognised_examples;  // the first few of them
  std::vector<LoraModuleInfo> module_list;     // sorted by name
  std::vector<std::string> notes;
};

// True when the keys are those of a LoRA-style adapter rather than a model.
bool looks_like_lora(const std::vector<KeyInfo>& keys);

// `metadata` is the file's __metadata__ (PEFT alphas may live there).
LoraInfo detect_lora(const std::vector<KeyInfo>& keys, const std::map<std::string, std::string>& metadata);

}  // namespace skingen::engine
