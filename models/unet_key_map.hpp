#pragma once
// The one translation table between the UNet's canonical (diffusers) names
// and the single-file LDM names (one table per translation: docs/ARCHITECTURE.md,
// "Rules the code follows"; the table itself: docs/FORMATS.md, "LDM ↔ diffusers
// names"). Source of the mapping:
// huggingface/diffusers scripts/convert_diffusers_to_original_stable_diffusion.py
// (unet_conversion_map, unet_conversion_map_resnet, unet_conversion_map_layer),
// generalised from its hard-coded 2 res blocks per level to any count.
#include <optional>
#include <string>
#include <vector>

namespace skingen::models {

// What the index arithmetic of the LDM names depends on.
struct UNetBlockLayout {
  int levels = 0;
  int num_res_blocks = 0;
  std::vector<bool> attention;  // per level
  bool mid_attention = true;
};

// Reads the block layout from tensor names (without the model prefix) in either naming.
// Throws FormatError (prefixed with `source`) when the names do not form a UNet.
UNetBlockLayout detect_unet_block_layout(const std::vector<std::string>& names, bool ldm, const std::string& source);

// "down_blocks.0.resnets.1.norm1.weight" → "input_blocks.2.0.in_layers.0.weight"; nullopt if not a UNet name.
std::optional<std::string> unet_diffusers_to_ldm(const std::string& name, const UNetBlockLayout& layout);
// The inverse.
std::optional<std::string> unet_ldm_to_diffusers(const std::string& name, const UNetBlockLayout& layout);

}  // namespace skingen::models
