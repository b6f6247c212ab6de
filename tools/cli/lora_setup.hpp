#pragma once
// LoRA requests from the CLI → the weight patcher the loaders merge with.
#include <memory>
#include <string>
#include <vector>

#include "engine/weight_patcher.hpp"
#include "ops/context.hpp"
#include "tools/cli/job.hpp"

namespace skingen::cli {

class LoraSetup {
 public:
  virtual ~LoraSetup() = default;
  virtual engine::WeightPatcher* patcher() = 0;
  virtual std::vector<std::string> report() const = 0;
};

// nullptr when `loras` is empty.
std::unique_ptr<LoraSetup> make_lora_setup(ops::Context& ctx, const std::string& model,
                                           const std::vector<LoraSpec>& loras, bool text_encoder_loaded, bool strict,
                                           bool verbose);

}  // namespace skingen::cli
