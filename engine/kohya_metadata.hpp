#pragma once
// kohya-ss sd-scripts training metadata (train_network.py writes `ss_*`
// keys into __metadata__) and the epoch file-name convention
// (library/train_util.py: EPOCH_FILE_NAME = "{}-{:06d}", STEP_FILE_NAME = "{}-step{:08d}").
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace skingen::engine {

struct KohyaTraining {
  std::optional<std::string> output_name;   // ss_output_name
  std::optional<std::string> epoch;         // ss_epoch
  std::optional<std::string> steps;         // ss_steps
  std::optional<std::string> base_model;    // ss_base_model_version (sd_v1, sd_v2, sdxl_base_v1-0, …)
  std::optional<std::string> sd_model_name; // ss_sd_model_name
  std::optional<std::string> network_module;  // ss_network_module (networks.lora, lycoris.kohya, …)
  std::optional<std::string> network_dim;   // ss_network_dim
  std::optional<std::string> network_alpha; // ss_network_alpha
  std::optional<std::string> network_args;  // ss_network_args (JSON)
  std::optional<std::string> clip_skip;     // ss_clip_skip
  std::optional<std::string> resolution;    // ss_resolution
  bool any() const;
};

// Reads the ss_* keys; values "None" (Python's str(None)) count as absent.
KohyaTraining kohya_training(const std::map<std::string, std::string>& metadata);

// "skin_4-000015" → {"skin_4", 15}; "skin_4-step00001000" → {"skin_4", steps 1000}.
// Only for a display name when ss_output_name is missing; never used for detection.
struct StemName {
  std::string name;
  std::optional<long long> epoch;
  std::optional<long long> step;
};
StemName parse_training_stem(std::string_view stem);

}  // namespace skingen::engine
