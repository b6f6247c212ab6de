#pragma once
// Group norm and layer norm on channel-last data, with the fusions the models need.
#include <string>

#include "ops/isa.hpp"
#include "ops/layout.hpp"

namespace skingen::ops {

struct GroupNormOptions {
  int groups = 32;
  float eps = 1e-5f;
  bool silu = false;                 // apply SiLU to the normalised output
  const Tensor* add_before = nullptr;  // [N, C], added per sample and channel before normalising
                                       // (the ResNet time-embedding add, folded in here)
  Isa isa = Isa::Auto;                 // which inner loops run (ops/isa.hpp); same bits either way
};

// x: [N, ..., C] (NHWC or [N, T, C]; statistics per sample over all positions
// and C/groups channels); gamma, beta: [C]. Returns a new tensor from `pool`.
Tensor group_norm(Context& ctx, BufferPool& pool, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                  const GroupNormOptions& options);

// Name of the inner loops group_norm runs with `isa` on this CPU ("avx512", "avx2").
std::string group_norm_kernel_name(Isa isa = Isa::Auto);

// Normalises over the last axis. gamma, beta: [C].
Tensor layer_norm(Context& ctx, BufferPool& pool, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                  float eps);

}  // namespace skingen::ops
