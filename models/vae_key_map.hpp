#pragma once
// The one translation table between the VAE's canonical (diffusers) names and
// the LDM names (`encoder.down.0.block.1.nin_shortcut…`) and the legacy
// diffusers attention names (`query`/`key`/`value`/`proj_attn`). Source:
// huggingface/diffusers scripts/convert_diffusers_to_original_stable_diffusion.py
// (vae_conversion_map, vae_conversion_map_attn); the decoder's LDM `up.{i}` runs
// deepest-first in the opposite order of diffusers' `up_blocks.{i}`.
#include <optional>
#include <string>

namespace skingen::models {

enum class VaeNaming { Ldm, Diffusers, DiffusersLegacyAttention };

// `levels`: number of resolution levels (decoder up-block index reversal).
std::optional<std::string> vae_canonical_to(VaeNaming naming, const std::string& canonical, int levels);

}  // namespace skingen::models
