#pragma once
// Options shared by several subcommands, declared once so their names,
// defaults and help texts agree everywhere.
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "models/unet_loader.hpp"
#include "ops/conv2d.hpp"

namespace skingen::cli {

struct ModelOptions {
  std::string model;
  std::string unet_config;  // JSON text or a path to a JSON file
  std::string prediction;   // "", "eps" or "v"
  std::vector<std::string> loras;
  bool lora_strict = false;
  bool verbose = false;
};

void add_model_options(CLI::App* cmd, ModelOptions& o, bool required = true);
void add_threads_option(CLI::App* cmd, int& threads);
void add_tile_option(CLI::App* cmd, std::string& tile);

// Throws UsageError naming the flag.
ops::Tiling parse_tiling(const std::string& tile);
// "WxH" (or "N" for a square) → width, height.
void parse_size(const std::string& text, int& width, int& height);
// A JSON option given inline or as a file path; null when empty.
nlohmann::json parse_json_option(const std::string& flag, const std::string& value);
// `loras_handled`: the caller applies o.loras itself (else --lora is a usage error,
// so that no command ignores a LoRA silently).
models::UNetLoadOptions unet_load_options(const ModelOptions& o, bool loras_handled = false);

}  // namespace skingen::cli
