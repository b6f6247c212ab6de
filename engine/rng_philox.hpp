#pragma once
// A1111's "NV" random source (AUTOMATIC1111/stable-diffusion-webui
// `modules/rng_philox.py`): Philox-4x32-10 plus Box–Muller on the CPU, made to
// give the numbers `torch.randn(…, device="cuda")` gives, so GPU seeds can be
// reproduced without a GPU.
//
// Per randn call of n elements: element i uses counter (offset, 0, i, 0) and
// key (seed low 32 bits, seed high 32 bits); ten rounds (multipliers
// 0xD2511F53, 0xCD9E8D57; key bumps 0x9E3779B9, 0xBB67AE85); the first two
// output words x, y give u = x·c + c/2, v = y·d + d/2 with the float32
// constants c = 2.3283064e-10 and d = 2.3283064e-10·6.2831855, evaluated in
// double (NumPy promotes uint32 × float32 to float64), and the result
// float32(√(−2 ln u) · sin v). The offset then grows by one.
#include <cstddef>
#include <cstdint>

namespace skingen::engine {

class PhiloxGenerator {
 public:
  explicit PhiloxGenerator(std::uint64_t seed) : seed_(seed) {}

  void randn(float* out, std::size_t n);

  std::uint64_t seed() const { return seed_; }

 private:
  std::uint64_t seed_;
  std::uint32_t offset_ = 0;
};

}  // namespace skingen::engine
