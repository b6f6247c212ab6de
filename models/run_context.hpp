#pragma once
// What a model's forward pass runs with: the op context, the buffer pool its
// activations come from, the tiling mode of its padded convolutions, and an
// optional sink for named intermediate activations (the --dump debugging tool).
#include <functional>
#include <string>

#include "engine/core/buffer_pool.hpp"
#include "ops/context.hpp"
#include "ops/conv2d.hpp"

namespace skingen::models {

using engine::BufferPool;
using engine::Shape;
using engine::Tensor;
using engine::WeightScope;

struct RunContext {
  ops::Context& ctx;
  BufferPool& pool;
  ops::Tiling tiling = ops::Tiling::None;
  // Called with NHWC (or [N, T, C]) activations; empty when nothing is dumped.
  std::function<void(const std::string& name, const Tensor& activation)> dump;

  void emit(const std::string& name, const Tensor& t) const {
    if (dump) dump(name, t);
  }
};

}  // namespace skingen::models
