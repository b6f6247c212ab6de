#pragma once
// y[i] = f(x[i]) over a span, for any vector type with the VecAvx2 interface
// (vec_avx2.hpp). f is a functor with two overloads: f(reg v[4]) in place on
// four vectors (their dependency chains interleave: one chain of a
// transcendental function alone is latency-bound), and f(reg) for single
// vectors and the masked tail. In a file compiled for AVX-512 include it
// after the target pragma.
#include <cstdint>

namespace skingen::ops {

template <class V, class F>
void map_span(const float* x, float* y, std::int64_t n, F f) {
  constexpr int W = V::W;
  std::int64_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    typename V::reg v[4];
    for (int u = 0; u < 4; ++u) v[u] = V::load(x + i + u * W);
    f(v);
    for (int u = 0; u < 4; ++u) V::store(y + i + u * W, v[u]);
  }
  for (; i + W <= n; i += W) V::store(y + i, f(V::load(x + i)));
  if (i < n) {
    const auto m = V::tail_mask(static_cast<int>(n - i));
    V::store_tail(y + i, f(V::load_tail(x + i, m)), m);
  }
}

}  // namespace skingen::ops
