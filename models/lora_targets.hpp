#pragma once
// The model side of LoRA resolution for SD 1.x / 2.x checkpoints: every real
// weight of the UNet (canonical diffusers names plus their LDM aliases, via
// unet_key_map) and of the CLIP text encoder (HF names; OpenCLIP's fused
// in_proj split into q/k/v), the key prefixes of each part, and the prefixes
// that give away a LoRA for another family (docs/FORMATS.md, "LoRA key naming").
#include "engine/lora_index.hpp"
#include "engine/tensor_store.hpp"
#include "models/unet_loader.hpp"

namespace skingen::models {

// Which parts the caller builds; modules for the others count as "not applied".
struct LoraLoadedParts {
  bool unet = true;
  bool text_encoder = false;
};

// `unet`: the detected UNet, or nullptr for a store without one (a text
// encoder file): UNet modules then count as "not applied (UNet not loaded)".
engine::LoraModelTargets lora_model_targets(const engine::TensorStore& store, const UNetDetection* unet,
                                            const LoraLoadedParts& loaded);

// The text encoder's LoRA targets alone (empty, targets_known = false, when
// the store has no text encoder). Exposed for tests.
engine::LoraComponent text_encoder_lora_component(const engine::TensorStore& store);

// The fp32 weight (or bias) of a target as stored, sliced out of a fused
// tensor where it is one (lora-check and tests read weights without a model).
engine::Tensor read_lora_target(const engine::TensorStore& store, const engine::LoraWeightTarget& target, bool bias);

// "SD 1.x" for 768, "SD 2.x" for 1024, "SDXL" for 2048; "" otherwise.
std::string family_for_context_dim(std::int64_t dim);

}  // namespace skingen::models
