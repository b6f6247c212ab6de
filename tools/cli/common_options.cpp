#include "tools/cli/common_options.hpp"

#include <filesystem>
#include <fstream>

#include "engine/core/error.hpp"

namespace skingen::cli {

void add_model_options(CLI::App* cmd, ModelOptions& o, bool required) {
  auto* m = cmd->add_option("--model", o.model, "Checkpoint: single .safetensors file or diffusers folder");
  if (required) m->required();
  cmd->add_option("--unet-config", o.unet_config,
                  "UNet config override: diffusers config.json fields, as a JSON file or inline JSON");
  cmd->add_option("--prediction", o.prediction, "Model output type: eps or v (default: detected)")
      ->check(CLI::IsMember({"eps", "v"}));
  cmd->add_option("--lora", o.loras, "LoRA file FILE[:UNET_SCALE[:TE_SCALE]] (repeatable)");
}

void add_threads_option(CLI::App* cmd, int& threads) {
  cmd->add_option("--threads", threads, "Threads (0: all cores)")->check(CLI::NonNegativeNumber);
}

void add_tile_option(CLI::App* cmd, std::string& tile) {
  cmd->add_option("--tile", tile, "Seamless tiling: circular padding on none, x, y or xy")
      ->check(CLI::IsMember({"none", "x", "y", "xy"}));
}

ops::Tiling parse_tiling(const std::string& tile) {
  if (tile == "none" || tile.empty()) return ops::Tiling::None;
  if (tile == "x") return ops::Tiling::X;
  if (tile == "y") return ops::Tiling::Y;
  if (tile == "xy") return ops::Tiling::XY;
  throw UsageError("--tile: expected none, x, y or xy, got '" + tile + "'");
}

models::UNetLoadOptions unet_load_options(const ModelOptions& o) {
  models::UNetLoadOptions r;
  if (!o.unet_config.empty()) {
    std::string text = o.unet_config;
    if (std::filesystem::exists(o.unet_config)) {
      std::ifstream f(o.unet_config);
      text.assign(std::istreambuf_iterator<char>(f), {});
    }
    try {
      r.config_override = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      throw UsageError("--unet-config: not a JSON file or JSON text: " + std::string(e.what()));
    }
  }
  if (o.prediction == "eps") r.prediction = models::Prediction::Epsilon;
  if (o.prediction == "v") r.prediction = models::Prediction::V;
  if (!o.loras.empty()) throw UsageError("--lora: LoRA loading is not implemented yet");
  return r;
}

}  // namespace skingen::cli
