#pragma once
// Nearest-neighbour resize of NHWC activations to an explicit size, with
// PyTorch's index rule (F.interpolate mode="nearest": src = floor(dst · in/out)),
// which the UNet uses when a latent side is not a multiple of 2^levels.
#include "ops/layout.hpp"

namespace skingen::ops {

Tensor upsample_nearest(Context& ctx, BufferPool& pool, const Tensor& x, int out_h, int out_w);

}  // namespace skingen::ops
