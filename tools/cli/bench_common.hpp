#pragma once
// Small pieces the bench commands share.
#include <chrono>
#include <string>

#include "engine/tensor_store.hpp"

namespace skingen::cli {

using BenchClock = std::chrono::steady_clock;

inline double seconds_since(BenchClock::time_point t0) {
  return std::chrono::duration<double>(BenchClock::now() - t0).count();
}

// Reads every float tensor whose name starts with `prefix` ("": all) and
// converts it to fp32, nothing else: what a load time is compared with. Also
// warms the page cache, so that the load measured next reads from memory.
double read_and_convert_seconds(const engine::TensorStore& store, const std::string& prefix = "");

}  // namespace skingen::cli
