#pragma once
// Argument checks for the ops: a failed check is a programming or model-shape
// error, reported with the op name and the shapes involved.
#include <stdexcept>
#include <string>

#include "engine/core/tensor.hpp"

namespace skingen::ops {

[[noreturn]] inline void fail(const std::string& message) { throw std::invalid_argument(message); }

inline void require(bool ok, const char* op, const std::string& what) {
  if (!ok) fail(std::string(op) + ": " + what);
}

// x must be a defined fp32 tensor of `ndim` dimensions (ndim < 0: at least one).
inline void require_f32(const engine::Tensor& x, const char* op, const char* name, int ndim = -1) {
  require(x.defined() && x.dtype() == engine::DType::F32, op, std::string(name) + " must be a defined F32 tensor");
  if (ndim >= 0)
    require(
        x.ndim() == ndim, op,
        std::string(name) + " must have " + std::to_string(ndim) + " dimensions, got " + engine::shape_str(x.shape()));
  else
    require(x.ndim() >= 1, op, std::string(name) + " must have at least one dimension");
}

}  // namespace skingen::ops
