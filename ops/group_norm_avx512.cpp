// group_norm's inner loops on sixteen-float vectors. The target pragma covers
// only what follows it: headers whose inline code must stay AVX2 come first,
// the width-generic kernels after. Called only where cpu_has_avx512()
// (group_norm_dispatch.hpp). Twice the width is worth it for the SiLU:
// normalise + SiLU of a DRAM-resident 2×64×64×960 activation ran 1.3–1.4×
// faster than with eight-float vectors, measured side by side.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "ops/group_norm_dispatch.hpp"
#include "ops/simd_math.hpp"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx2,fma")
// GCC 12 warns about the deliberately undefined pass-through operand inside
// avx512fintrin.h's unmasked intrinsics (GCC bug 105593), not about our code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include "ops/group_norm_kernel.hpp"
#include "ops/silu_kernel.hpp"
#include "ops/vec_avx512.hpp"

namespace skingen::ops::group_norm_detail {

Kernels kernels_avx512() { return make_kernels<VecAvx512>("avx512"); }

}  // namespace skingen::ops::group_norm_detail

#pragma GCC diagnostic pop
#pragma GCC pop_options
