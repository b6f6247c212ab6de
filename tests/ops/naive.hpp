#pragma once
// Naive reference implementations of every op: plain loops over the textbook
// definitions, accumulating in double. They share no code with ops/ and are
// only as fast as they need to be for test-sized inputs.
#include <cstdint>
#include <vector>

#include "engine/core/tensor.hpp"

namespace skingen::naive {

using engine::Shape;
using engine::Tensor;

// Uniform values in [lo, hi) from a fixed seed (std::mt19937).
Tensor random(Shape shape, std::uint32_t seed, float lo = -1.0f, float hi = 1.0f);

// Error measures of `got` against `ref` (same element count).
double nmse(const Tensor& got, const Tensor& ref);  // Σ(got-ref)² / Σ ref²
double max_abs_err(const Tensor& got, const Tensor& ref);
// max |got-ref| / max(|ref|, floor)
double max_rel_err(const Tensor& got, const Tensor& ref, double floor);
bool bit_identical(const Tensor& a, const Tensor& b);

// x NHWC [N, H, W, Ci], w [Co, Ci, kh, kw], bias [Co] or undefined; zero
// padding per side → NHWC.
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, int stride, int top, int bottom, int left,
              int right);
// NHWC x with `top`/`bottom` rows and `left`/`right` columns copied from the
// opposite side (torch F.pad mode="circular"), by explicit modular indexing.
Tensor wrap_pad(const Tensor& x, int top, int bottom, int left, int right);

// x [..., in], w [out, in], bias [out] or undefined.
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias);
// a [B, M, K] (or [M, K]); b [B, K, N] or [B, N, K]; batch broadcast when 1.
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_b);

// softmax(q kᵀ · scale) v per head; q [N, Tq, H·d], k/v [N, Tk, H·d].
Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, int heads, double scale, bool causal);

// x [N, ..., C]; add_before [N, C] or nullptr.
Tensor group_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, int groups, double eps, bool silu,
                  const Tensor* add_before);
Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps);

double silu(double x);
double gelu(double x);  // x/2 · (1 + erf(x/√2))
double quick_gelu(double x);
Tensor map(const Tensor& x, double (*f)(double));
Tensor geglu(const Tensor& x);
Tensor softmax(const Tensor& x);
// numpy broadcasting of a and b; op 0: add, 1: mul.
Tensor broadcast_binary(const Tensor& a, const Tensor& b, int op);
Tensor upsample_nearest2x(const Tensor& x);
Tensor concat_last(const Tensor& a, const Tensor& b);
Tensor nchw_to_nhwc(const Tensor& x);
Tensor timestep_embedding(const Tensor& t, int dim, double max_period);

}  // namespace skingen::naive
