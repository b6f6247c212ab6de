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
  cmd->add_option("--lora", o.loras,
                  "LoRA file FILE[:UNET_SCALE[:TE_SCALE]] (repeatable; TE_SCALE defaults to UNET_SCALE, both to 1)");
  cmd->add_flag("--lora-strict", o.lora_strict, "Fail when a LoRA key matches nothing in the model");
  cmd->add_flag("--verbose", o.verbose, "List every unmatched LoRA key (else the first few)");
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

void parse_size(const std::string& text, int& width, int& height) {
  const auto x = text.find_first_of("xX");
  auto number = [&](const std::string& s) {
    std::size_t used = 0;
    int v = 0;
    try {
      v = std::stoi(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != s.size() || s.empty() || v <= 0) throw UsageError("--size: expected WxH, e.g. 512x512, got '" + text + "'");
    return v;
  };
  if (x == std::string::npos) {
    width = height = number(text);
  } else {
    width = number(text.substr(0, x));
    height = number(text.substr(x + 1));
  }
}

nlohmann::json parse_json_option(const std::string& flag, const std::string& value) {
  if (value.empty()) return nullptr;
  std::string text = value;
  std::error_code ec;
  if (std::filesystem::is_regular_file(value, ec)) {
    std::ifstream f(value);
    text.assign(std::istreambuf_iterator<char>(f), {});
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(flag + ": not a JSON file or JSON text: " + e.what());
  }
}

models::UNetLoadOptions unet_load_options(const ModelOptions& o, bool loras_handled) {
  models::UNetLoadOptions r;
  if (!o.unet_config.empty()) r.config_override = parse_json_option("--unet-config", o.unet_config);
  if (o.prediction == "eps") r.prediction = models::Prediction::Epsilon;
  if (o.prediction == "v") r.prediction = models::Prediction::V;
  if (!o.loras.empty() && !loras_handled) throw UsageError("--lora: this command does not apply LoRAs");
  return r;
}

}  // namespace skingen::cli
