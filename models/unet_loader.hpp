#pragma once
// The graph builder for the UNet: finds the UNet inside a store (single-file
// LDM checkpoint, diffusers UNet file, diffusers folder), derives its config
// from keys and shapes (never from the file name), binds every weight
// strictly and reports leftovers.
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/tensor_store.hpp"
#include "engine/weight_patcher.hpp"
#include "models/checkpoint_weights.hpp"
#include "models/unet_2d_condition.hpp"
#include "models/unet_key_map.hpp"

namespace skingen::models {

struct UNetLocation {
  std::string prefix;  // "model.diffusion_model.", "unet/" or ""
  bool ldm = true;     // LDM names (input_blocks…) or diffusers names (down_blocks…)
  std::string layout_name() const;  // "LDM single file", "diffusers folder", …
};

// Throws FormatError naming the store when it holds no SD 1.x/2.x UNet (and says so for SDXL).
UNetLocation locate_unet(const engine::TensorStore& store);

struct UNetDetection {
  UNetLocation location;
  UNetBlockLayout layout;
  UNetConfig config;
  std::string family;            // "SD 1.x", "SD 2.x"
  std::string prediction_source;  // how the prediction type was decided
  // How the attention head counts were chosen (heads are not visible in
  // shapes): the family rule and its evidence, or the config that set them.
  std::string heads_rule;
};

struct UNetLoadOptions {
  std::optional<nlohmann::json> config_override;  // --unet-config (diffusers config.json fields)
  std::optional<Prediction> prediction;           // --prediction
  engine::WeightPatcher* patcher = nullptr;       // LoRA
};

// Reads headers only (plus one small tensor for the SD 2.x prediction guess).
UNetDetection detect_unet(const engine::TensorStore& store, const UNetLoadOptions& options = {});

// The canonical ↔ stored name map of a detected UNet.
CheckpointWeightsNameMap unet_name_map(const UNetDetection& d);

struct LoadedUNet {
  UNetDetection detection;
  std::unique_ptr<UNet2DConditionModel> model;
  double seconds = 0;
};

LoadedUNet load_unet(ops::Context& ctx, const engine::TensorStore& store, const UNetLoadOptions& options = {});

}  // namespace skingen::models
