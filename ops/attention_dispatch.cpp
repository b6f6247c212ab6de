#include "ops/attention_dispatch.hpp"

#include <algorithm>
#include <cstdlib>

namespace skingen::ops {
namespace attention_detail {

bool cpu_has_avx512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512dq");
}

KernelInfo select_kernel(AttentionIsa isa) {
  if (isa != AttentionIsa::Avx2 && cpu_has_avx512()) return kernel_avx512();
  return kernel_avx2();
}

TilePlan plan_tiles(const KernelInfo& kernel, std::int64_t /*tq*/, std::int64_t tk, int /*d*/) {
  TilePlan p;
  // About 96–128 queries per task: the score tile (bk × bq floats) stays in
  // L1/L2 and the packed Qᵀ is reused over all key blocks.
  const char* e1 = std::getenv("ATT_BQ");
  const char* e2 = std::getenv("ATT_BK");
  const std::int64_t want_q = e1 ? std::atoi(e1) : 64;
  const std::int64_t want_k = e2 ? std::atoi(e2) : 64;
  const std::int64_t groups = std::max<std::int64_t>(1, want_q / kernel.query_group);
  p.bq = groups * kernel.query_group;
  // Cross-attention (77 keys) in one block: no rescaling at all.
  p.bk = tk <= 160 ? tk : (want_k + kernel.key_group - 1) / kernel.key_group * kernel.key_group;
  return p;
}

}  // namespace attention_detail

std::string attention_kernel_name(AttentionIsa isa) { return attention_detail::select_kernel(isa).name; }

double attention_flops(std::int64_t n, std::int64_t tq, std::int64_t tk, std::int64_t channels) {
  return 4.0 * static_cast<double>(n) * static_cast<double>(tq) * static_cast<double>(tk) *
         static_cast<double>(channels);
}

}  // namespace skingen::ops
