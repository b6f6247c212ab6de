#pragma once
// Error metrics for comparing an engine output with an independent reference.
// Both must be F32 tensors of the same shape: anything else throws (a failed
// check in Catch, with the two shapes), so that a longer output cannot pass on
// its prefix and a shorter one is never read past its end.
#include <cmath>
#include <cstdint>
#include <stdexcept>

#include "engine/core/tensor.hpp"

inline void require_comparable(const skingen::engine::Tensor& a, const skingen::engine::Tensor& b) {
  using skingen::engine::DType;
  if (a.dtype() != DType::F32 || b.dtype() != DType::F32)
    throw std::invalid_argument("compare: both tensors must be F32");
  if (a.shape() != b.shape())
    throw std::invalid_argument("compare: output shape " + skingen::engine::shape_str(a.shape()) +
                                " differs from the reference's " + skingen::engine::shape_str(b.shape()));
}

// ‖a − b‖₂ / ‖b‖₂ over all elements (b is the reference).
inline double relative_l2(const skingen::engine::Tensor& a, const skingen::engine::Tensor& b) {
  require_comparable(a, b);
  double num = 0, den = 0;
  const float* x = a.f32_data();
  const float* y = b.f32_data();
  for (std::int64_t i = 0; i < b.numel(); ++i) {
    const double d = static_cast<double>(x[i]) - y[i];
    num += d * d;
    den += static_cast<double>(y[i]) * y[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

// Largest |a − b| / max(|b|, floor).
inline double max_relative(const skingen::engine::Tensor& a, const skingen::engine::Tensor& b, double floor = 1e-6) {
  require_comparable(a, b);
  double m = 0;
  const float* x = a.f32_data();
  const float* y = b.f32_data();
  for (std::int64_t i = 0; i < b.numel(); ++i)
    m = std::max(m, std::abs(static_cast<double>(x[i]) - y[i]) / std::max(std::abs(static_cast<double>(y[i])), floor));
  return m;
}
