#pragma once
// The deterministic toy "model" of tests/reference/sampling_reference.py:
// out = (x/2 + x[w−1]/4 + x[c−1]/8 + t·0.001) / (x²/16 + 1), float32, each
// operation rounded as PyTorch rounds it (only +, ·, / and rolls, so the
// C++ and PyTorch results agree to the bit).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif

#include <cstdint>

#include "engine/core/tensor.hpp"

namespace sampling_test {

// x, out: [B, C, H, W]. With `affine`, the result is then ·scale + bias
// (the reference's "conditional" half).
inline void toy_model(const float* x, float t, float* out, std::int64_t b, std::int64_t c, std::int64_t h,
                      std::int64_t w, float scale = 1.0f, float bias = 0.0f, bool affine = false) {
  const float tt = t * 0.001f;
  for (std::int64_t bi = 0; bi < b; ++bi)
    for (std::int64_t ci = 0; ci < c; ++ci)
      for (std::int64_t y = 0; y < h; ++y)
        for (std::int64_t xi = 0; xi < w; ++xi) {
          const auto at = [&](std::int64_t cc, std::int64_t xx) { return x[((bi * c + cc) * h + y) * w + xx]; };
          const float v = at(ci, xi);
          const float a = v * 0.5f;
          const float nb = at(ci, (xi + w - 1) % w) * 0.25f;
          const float ch = at((ci + c - 1) % c, xi) * 0.125f;
          const float num = ((a + nb) + ch) + tt;
          const float den = v * v * 0.0625f + 1.0f;
          float o = num / den;
          if (affine) o = o * scale + bias;
          out[((bi * c + ci) * h + y) * w + xi] = o;
        }
}

}  // namespace sampling_test
