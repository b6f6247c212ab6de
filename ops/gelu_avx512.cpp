// GELU and GEGLU on sixteen-float vectors. The target pragma covers only what
// follows it: headers whose inline code must stay AVX2 come first, the
// width-generic loops after. Called only where cpu_has_avx512()
// (gelu_dispatch.hpp). Measured side by side against eight-float vectors,
// GEGLU of the UNet's shapes: 1.1× (8192×2560, largely memory-bound) to 1.2×
// (cache-resident ones).
#include <immintrin.h>

#include <cstdint>

#include "ops/gelu_dispatch.hpp"
#include "ops/simd_math.hpp"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx2,fma")
// GCC 12 warns about the deliberately undefined pass-through operand inside
// avx512fintrin.h's unmasked intrinsics (GCC bug 105593), not about our code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include "ops/gelu_kernel.hpp"
#include "ops/vec_avx512.hpp"

namespace skingen::ops::gelu_detail {

Kernels kernels_avx512() { return Kernels{&gelu_span<VecAvx512>, &geglu_rows<VecAvx512>, VecAvx512::W, "avx512"}; }

}  // namespace skingen::ops::gelu_detail

#pragma GCC diagnostic pop
#pragma GCC pop_options
