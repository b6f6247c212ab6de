#include "ops/layout.hpp"

#include "ops/check.hpp"
#include "ops/parallel.hpp"

namespace skingen::ops {
namespace {

// dst[c][r] = src[r][c] for a rows × cols matrix, in square tiles that stay in L1.
void transpose_tile(const float* src, float* dst, std::int64_t rows, std::int64_t cols, std::int64_t r0,
                    std::int64_t r1, std::int64_t c0, std::int64_t c1) {
  for (std::int64_t r = r0; r < r1; ++r)
    for (std::int64_t c = c0; c < c1; ++c) dst[c * rows + r] = src[r * cols + c];
}

// Per batch item, src [rows, cols] → dst [cols, rows].
Tensor batched_transpose(Context& ctx, BufferPool& pool, const Tensor& x, std::int64_t n, std::int64_t rows,
                         std::int64_t cols, Shape out_shape) {
  Tensor y = pool.take_f32(std::move(out_shape));
  const float* src = x.f32_data();
  float* dst = y.f32_mut();
  constexpr std::int64_t kTile = 32;
  const std::int64_t row_tiles = (rows + kTile - 1) / kTile;
  const std::int64_t col_tiles = (cols + kTile - 1) / kTile;
  parallel_for(ctx, n * row_tiles * col_tiles, [&](std::int64_t i) {
    const std::int64_t b = i / (row_tiles * col_tiles);
    const std::int64_t rt = (i / col_tiles) % row_tiles;
    const std::int64_t ct = i % col_tiles;
    const std::int64_t r0 = rt * kTile, c0 = ct * kTile;
    transpose_tile(src + b * rows * cols, dst + b * rows * cols, rows, cols, r0, std::min(rows, r0 + kTile), c0,
                   std::min(cols, c0 + kTile));
  });
  return y;
}

}  // namespace

Tensor nchw_to_nhwc(Context& ctx, BufferPool& pool, const Tensor& x) {
  require_f32(x, "nchw_to_nhwc", "x", 4);
  const auto n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  return batched_transpose(ctx, pool, x, n, c, h * w, {n, h, w, c});
}

Tensor nhwc_to_nchw(Context& ctx, BufferPool& pool, const Tensor& x) {
  require_f32(x, "nhwc_to_nchw", "x", 4);
  const auto n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
  return batched_transpose(ctx, pool, x, n, h * w, c, {n, c, h, w});
}

}  // namespace skingen::ops
