#pragma once
// The two inner loops of group_norm (group_norm.cpp), one version per
// instruction set, and the choice between them. Both versions do the same
// lane-wise arithmetic in the same order, so they give the same bits.
#include <cstdint>

#include "ops/isa.hpp"

namespace skingen::ops::group_norm_detail {

// Per channel: the mean as a float pair (m_hi + m_lo ≈ the double mean), the
// scale a = rstd·γ and β (group_norm.cpp says why the pair).
struct ChannelAffine {
  const float* m_hi;
  const float* m_lo;
  const float* a;
  const float* beta;
};

struct Kernels {
  // Σx and Σx² (double) per channel of channels [0, c) of `rows` rows `ld`
  // floats apart.
  void (*channel_sums)(const float* x, std::int64_t rows, std::int64_t ld, std::int64_t c, double* s1, double* s2);
  // y = ((x - m_hi) - m_lo)·a + β over `rows` contiguous rows of c channels,
  // then SiLU if asked. stream: non-temporal stores; needs c % width == 0 and
  // y aligned to width floats.
  void (*normalize_rows)(const float* x, float* y, std::int64_t rows, std::int64_t c, const ChannelAffine& k,
                         bool silu, bool stream);
  int width;  // floats per vector
  const char* name;
};

Kernels kernels_avx2();
Kernels kernels_avx512();  // only where cpu_has_avx512()

inline Kernels select_kernels(Isa isa) { return use_avx512(isa) ? kernels_avx512() : kernels_avx2(); }

}  // namespace skingen::ops::group_norm_detail
