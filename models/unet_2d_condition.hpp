#pragma once
// UNet2DConditionModel for SD 1.x / 2.x (diffusers unet_2d_condition.py and
// unet_2d_blocks.py; CompVis openaimodel.py UNetModel). The module tree uses
// the diffusers names; unet_key_map translates LDM files.
#include <optional>
#include <vector>

#include "models/attention_block.hpp"
#include "models/resnet_block_2d.hpp"
#include "models/unet_config.hpp"

namespace skingen::models {

// A down level (CrossAttnDownBlock2D / DownBlock2D) or an up level
// (CrossAttnUpBlock2D / UpBlock2D): resnets, optional attentions, optional resampler.
struct UNetLevel {
  std::vector<ResnetBlock2D> resnets;
  std::vector<Transformer2DModel> attentions;  // empty, or one per resnet
  std::optional<ops::Conv2d> sampler;          // downsamplers.0.conv / upsamplers.0.conv
};

class UNet2DConditionModel {
 public:
  UNet2DConditionModel(ops::Context& ctx, const WeightScope& ws, const UNetConfig& config);

  // x: [N, h, w, in] NHWC latents; t: [N] timesteps (0…999 scale); context: [N, T, context_dim]
  // → [N, h, w, out] NHWC, the raw model output (ε or v).
  Tensor forward(const RunContext& rc, const Tensor& x, const Tensor& t, const Tensor& context) const;

  const UNetConfig& config() const { return config_; }
  // FLOPs of one forward (convolutions, linears and attention matmuls) for a latent of h × w and batch n.
  double flops(int n, int h, int w, int context_tokens = 77) const;

 private:
  UNetConfig config_;
  ops::Linear time_linear_1, time_linear_2;
  ops::Conv2d conv_in;
  std::vector<UNetLevel> down_blocks;
  std::vector<ResnetBlock2D> mid_resnets;
  std::optional<Transformer2DModel> mid_attention;
  std::vector<UNetLevel> up_blocks;
  GroupNorm conv_norm_out;
  ops::Conv2d conv_out;
};

}  // namespace skingen::models
