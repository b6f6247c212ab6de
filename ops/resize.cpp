#include "ops/resize.hpp"

#include <cstring>

namespace skingen::ops {

Tensor upsample_nearest(Context&, BufferPool& pool, const Tensor& x, int out_h, int out_w) {
  const auto N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
  Tensor y = pool.take_f32({N, out_h, out_w, C});
  const float* src = x.f32_data();
  float* dst = y.f32_mut();
  // PyTorch computes the scale in float: in / out.
  const float sh = static_cast<float>(H) / static_cast<float>(out_h);
  const float sw = static_cast<float>(W) / static_cast<float>(out_w);
#pragma omp parallel for collapse(2) schedule(static)
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t oy = 0; oy < out_h; ++oy) {
      const std::int64_t iy = std::min<std::int64_t>(static_cast<std::int64_t>(oy * sh), H - 1);
      for (std::int64_t ox = 0; ox < out_w; ++ox) {
        const std::int64_t ix = std::min<std::int64_t>(static_cast<std::int64_t>(ox * sw), W - 1);
        std::memcpy(dst + ((n * out_h + oy) * out_w + ox) * C, src + ((n * H + iy) * W + ix) * C,
                    static_cast<std::size_t>(C) * sizeof(float));
      }
    }
  return y;
}

}  // namespace skingen::ops
