#pragma once
// ResnetBlock2D (diffusers resnet.py; CompVis openaimodel.py ResBlock):
// GroupNorm-SiLU-conv, time-embedding add, GroupNorm-SiLU-conv, skip.
#include <optional>

#include "models/layers.hpp"

namespace skingen::models {

class ResnetBlock2D {
 public:
  // temb_channels = 0: no time embedding (the VAE's resnets).
  ResnetBlock2D(ops::Context& ctx, const WeightScope& ws, int in_channels, int out_channels, int temb_channels,
                int groups, float eps);

  // x: [N, H, W, in]; temb_silu: SiLU of the time embedding [N, temb] (or null) → [N, H, W, out]
  Tensor forward(const RunContext& rc, const Tensor& x, const Tensor* temb_silu) const;

  int out_channels() const { return out_channels_; }

 private:
  int out_channels_;
  GroupNorm norm1;
  ops::Conv2d conv1;
  std::optional<ops::Linear> time_emb_proj;
  GroupNorm norm2;
  ops::Conv2d conv2;
  std::optional<ops::Conv2d> conv_shortcut;
};

}  // namespace skingen::models
