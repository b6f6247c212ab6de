#include "ops/attention_dispatch.hpp"

#include <algorithm>

namespace skingen::ops {
namespace attention_detail {

KernelInfo select_kernel(Isa isa) {
  if (use_avx512(isa)) return kernel_avx512();
  return kernel_avx2();
}

TilePlan plan_tiles(const KernelInfo& kernel, std::int64_t /*tq*/, std::int64_t tk, int /*d*/) {
  TilePlan p;
  // 128 queries per task: Qᵀ, Oᵀ and the score tile stay in L1/L2 for d ≤ 160
  // and every K/V row fetched is used by 128 queries (measured 2-10 % faster
  // than 64 at d = 40…512 on Zen4).
  p.bq = std::max<std::int64_t>(1, 128 / kernel.query_group) * kernel.query_group;
  // Cross-attention (77 keys) in one block: no rescaling at all. Otherwise
  // blocks of about 64 keys, a whole number of score microtiles.
  p.bk = tk <= 160 ? tk : (64 + kernel.key_group - 1) / kernel.key_group * kernel.key_group;
  return p;
}

}  // namespace attention_detail

std::string attention_kernel_name(Isa isa) { return attention_detail::select_kernel(isa).name; }

double attention_flops(std::int64_t n, std::int64_t tq, std::int64_t tk, std::int64_t channels) {
  return 4.0 * static_cast<double>(n) * static_cast<double>(tq) * static_cast<double>(tk) *
         static_cast<double>(channels);
}

}  // namespace skingen::ops
