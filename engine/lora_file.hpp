#pragma once
// Reads a LoRA file of any supported layout into modules: groups tensors by
// module key and role (the suffix tables in lora_file.cpp), converts them to
// fp32, rejects NaN/Inf and inconsistent shapes, and fills in alphas from
// diffusers' `lora_adapter_metadata` where the file carries no .alpha tensor.
// Knows no model: which module a key adapts is decided later (lora_index).
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "engine/lora_module.hpp"

namespace skingen::engine {

struct LoraFile {
  std::filesystem::path path;
  std::string name;  // the file name without .safetensors: "skin_4-000015"
  std::map<std::string, std::string> metadata;
  std::vector<LoraModule> modules;        // sorted by key
  std::vector<std::string> unrecognized;  // tensors of no known adapter kind (OFT, bundled embeddings, …)
  std::uint64_t file_bytes = 0;
  double read_seconds = 0;

  // Throws FormatError naming the file (and tensor) for a malformed file, a
  // non-float tensor, NaN/Inf, or tensors of a module that do not fit together.
  static LoraFile open(const std::filesystem::path& path);

  // "sd_v1", "sdxl_base_v1-0", … from kohya's ss_base_model_version, or "".
  std::string base_model() const;
};

// Splits a tensor name into module key and role by its suffix; false when the
// suffix is not one of a LoRA format. Exposed for tests.
bool split_lora_tensor_name(const std::string& name, std::string& module_key, LoraRole& role, LoraNaming& naming);

// PEFT's pattern rule (peft/utils/other.py get_pattern_key): a pattern key
// applies to a module whose name equals it or ends with "." + it.
bool peft_pattern_matches(const std::string& pattern, const std::string& module_name);

}  // namespace skingen::engine
