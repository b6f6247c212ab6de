#pragma once
// group_norm's inner loops for any vector type with the VecAvx2 interface
// (vec_avx2.hpp). In a file compiled for AVX-512 include it after the target
// pragma.
#include <algorithm>
#include <cstdint>

#include "ops/group_norm_dispatch.hpp"
#include "ops/silu_kernel.hpp"

namespace skingen::ops::group_norm_detail {

template <class V>
struct GroupNormKernel {
  using reg = typename V::reg;
  using mask = typename V::mask;
  static constexpr int W = V::W;

  // Rows summed in float between two adds to the double sums. Each block of
  // rows is summed around its own mean k (two sweeps, the second from L1), so
  // the float sums are of deviations from a centre inside the block: their
  // rounding error is ~1e-7 of the block's own spread, whatever the mean or
  // an outlier elsewhere. Doing the double arithmetic once per 16 rows
  // instead of per row is what makes the statistics pass memory-bound
  // instead of convert-bound (1.3–1.6× faster than summing every row in
  // double, measured on DRAM-resident inputs).
  static constexpr std::int64_t kBlockRows = 16;

  // For rows [0, nr) `ld` apart, one vector of channels: their mean k, and
  // s = Σ(x - k), q = Σ(x - k)². Even and odd rows in separate registers.
  template <class Load>
  static void block_sums(const float* p, std::int64_t nr, std::int64_t ld, Load load, reg& k, reg& s, reg& q) {
    reg m0 = V::zero(), m1 = V::zero();
    std::int64_t j = 0;
    for (; j + 2 <= nr; j += 2) {
      m0 = V::add(m0, load(p + j * ld));
      m1 = V::add(m1, load(p + (j + 1) * ld));
    }
    if (j < nr) m0 = V::add(m0, load(p + j * ld));
    k = V::div(V::add(m0, m1), V::set1(static_cast<float>(nr)));
    reg s0 = V::zero(), q0 = V::zero(), s1 = V::zero(), q1 = V::zero();
    for (j = 0; j + 2 <= nr; j += 2) {
      const reg a = V::sub(load(p + j * ld), k);
      const reg b = V::sub(load(p + (j + 1) * ld), k);
      s0 = V::add(s0, a);
      q0 = V::fma(a, a, q0);
      s1 = V::add(s1, b);
      q1 = V::fma(b, b, q1);
    }
    if (j < nr) {
      const reg a = V::sub(load(p + j * ld), k);
      s0 = V::add(s0, a);
      q0 = V::fma(a, a, q0);
    }
    s = V::add(s0, s1);
    q = V::add(q0, q1);
  }

  static void channel_sums(const float* x, std::int64_t rows, std::int64_t ld, std::int64_t c, double* s1, double* s2) {
    std::fill(s1, s1 + c, 0.0);
    std::fill(s2, s2 + c, 0.0);
    for (std::int64_t r0 = 0; r0 < rows; r0 += kBlockRows) {
      const std::int64_t nr = std::min(kBlockRows, rows - r0);
      const double n = static_cast<double>(nr);
      const float* p = x + r0 * ld;
      std::int64_t ch = 0;
      reg k, s, q;
      for (; ch + W <= c; ch += W) {
        block_sums(
            p, nr, ld, [ch](const float* a) { return V::load(a + ch); }, k, s, q);
        V::add_moments(s1 + ch, s2 + ch, k, s, q, n);
      }
      if (ch < c) {
        const int lanes = static_cast<int>(c - ch);
        const mask m = V::tail_mask(lanes);
        block_sums(
            p, nr, ld, [ch, m](const float* a) { return V::load_tail(a + ch, m); }, k, s, q);
        V::add_moments_tail(s1 + ch, s2 + ch, k, s, q, n, lanes);
      }
    }
  }

  // A whole vector. A functor, not a lambda: GCC does not give a captureless
  // lambda's static invoker the AVX-512 target of the file (-Wpsabi).
  struct FullLoad {
    reg operator()(const float* p) const { return V::load(p); }
  };

  // ((x - m_hi) - m_lo)·a + β for channels [i, i + W), every operand read with `load`.
  template <class Load>
  static reg affine(const float* in, const ChannelAffine& k, std::int64_t i, Load load) {
    const reg d = V::sub(V::sub(load(in + i), load(k.m_hi + i)), load(k.m_lo + i));
    return V::fma(d, load(k.a + i), load(k.beta + i));
  }

  static void normalize_rows(const float* x, float* y, std::int64_t rows, std::int64_t c,
                             const ChannelAffine& coefficients, bool silu, bool stream) {
    // A local copy: through the reference, every store to y could change the
    // pointers, and they were reloaded per vector (20 % of the loop's time).
    const ChannelAffine k = coefficients;
    auto put = [stream](float* p, reg v) { stream ? V::stream(p, v) : V::store(p, v); };
    const FullLoad load;
    for (std::int64_t r = 0; r < rows; ++r) {
      const float* in = x + r * c;
      float* out = y + r * c;
      std::int64_t i = 0;
      if (silu) {
        for (; i + 4 * W <= c; i += 4 * W) {
          reg v[4];
          for (int u = 0; u < 4; ++u) v[u] = affine(in, k, i + u * W, load);
          silu4<V>(v);
          for (int u = 0; u < 4; ++u) put(out + i + u * W, v[u]);
        }
      }
      for (; i + W <= c; i += W) {
        reg v = affine(in, k, i, load);
        if (silu) v = silu1<V>(v);
        put(out + i, v);
      }
      if (i < c) {
        const mask m = V::tail_mask(static_cast<int>(c - i));
        reg v = affine(in, k, i, [m](const float* p) { return V::load_tail(p, m); });
        if (silu) v = silu1<V>(v);
        V::store_tail(out + i, v, m);
      }
    }
  }
};

template <class V>
Kernels make_kernels(const char* name) {
  return Kernels{&GroupNormKernel<V>::channel_sums, &GroupNormKernel<V>::normalize_rows, V::W, name};
}

}  // namespace skingen::ops::group_norm_detail
