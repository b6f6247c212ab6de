#pragma once
// AutoencoderKL architecture (CompVis ldm/modules/diffusionmodules/model.py
// Encoder/Decoder, diffusers autoencoder_kl.py); detected from shapes.
// Defaults are SD 1.x/2.x's (configs/stable-diffusion/v1-inference.yaml ddconfig).
#include <string>
#include <vector>

namespace skingen::models {

struct VaeConfig {
  std::vector<int> block_channels{128, 256, 512, 512};  // ch · ch_mult
  int num_res_blocks = 2;     // per encoder level; the decoder has one more
  int in_channels = 3;
  int out_channels = 3;
  int z_channels = 4;
  int embed_dim = 4;          // latent channels after quant_conv
  int groups = 32;
  float eps = 1e-6f;          // Normalize() in model.py
  float scaling_factor = 0.18215f;  // v1-inference.yaml scale_factor; diffusers vae/config.json scaling_factor

  int levels() const { return static_cast<int>(block_channels.size()); }
  int downscale() const { return 1 << (levels() - 1); }
  std::string summary() const;
};

}  // namespace skingen::models
