#pragma once
// Static partitioning of index ranges over the context's OpenMP threads. The
// split depends only on the range and the grain, never on timing, so every
// result is bit-identical run to run (no dynamic scheduling, no atomics).
#include <algorithm>
#include <cstdint>

#include "ops/context.hpp"

namespace skingen::ops {

// Calls fn(begin, end) on consecutive chunks of [0, n) of `grain` items (the
// last one shorter), spread over ctx.threads() threads.
template <class Fn>
void parallel_chunks(const Context& ctx, std::int64_t n, std::int64_t grain, Fn&& fn) {
  if (n <= 0) return;
  grain = std::max<std::int64_t>(grain, 1);
  const std::int64_t chunks = (n + grain - 1) / grain;
  if (chunks == 1 || ctx.threads() == 1) {
    fn(std::int64_t{0}, n);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(ctx.threads())
  for (std::int64_t c = 0; c < chunks; ++c) fn(c * grain, std::min(n, (c + 1) * grain));
}

// Calls fn(i) for every i in [0, n), statically split over the threads.
template <class Fn>
void parallel_for(const Context& ctx, std::int64_t n, Fn&& fn) {
  if (n <= 0) return;
  if (n == 1 || ctx.threads() == 1) {
    for (std::int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(ctx.threads())
  for (std::int64_t i = 0; i < n; ++i) fn(i);
}

}  // namespace skingen::ops
