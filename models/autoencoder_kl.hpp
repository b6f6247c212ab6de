#pragma once
// AutoencoderKL: the SD VAE. Canonical names are diffusers'; vae_key_map
// translates LDM and legacy diffusers files.
#include <optional>
#include <vector>

#include "models/resnet_block_2d.hpp"
#include "models/vae_config.hpp"

namespace skingen::models {

// The mid-block attention: GroupNorm, single-head attention over all pixels
// (q/k/v/out with bias), residual (diffusers Attention with residual_connection).
class VaeAttention {
 public:
  VaeAttention(ops::Context& ctx, const WeightScope& ws, int channels, int groups, float eps);
  Tensor forward(const RunContext& rc, const Tensor& x) const;  // [N, H, W, C] → same

 private:
  GroupNorm group_norm;
  ops::Linear to_q, to_k, to_v, to_out;
};

struct VaeMidBlock {
  ResnetBlock2D resnet0;
  VaeAttention attention;
  ResnetBlock2D resnet1;
  VaeMidBlock(ops::Context& ctx, const WeightScope& ws, int channels, const VaeConfig& c);
  Tensor forward(const RunContext& rc, const Tensor& x, const std::string& dump_prefix) const;
};

struct VaeLevel {
  std::vector<ResnetBlock2D> resnets;
  std::optional<ops::Conv2d> sampler;  // downsamplers.0.conv / upsamplers.0.conv
};

class VaeEncoder {
 public:
  VaeEncoder(ops::Context& ctx, const WeightScope& ws, const VaeConfig& c);
  // image [N, H, W, 3] in [-1, 1] → [N, H/f, W/f, 2·z]
  Tensor forward(const RunContext& rc, const Tensor& image) const;

 private:
  ops::Conv2d conv_in;
  std::vector<VaeLevel> down_blocks;
  VaeMidBlock mid_block;
  GroupNorm conv_norm_out;
  ops::Conv2d conv_out;
};

class VaeDecoder {
 public:
  VaeDecoder(ops::Context& ctx, const WeightScope& ws, const VaeConfig& c);
  // z [N, h, w, z] → image [N, f·h, f·w, 3]
  Tensor forward(const RunContext& rc, const Tensor& z) const;

 private:
  ops::Conv2d conv_in;
  VaeMidBlock mid_block;
  std::vector<VaeLevel> up_blocks;
  GroupNorm conv_norm_out;
  ops::Conv2d conv_out;
};

class AutoencoderKL {
 public:
  // Binds the encoder (and quant_conv) only when `with_encoder`, the decoder
  // (and post_quant_conv) only when `with_decoder`.
  AutoencoderKL(ops::Context& ctx, const WeightScope& ws, const VaeConfig& c, bool with_encoder, bool with_decoder);

  // latent [N, h, w, embed] as the sampler leaves it (scaled by scaling_factor)
  // → image [N, f·h, f·w, 3], about [-1, 1], not clamped.
  Tensor decode(const RunContext& rc, const Tensor& latent) const;
  // image [N, H, W, 3] in [-1, 1] → moments [N, H/f, W/f, 2·embed]: mean then
  // logvar (clamped to [-30, 20] as LDM's DiagonalGaussianDistribution), unscaled.
  Tensor encode_moments(const RunContext& rc, const Tensor& image) const;

  const VaeConfig& config() const { return config_; }
  bool has_encoder() const { return encoder.has_value(); }
  bool has_decoder() const { return decoder.has_value(); }
  // FLOPs of one decode (convolutions, linears, attention matmuls) of a latent h × w, batch n.
  double decode_flops(int n, int h, int w) const;

 private:
  VaeConfig config_;
  std::optional<VaeEncoder> encoder;
  std::optional<ops::Conv2d> quant_conv;
  std::optional<ops::Conv2d> post_quant_conv;
  std::optional<VaeDecoder> decoder;
};

}  // namespace skingen::models
