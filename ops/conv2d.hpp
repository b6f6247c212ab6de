#pragma once
// 2-D convolution on oneDNN with NHWC activations. The primitive is created
// once per input shape and cached in the op; the weights are reordered once,
// at construction, into the layout that primitive wants.
#include <memory>
#include <string>

#include "ops/layout.hpp"

namespace skingen::ops {

// Which axes wrap around instead of being zero-padded (seamless textures,
// A1111's circular padding; docs/FORMATS.md, "Seamless tiling").
enum class Tiling { None, X, Y, XY };

// Zero padding per side, in pixels (asymmetric for the VAE encoder's
// downsampler, which pads right and bottom only).
struct Padding2d {
  int top = 0, bottom = 0, left = 0, right = 0;
  static Padding2d same(int p) { return {p, p, p, p}; }
};

struct Conv2dExtras {
  Tiling tiling = Tiling::None;     // wrap-around instead of zeros on the padded sides (no effect where padding is 0)
  const Tensor* residual = nullptr;  // [N, H', W', out], added to the output (fused)
  // [N, H', W', out]: the convolution result is added into this tensor in
  // place and the tensor is returned; saves the copy `residual` costs when the
  // caller no longer needs the addend. At most one of residual / accumulate.
  Tensor* accumulate = nullptr;
};

class Conv2d {
 public:
  // weight: fp32 [out, in, kh, kw]; bias: fp32 [out], or an undefined Tensor for none.
  Conv2d(Context& ctx, const Tensor& weight, const Tensor& bias, int stride, Padding2d padding);
  Conv2d(Context& ctx, const Tensor& weight, const Tensor& bias, int stride, int padding)
      : Conv2d(ctx, weight, bias, stride, Padding2d::same(padding)) {}
  ~Conv2d();
  Conv2d(Conv2d&&) noexcept;
  Conv2d& operator=(Conv2d&&) noexcept;

  // x: [N, H, W, in] NHWC → [N, H', W', out] NHWC, from `pool`.
  Tensor forward(Context& ctx, BufferPool& pool, const Tensor& x, const Conv2dExtras& extras = {}) const;

  // Creates (and caches) the primitive for input shape `x_shape` without
  // running it; returns its oneDNN implementation name.
  std::string prepare(Context& ctx, const Shape& x_shape, const Conv2dExtras& extras = {}) const;

  int in_channels() const;
  int out_channels() const;
  int kernel_size() const;
  // oneDNN implementation name of the primitive for the last input shape ("brgconv:avx512_core", ...).
  std::string impl_name() const;
  // FLOPs of one forward at this input size (2·N·H'·W'·out·in·kh·kw).
  double flops(const Shape& x_shape) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace skingen::ops
