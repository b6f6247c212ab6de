#pragma once
// Picks the attention microkernel for this CPU and the tile sizes for a problem.
#include <cstdint>

#include "ops/attention.hpp"

namespace skingen::ops::attention_detail {

struct Slice;

// Floats of workspace one task needs for a query tile of bq (padded) queries
// and key blocks of bk keys: Qᵀ and Oᵀ (d × bq), the score tile (bk × bq) and
// five per-query vectors.
inline std::int64_t task_workspace_floats(int d, std::int64_t bq, std::int64_t bk) {
  const std::int64_t ld = bq + 16;  // attention_kernel.hpp kRowPad
  return (2 * static_cast<std::int64_t>(d) + bk) * ld + 5 * bq + 64;
}

struct KernelInfo {
  int query_group = 0;  // queries per tile column group (vectors × lanes)
  int key_group = 0;    // keys per score microtile
  void (*run)(const Slice&, std::int64_t q0, std::int64_t nq, std::int64_t bq, std::int64_t bk, float* work) = nullptr;
  const char* name = "";
};

KernelInfo kernel_avx2();
KernelInfo kernel_avx512();  // only call when the CPU has AVX-512F/VL/DQ

// The kernel `isa` asks for (Auto: AVX-512 where the CPU has it).
KernelInfo select_kernel(Isa isa);

struct TilePlan {
  std::int64_t bq = 0;  // queries per task (a multiple of the kernel's query group)
  std::int64_t bk = 0;  // keys per block
};
TilePlan plan_tiles(const KernelInfo& kernel, std::int64_t tq, std::int64_t tk, int d);

}  // namespace skingen::ops::attention_detail
