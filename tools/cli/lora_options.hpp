#pragma once
// --lora FILE[:UNET_SCALE[:TE_SCALE]] (repeatable), --lora-strict, --verbose:
// parsing and the wiring from a checkpoint to a LoraPatcher.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "engine/lora_patcher.hpp"
#include "models/lora_targets.hpp"
#include "tools/cli/common_options.hpp"

namespace skingen::cli {

// "skin.safetensors:0.8:0.5" → path, unet 0.8, text encoder 0.5 (TE defaults to
// the UNet multiplier, both to 1). Throws UsageError naming the flag.
engine::LoraRequest parse_lora_spec(const std::string& spec);

// nullptr when no --lora was given. Reads and checks every LoRA (FormatError
// for anything inapplicable) before the caller loads the model.
std::unique_ptr<engine::LoraPatcher> make_lora_patcher(ops::Context& ctx, const engine::TensorStore& store,
                                                       const models::UNetDetection& unet, const ModelOptions& o,
                                                       const models::LoraLoadedParts& parts,
                                                       bool record_norms = false);

void print_lora_report(const engine::LoraPatcher& patcher, std::FILE* to);

}  // namespace skingen::cli
