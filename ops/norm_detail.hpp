#pragma once
// Helpers shared by group_norm.cpp and norm.cpp (not part of the ops API).
#include <string>

#include "ops/check.hpp"
#include "ops/layout.hpp"

namespace skingen::ops::norm_detail {

// A double as a float pair hi + lo (the mean of a norm: see group_norm.cpp).
inline void split(double v, float* hi, float* lo) {
  *hi = static_cast<float>(v);
  *lo = static_cast<float>(v - static_cast<double>(*hi));
}

inline void check_affine(const Tensor& gamma, const Tensor& beta, std::int64_t c, const char* op) {
  require_f32(gamma, op, "gamma", 1);
  require_f32(beta, op, "beta", 1);
  require(gamma.dim(0) == c && beta.dim(0) == c, op,
          "gamma " + engine::shape_str(gamma.shape()) + " and beta " + engine::shape_str(beta.shape()) + " must be [" +
              std::to_string(c) + "]");
}

}  // namespace skingen::ops::norm_detail
