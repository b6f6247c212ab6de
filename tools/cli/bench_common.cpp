#include "tools/cli/bench_common.hpp"

namespace skingen::cli {

double read_and_convert_seconds(const engine::TensorStore& store, const std::string& prefix) {
  const auto t0 = BenchClock::now();
  for (const auto* e : store.with_prefix(prefix)) {
    if (!engine::is_float_dtype(e->info->dtype)) continue;
    const engine::Tensor t = e->file->read_f32(*e->info);
    (void)t;
  }
  return seconds_since(t0);
}

}  // namespace skingen::cli
