#pragma once
// torch.randn on CPU, bit for bit (docs/FORMATS.md, "Seeds"): what
// `torch.manual_seed(seed); torch.randn(shape)` returns for a contiguous
// float32 tensor, and what successive draws from the same generator return.
//
// Facts from PyTorch 1.13 (`/usr/include/ATen`, unchanged in 2.x):
// - `CPUGeneratorImpl::set_current_seed` builds `mt19937(seed)`, which keeps
//   only `seed & 0xffffffff` (core/MT19937RNGEngine.h `init_with_uint32`), and
//   clears the cached normal sample. The engine is the standard mt19937.
// - Tensors of 16 or more elements (native/cpu/DistributionTemplates.h
//   `normal_kernel` → `normal_fill_AVX2`): every element first gets a uniform
//   `(u32 & 0xffffff) · 2⁻²⁴` from one 32-bit draw; then each block of 16 is
//   turned into normals by Box–Muller (u1 = 1 − data[j], u2 = data[j + 8]);
//   if numel % 16 ≠ 0 the last 16 elements are refilled with fresh uniforms
//   and transformed again. On x86 builds with AVX2 dispatch (every official
//   x86 wheel on a CPU from the last decade, and AVX-512 CPUs too: the normal
//   kernel is registered without AVX-512) the transform uses avx_mathfun's
//   Cephes `log256_ps` / `sincos256_ps`, compiled by GCC with FMA contraction;
//   engine/torch_box_muller.cpp reproduces that exactly.
// - Fewer than 16 elements: `at::normal_distribution<double>` per element:
//   u1, u2 from 64-bit draws (two 32-bit draws, first one high) masked to 53
//   bits, r = √(−2 ln(1 − u2)), θ = 2π·u1; returns r·cos θ and caches r·sin θ
//   in the generator for the next scalar draw (the cache survives across
//   calls and is not touched by the ≥ 16-element path).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>

namespace skingen::engine {

class TorchCpuGenerator {
 public:
  explicit TorchCpuGenerator(std::uint64_t seed);

  // Fills out[0..n) exactly as torch.randn of an n-element float32 tensor
  // would. Allocates nothing.
  void randn(float* out, std::size_t n);

  std::uint64_t seed() const { return seed_; }

 private:
  float uniform_f32();   // one 32-bit draw, 24 bits kept
  double uniform_f64();  // two 32-bit draws, 53 bits kept
  double scalar_normal();

  std::uint64_t seed_;
  std::mt19937 engine_;
  std::optional<double> next_double_normal_;
};

// The 16-wide Box–Muller step of torch's AVX2 normal kernel, in place:
// data[0..8) are uniforms u, data[8..16) uniforms v; afterwards data holds
// 16 normals. Defined in engine/torch_box_muller.cpp.
void torch_box_muller_16(float* data);

}  // namespace skingen::engine
