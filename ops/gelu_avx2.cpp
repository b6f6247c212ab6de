// GELU and GEGLU on eight-float vectors (the build baseline).
#include "ops/gelu_dispatch.hpp"
#include "ops/gelu_kernel.hpp"
#include "ops/vec_avx2.hpp"

namespace skingen::ops::gelu_detail {

Kernels kernels_avx2() { return Kernels{&gelu_span<VecAvx2>, &geglu_rows<VecAvx2>, VecAvx2::W, "avx2"}; }

}  // namespace skingen::ops::gelu_detail
