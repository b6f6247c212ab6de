// group_norm's inner loops on eight-float vectors (the build baseline).
#include "ops/group_norm_kernel.hpp"
#include "ops/vec_avx2.hpp"

namespace skingen::ops::group_norm_detail {

Kernels kernels_avx2() { return make_kernels<VecAvx2>("avx2"); }

}  // namespace skingen::ops::group_norm_detail
