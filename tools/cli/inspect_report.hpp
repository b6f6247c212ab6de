#pragma once
// The `skingen inspect` report: everything is decided by engine/ detection
// functions; this only assembles their results as JSON (fields documented in
// README.md) or as text.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/checkpoint_kind.hpp"
#include "engine/key_info.hpp"
#include "engine/kohya_metadata.hpp"
#include "engine/lora_kind.hpp"

namespace skingen::cli {

struct InspectFile {
  std::string path;
  std::uint64_t bytes = 0;
  std::size_t tensors = 0;
};

struct InspectInput {
  std::string path;
  bool folder = false;
  std::vector<InspectFile> files;
  std::vector<engine::KeyInfo> keys;
  std::map<std::string, std::string> metadata;
  std::optional<engine::CheckpointInfo> checkpoint;  // when not a LoRA
  std::optional<engine::LoraInfo> lora;
  engine::KohyaTraining training;
  engine::StemName stem;  // parsed from the file name: display only
  bool list_tensors = false;
  // The UNet config the graph builder derives ({"error": …} when it cannot).
  nlohmann::ordered_json unet_config = nullptr;
  // The text encoder config the loader derives, with its heads and their rule.
  nlohmann::ordered_json text_encoder_config = nullptr;
};

nlohmann::ordered_json inspect_json(const InspectInput& in);
std::string inspect_text(const InspectInput& in);

}  // namespace skingen::cli
