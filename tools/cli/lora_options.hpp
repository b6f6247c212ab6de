#pragma once
// From --lora FILE[:UNET_SCALE[:TE_SCALE]] (parse_lora_spec in job.hpp),
// --lora-strict and --verbose to a LoraPatcher for a checkpoint, and its report.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "engine/lora_patcher.hpp"
#include "models/lora_targets.hpp"
#include "tools/cli/common_options.hpp"
#include "tools/cli/job.hpp"

namespace skingen::cli {

std::vector<LoraSpec> lora_specs(const ModelOptions& o);

// nullptr when `specs` is empty. Reads and checks every LoRA (FormatError for
// anything inapplicable) before the caller loads the model. `unet`: nullptr
// for a store without a UNet.
std::unique_ptr<engine::LoraPatcher> make_lora_patcher(ops::Context& ctx, const engine::TensorStore& store,
                                                       const models::UNetDetection* unet,
                                                       const std::vector<LoraSpec>& specs,
                                                       const models::LoraLoadedParts& parts, bool strict, bool verbose,
                                                       bool record_norms = false);

void print_lora_report(const engine::LoraPatcher& patcher, std::FILE* to);

// Merges every weight `patcher` plans to change, read from `store` as fp32,
// as a model load would, without building the model (lora-check, bench lora).
// Returns the wall and CPU seconds (over a team of `threads`) spent merging,
// reading excluded.
struct MergeTime {
  double wall = 0, cpu = 0;
};
MergeTime merge_planned_weights(const engine::TensorStore& store, engine::LoraPatcher& patcher, int threads);

}  // namespace skingen::cli
