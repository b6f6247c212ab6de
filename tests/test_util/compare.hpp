#pragma once
// Error metrics for comparing an engine output with an independent reference.
#include <cmath>
#include <cstdint>

#include "engine/core/tensor.hpp"

// ‖a − b‖₂ / ‖b‖₂ over all elements (b is the reference). Both fp32, same element count.
inline double relative_l2(const skingen::engine::Tensor& a, const skingen::engine::Tensor& b) {
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
  double m = 0;
  const float* x = a.f32_data();
  const float* y = b.f32_data();
  for (std::int64_t i = 0; i < b.numel(); ++i)
    m = std::max(m, std::abs(static_cast<double>(x[i]) - y[i]) / std::max(std::abs(static_cast<double>(y[i])), floor));
  return m;
}
