#pragma once
// Finds the VAE in a store (checkpoint `first_stage_model.`, diffusers `vae/`,
// or a standalone VAE file in LDM or diffusers naming, as passed with --vae),
// derives its config from shapes and binds the requested halves strictly.
#include <memory>
#include <string>

#include "engine/tensor_store.hpp"
#include "models/autoencoder_kl.hpp"
#include "models/checkpoint_weights.hpp"
#include "models/vae_key_map.hpp"

namespace skingen::models {

struct VaeDetection {
  std::string prefix;  // "first_stage_model.", "vae/" or ""
  VaeNaming naming = VaeNaming::Ldm;
  VaeConfig config;
  std::string layout_name() const;
};

// Throws FormatError naming the store when it holds no VAE.
VaeDetection detect_vae(const engine::TensorStore& store);
bool has_vae(const engine::TensorStore& store);

struct LoadedVae {
  VaeDetection detection;
  std::unique_ptr<AutoencoderKL> model;
  double seconds = 0;
};

LoadedVae load_vae(ops::Context& ctx, const engine::TensorStore& store, bool with_encoder, bool with_decoder);

}  // namespace skingen::models
