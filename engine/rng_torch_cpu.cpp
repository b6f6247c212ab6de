// torch.randn on CPU; the facts and their sources are in the header.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "engine/rng_torch_cpu.hpp"

#include <cmath>
#include <numbers>

namespace skingen::engine {

TorchCpuGenerator::TorchCpuGenerator(std::uint64_t seed)
    // at::mt19937's init_with_uint32 and std::mt19937's seeding are the same
    // recurrence on the low 32 bits; the output function is the standard one.
    : seed_(seed), engine_(static_cast<std::uint32_t>(seed & 0xffffffffu)) {}

float TorchCpuGenerator::uniform_f32() {
  // ATen/core/TransformationHelper.h uniform_real: (v & (2^24 − 1)) · 2^−24.
  const std::uint32_t v = engine_();
  return static_cast<float>(v & 0xffffffu) * (1.0f / 16777216.0f);
}

double TorchCpuGenerator::uniform_f64() {
  // CPUGeneratorImpl::random64: first draw is the high word.
  const std::uint64_t hi = engine_();
  const std::uint64_t lo = engine_();
  const std::uint64_t v = (hi << 32) | lo;
  return static_cast<double>(v & ((std::uint64_t{1} << 53) - 1)) * (1.0 / 9007199254740992.0);
}

double TorchCpuGenerator::scalar_normal() {
  // ATen/core/DistributionsHelper.h normal_distribution<double>.
  // Both results pass through transformation::normal (v·std + mean with
  // std = 1, mean = 0), which turns −0 into +0.
  if (next_double_normal_) {
    const double cached = *next_double_normal_;
    next_double_normal_.reset();
    return cached + 0.0;
  }
  const double u1 = uniform_f64();
  const double u2 = uniform_f64();
  const double r = std::sqrt(-2.0 * std::log(1.0 - u2));
  const double theta = 2.0 * std::numbers::pi * u1;
  next_double_normal_ = r * std::sin(theta);
  return r * std::cos(theta) + 0.0;
}

void TorchCpuGenerator::randn(float* out, std::size_t n) {
  if (n < 16) {
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(scalar_normal());
    return;
  }
  for (std::size_t i = 0; i < n; ++i) out[i] = uniform_f32();
  for (std::size_t i = 0; i + 16 <= n; i += 16) torch_box_muller_16(out + i);
  if (n % 16 != 0) {
    // torch recomputes the last 16 values from fresh uniforms.
    float* tail = out + n - 16;
    for (std::size_t i = 0; i < 16; ++i) tail[i] = uniform_f32();
    torch_box_muller_16(tail);
  }
}

}  // namespace skingen::engine
