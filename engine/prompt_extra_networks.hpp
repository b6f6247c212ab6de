#pragma once
// A1111's extra-network tags (`modules/extra_networks.py` parse_prompt,
// `extensions-builtin/Lora/extra_networks_lora.py` activate):
//   every match of `<(\w+):([^>]+)>` is removed from the prompt text, its
//   arguments split at ':'; an argument "key=value" is named, the others are
//   positional.
//   <lora:NAME>              text encoder and UNet multiplier 1.0
//   <lora:NAME:W>            both W
//   <lora:NAME:TE:UNET>      text encoder TE, UNet UNET (A1111's order)
//   <lora:NAME:TE:UNET:DYN>  DYN is kohya's dyn_dim (parsed, not applied)
//   named te=, unet=, dyn= override the positional ones.
// `lyco` is an alias of `lora` (A1111 registers it so for LyCORIS files).
// Tags of other kinds (hypernet, …) are removed from the text as upstream
// does and returned unapplied, for the caller to report.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace skingen::engine {

struct LoraTag {
  std::string tag;  // as written, e.g. "<lora:skin_4-000015:0.7>"
  std::string name;
  double te_multiplier = 1.0;
  double unet_multiplier = 1.0;
  std::optional<long long> dyn_dim;
};

struct OtherNetworkTag {
  std::string tag;
  std::string kind;
};

struct ExtractedPrompt {
  std::string text;  // the prompt without the tags
  std::vector<LoraTag> loras;
  std::vector<OtherNetworkTag> others;
};

// Throws UsageError naming the tag for a missing name, a multiplier Python's
// float() rejects (A1111 fails there too), and a multiplier that is not finite.
ExtractedPrompt extract_extra_networks(std::string_view prompt);

// lora_dir/NAME.safetensors, else the one NAME.safetensors in a sub-folder of
// lora_dir (A1111 lists its Lora folder recursively and matches file names
// without extension). Throws UsageError naming the tag and the folder when
// there is none, or two.
std::filesystem::path resolve_lora_file(const LoraTag& lora, const std::optional<std::filesystem::path>& lora_dir);

}  // namespace skingen::engine
