// A1111's Philox generator; see the header for the algorithm and source.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "engine/rng_philox.hpp"

#include <array>
#include <cmath>

namespace skingen::engine {
namespace {

constexpr std::uint32_t kMul0 = 0xD2511F53u;
constexpr std::uint32_t kMul1 = 0xCD9E8D57u;
constexpr std::uint32_t kBump0 = 0x9E3779B9u;
constexpr std::uint32_t kBump1 = 0xBB67AE85u;

std::array<std::uint32_t, 4> philox4x32_10(std::array<std::uint32_t, 4> c, std::array<std::uint32_t, 2> k) {
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = std::uint64_t{c[0]} * kMul0;
    const std::uint64_t p1 = std::uint64_t{c[2]} * kMul1;
    c = {static_cast<std::uint32_t>(p1 >> 32) ^ c[1] ^ k[0], static_cast<std::uint32_t>(p1),
         static_cast<std::uint32_t>(p0 >> 32) ^ c[3] ^ k[1], static_cast<std::uint32_t>(p0)};
    k[0] += kBump0;  // the bump after the last round is never used
    k[1] += kBump1;
  }
  return c;
}

}  // namespace

void PhiloxGenerator::randn(float* out, std::size_t n) {
  // The two float32 constants of rng_philox.py, used as doubles.
  const double c = static_cast<double>(2.3283064e-10f);
  const double d = static_cast<double>(static_cast<float>(2.3283064e-10 * 6.2831855));
  const std::array<std::uint32_t, 2> key = {static_cast<std::uint32_t>(seed_), static_cast<std::uint32_t>(seed_ >> 32)};
  for (std::size_t i = 0; i < n; ++i) {
    // rng_philox.py keeps the element index in one 32-bit counter word.
    const auto r = philox4x32_10({offset_, 0, static_cast<std::uint32_t>(i), 0}, key);
    const double u = static_cast<double>(r[0]) * c + c / 2;
    const double v = static_cast<double>(r[1]) * d + d / 2;
    out[i] = static_cast<float>(std::sqrt(-2.0 * std::log(u)) * std::sin(v));
  }
  ++offset_;
}

}  // namespace skingen::engine
