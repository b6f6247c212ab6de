#include "tools/cli/lora_setup.hpp"

#include "engine/core/error.hpp"

namespace skingen::cli {

std::unique_ptr<LoraSetup> make_lora_setup(ops::Context&, const std::string&, const std::vector<LoraSpec>& loras, bool,
                                           bool, bool) {
  if (loras.empty()) return nullptr;
  throw UsageError("--lora: LoRA loading is not merged yet");
}

}  // namespace skingen::cli
