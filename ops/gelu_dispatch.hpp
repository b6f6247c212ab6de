#pragma once
// GELU's and GEGLU's loops (gelu_kernel.hpp), one version per instruction
// set, and the choice between them. Both do the same lane-wise arithmetic in
// the same order, so they give the same bits.
#include <cstdint>

#include "ops/isa.hpp"

namespace skingen::ops::gelu_detail {

struct Kernels {
  void (*gelu)(const float* x, float* y, std::int64_t n);
  void (*geglu)(const float* x, float* y, std::int64_t r0, std::int64_t r1, std::int64_t f, bool stream);
  int width;  // floats per vector
  const char* name;
};

Kernels kernels_avx2();
Kernels kernels_avx512();  // only where cpu_has_avx512()

inline Kernels select_kernels(Isa isa) { return use_avx512(isa) ? kernels_avx512() : kernels_avx2(); }

}  // namespace skingen::ops::gelu_detail
