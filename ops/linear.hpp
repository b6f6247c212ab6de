#pragma once
// Fully connected layer and batched matmul on oneDNN. Weights are reordered
// once at construction; primitives are cached per input row count.
#include <cstdint>
#include <memory>
#include <string>

#include "ops/layout.hpp"

namespace skingen::ops {

enum class Activation { None, GELU, SiLU };

struct LinearExtras {
  Activation activation = Activation::None;  // applied after the bias (fused where it pays)
  const Tensor* residual = nullptr;          // same shape as the output, added last
};

class Linear {
 public:
  // weight: fp32 [out, in]; bias: fp32 [out] or undefined.
  Linear(Context& ctx, const Tensor& weight, const Tensor& bias);
  ~Linear();
  Linear(Linear&&) noexcept;
  Linear& operator=(Linear&&) noexcept;

  // x: [..., in] → [..., out]
  Tensor forward(Context& ctx, BufferPool& pool, const Tensor& x, const LinearExtras& extras = {}) const;

  // Creates (and caches) the primitive for `rows` input rows without running
  // it; returns its oneDNN implementation name.
  std::string prepare(Context& ctx, std::int64_t rows, const LinearExtras& extras = {}) const;
  // FLOPs of one forward on `rows` rows (2·rows·in·out).
  double flops(std::int64_t rows) const;

  int in_features() const;
  int out_features() const;
  std::string impl_name() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// c[b] = a[b] · op(b[b]) for fp32 a [B, M, K]; b [B, K, N], or [B, N, K] when
// transpose_b. Batch dims broadcast when one side has B = 1.
Tensor matmul(Context& ctx, BufferPool& pool, const Tensor& a, const Tensor& b, bool transpose_b = false);

}  // namespace skingen::ops
