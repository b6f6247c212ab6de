#include "ops/elementwise.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "ops/check.hpp"
#include "ops/gelu_dispatch.hpp"
#include "ops/parallel.hpp"
#include "ops/silu_kernel.hpp"
#include "ops/simd_math.hpp"
#include "ops/vec_avx2.hpp"
#include "ops/vec_map.hpp"

namespace skingen::ops {
namespace {

// Elements per parallel chunk: large enough to amortise the OpenMP fork,
// small enough to balance 2 threads on the smallest UNet activations.
constexpr std::int64_t kGrain = 1 << 14;
// GEGLU outputs this large are written with non-temporal stores: they leave
// L3 before the next linear reads them anyway, and skipping the
// read-for-ownership saves a quarter of the traffic (1.01–1.15× on the
// UNet's three large GEGLUs, side by side).
constexpr std::int64_t kGegluStreamBytes = 8 << 20;

// y[i] = f(x[i]) with f a vector function on eight floats; the tail is masked.
template <class VecFn>
void map_unary(const float* x, float* y, std::int64_t n, VecFn f) {
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, f(_mm256_loadu_ps(x + i)));
  if (i < n) {
    const __m256i m = simd::tail_mask(static_cast<int>(n - i));
    _mm256_maskstore_ps(y + i, m, f(_mm256_maskload_ps(x + i, m)));
  }
}

// y = x transformed span by span: span(src, dst, n) on chunks of kGrain elements.
template <class Span>
Tensor unary_spans(Context& ctx, BufferPool& pool, const Tensor& x, const char* op, Span span) {
  require_f32(x, op, "x");
  Tensor y = pool.take_f32(x.shape());
  const float* src = x.f32_data();
  float* dst = y.f32_mut();
  parallel_chunks(ctx, x.numel(), kGrain, [&](std::int64_t b, std::int64_t e) { span(src + b, dst + b, e - b); });
  return y;
}

template <class VecFn>
Tensor unary(Context& ctx, BufferPool& pool, const Tensor& x, const char* op, VecFn f) {
  return unary_spans(ctx, pool, x, op,
                     [&f](const float* src, float* dst, std::int64_t n) { map_unary(src, dst, n, f); });
}

// Broadcasting binary op, reduced to an outer loop over "rows" and an inner
// contiguous run where each operand either advances (stride 1) or repeats one
// value (stride 0).
struct BroadcastPlan {
  Shape out_shape;
  std::vector<std::int64_t> outer_dims;            // iteration space before the inner run
  std::vector<std::int64_t> a_strides, b_strides;  // per outer dim, in elements
  std::int64_t inner = 1;
  int a_inner_stride = 1, b_inner_stride = 1;  // 0 or 1
};

BroadcastPlan plan_broadcast(const Shape& as, const Shape& bs, const char* op) {
  const std::size_t rank = std::max(as.size(), bs.size());
  Shape a(rank, 1), b(rank, 1), out(rank, 1);
  std::copy(as.begin(), as.end(), a.begin() + static_cast<std::ptrdiff_t>(rank - as.size()));
  std::copy(bs.begin(), bs.end(), b.begin() + static_cast<std::ptrdiff_t>(rank - bs.size()));
  for (std::size_t i = 0; i < rank; ++i) {
    require(a[i] == b[i] || a[i] == 1 || b[i] == 1, op,
            "shapes " + engine::shape_str(as) + " and " + engine::shape_str(bs) + " do not broadcast");
    out[i] = a[i] == 1 ? b[i] : a[i];
  }
  // Contiguous strides, zeroed where an operand is broadcast.
  std::vector<std::int64_t> sa(rank), sb(rank);
  std::int64_t ra = 1, rb = 1;
  for (std::size_t k = rank; k-- > 0;) {
    sa[k] = (a[k] == 1 && out[k] != 1) ? 0 : ra;
    sb[k] = (b[k] == 1 && out[k] != 1) ? 0 : rb;
    ra *= a[k];
    rb *= b[k];
  }
  // Merge dims from the innermost outwards while both operands stay linear.
  std::vector<std::int64_t> dims, da, db;
  for (std::size_t k = 0; k < rank; ++k) {
    if (out[k] == 1) continue;
    if (!dims.empty() && da.back() == sa[k] * out[k] && db.back() == sb[k] * out[k]) {
      dims.back() *= out[k];
      da.back() = sa[k];
      db.back() = sb[k];
    } else {
      dims.push_back(out[k]);
      da.push_back(sa[k]);
      db.push_back(sb[k]);
    }
  }
  BroadcastPlan p;
  p.out_shape = out;
  if (!dims.empty()) {
    p.inner = dims.back();
    p.a_inner_stride = static_cast<int>(da.back());
    p.b_inner_stride = static_cast<int>(db.back());
    dims.pop_back();
    da.pop_back();
    db.pop_back();
  }
  p.outer_dims = dims;
  p.a_strides = da;
  p.b_strides = db;
  return p;
}

template <class VecOp>
void run_inner(const float* a, int sa, const float* b, int sb, float* y, std::int64_t n, VecOp f) {
  auto load = [](const float* p, int s, std::int64_t i) { return s ? _mm256_loadu_ps(p + i) : _mm256_set1_ps(*p); };
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, f(load(a, sa, i), load(b, sb, i)));
  if (i < n) {
    const __m256i m = simd::tail_mask(static_cast<int>(n - i));
    const __m256 va = sa ? _mm256_maskload_ps(a + i, m) : _mm256_set1_ps(*a);
    const __m256 vb = sb ? _mm256_maskload_ps(b + i, m) : _mm256_set1_ps(*b);
    _mm256_maskstore_ps(y + i, m, f(va, vb));
  }
}

template <class VecOp>
void run_broadcast(Context& ctx, const BroadcastPlan& p, const float* a, const float* b, float* y, VecOp f) {
  std::int64_t outer = 1;
  for (auto d : p.outer_dims) outer *= d;
  const std::int64_t inner = p.inner;
  if (outer == 1) {
    parallel_chunks(ctx, inner, kGrain, [&](std::int64_t s, std::int64_t e) {
      run_inner(a + (p.a_inner_stride ? s : 0), p.a_inner_stride, b + (p.b_inner_stride ? s : 0), p.b_inner_stride,
                y + s, e - s, f);
    });
    return;
  }
  const std::int64_t rows_per_chunk = std::max<std::int64_t>(1, kGrain / std::max<std::int64_t>(inner, 1));
  parallel_chunks(ctx, outer, rows_per_chunk, [&](std::int64_t s, std::int64_t e) {
    for (std::int64_t r = s; r < e; ++r) {
      std::int64_t rem = r, oa = 0, ob = 0;
      for (std::size_t k = p.outer_dims.size(); k-- > 0;) {
        const std::int64_t idx = rem % p.outer_dims[k];
        rem /= p.outer_dims[k];
        oa += idx * p.a_strides[k];
        ob += idx * p.b_strides[k];
      }
      run_inner(a + oa, p.a_inner_stride, b + ob, p.b_inner_stride, y + r * inner, inner, f);
    }
  });
}

template <class VecOp>
Tensor binary(Context& ctx, BufferPool& pool, const Tensor& a, const Tensor& b, const char* op, VecOp f) {
  require_f32(a, op, "a");
  require_f32(b, op, "b");
  const BroadcastPlan p = plan_broadcast(a.shape(), b.shape(), op);
  Tensor y = pool.take_f32(p.out_shape);
  run_broadcast(ctx, p, a.f32_data(), b.f32_data(), y.f32_mut(), f);
  return y;
}

}  // namespace

Tensor silu(Context& ctx, BufferPool& pool, const Tensor& x) {
  return unary_spans(ctx, pool, x, "silu", [](const float* src, float* dst, std::int64_t n) {
    map_span<VecAvx2>(src, dst, n, Silu<VecAvx2>{});
  });
}

Tensor gelu(Context& ctx, BufferPool& pool, const Tensor& x, Isa isa) {
  return unary_spans(ctx, pool, x, "gelu", gelu_detail::select_kernels(isa).gelu);
}

Tensor quick_gelu(Context& ctx, BufferPool& pool, const Tensor& x) {
  return unary(ctx, pool, x, "quick_gelu", [](__m256 v) { return simd::quick_gelu(v); });
}

Tensor geglu(Context& ctx, BufferPool& pool, const Tensor& x, Isa isa) {
  require_f32(x, "geglu", "x");
  const std::int64_t two_f = x.dim(-1);
  require(two_f % 2 == 0, "geglu", "last axis of " + engine::shape_str(x.shape()) + " must be even");
  const std::int64_t f = two_f / 2;
  const std::int64_t rows = f ? x.numel() / two_f : 0;
  Shape out_shape = x.shape();
  out_shape.back() = f;
  Tensor y = pool.take_f32(out_shape);
  const auto kernels = gelu_detail::select_kernels(isa);
  const float* src = x.f32_data();
  float* dst = y.f32_mut();
  const bool stream = f % kernels.width == 0 && rows * f * 4 >= kGegluStreamBytes &&
                      reinterpret_cast<std::uintptr_t>(dst) % (4 * kernels.width) == 0;
  parallel_chunks(ctx, rows, std::max<std::int64_t>(1, kGrain / std::max<std::int64_t>(f, 1)),
                  [&](std::int64_t s, std::int64_t e) {
                    kernels.geglu(src, dst, s, e, f, stream);
                    if (stream) _mm_sfence();
                  });
  return y;
}

std::string gelu_kernel_name(Isa isa) { return gelu_detail::select_kernels(isa).name; }

Tensor softmax(Context& ctx, BufferPool& pool, const Tensor& x) {
  require_f32(x, "softmax", "x");
  const std::int64_t c = x.dim(-1);
  const std::int64_t rows = c ? x.numel() / c : 0;
  Tensor y = pool.take_f32(x.shape());
  const float* src = x.f32_data();
  float* dst = y.f32_mut();
  parallel_chunks(ctx, rows, std::max<std::int64_t>(1, kGrain / std::max<std::int64_t>(c, 1)),
                  [&](std::int64_t s, std::int64_t e) {
                    for (std::int64_t r = s; r < e; ++r) {
                      const float* in = src + r * c;
                      float* out = dst + r * c;
                      float mx = -INFINITY;
                      for (std::int64_t i = 0; i < c; ++i) mx = std::max(mx, in[i]);
                      const __m256 vmx = _mm256_set1_ps(mx);
                      map_unary(in, out, c, [&](__m256 v) { return simd::exp(_mm256_sub_ps(v, vmx)); });
                      double sum = 0;
                      for (std::int64_t i = 0; i < c; ++i) sum += out[i];
                      const float inv = static_cast<float>(1.0 / sum);
                      for (std::int64_t i = 0; i < c; ++i) out[i] *= inv;
                    }
                  });
  return y;
}

Tensor add(Context& ctx, BufferPool& pool, const Tensor& a, const Tensor& b) {
  return binary(ctx, pool, a, b, "add", [](__m256 u, __m256 v) { return _mm256_add_ps(u, v); });
}

Tensor mul(Context& ctx, BufferPool& pool, const Tensor& a, const Tensor& b) {
  return binary(ctx, pool, a, b, "mul", [](__m256 u, __m256 v) { return _mm256_mul_ps(u, v); });
}

void add_in_place(Context& ctx, Tensor& a, const Tensor& b) {
  require_f32(a, "add_in_place", "a");
  require_f32(b, "add_in_place", "b");
  const BroadcastPlan p = plan_broadcast(a.shape(), b.shape(), "add_in_place");
  Shape padded(p.out_shape.size() - a.shape().size(), 1);
  padded.insert(padded.end(), a.shape().begin(), a.shape().end());
  require(padded == p.out_shape, "add_in_place",
          engine::shape_str(b.shape()) + " does not broadcast onto " + engine::shape_str(a.shape()));
  float* y = a.f32_mut();
  run_broadcast(ctx, p, y, b.f32_data(), y, [](__m256 u, __m256 v) { return _mm256_add_ps(u, v); });
}

void scale_in_place(Context& ctx, Tensor& a, float s) {
  require_f32(a, "scale_in_place", "a");
  float* y = a.f32_mut();
  const __m256 vs = _mm256_set1_ps(s);
  parallel_chunks(ctx, a.numel(), kGrain, [&](std::int64_t b, std::int64_t e) {
    map_unary(y + b, y + b, e - b, [&](__m256 v) { return _mm256_mul_ps(v, vs); });
  });
}

Tensor upsample_nearest2x(Context& ctx, BufferPool& pool, const Tensor& x) {
  require_f32(x, "upsample_nearest2x", "x", 4);
  const auto n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
  Tensor y = pool.take_f32({n, 2 * h, 2 * w, c});
  const float* src = x.f32_data();
  float* dst = y.f32_mut();
  const std::size_t pixel = static_cast<std::size_t>(c) * sizeof(float);
  parallel_for(ctx, n * 2 * h, [&](std::int64_t row) {
    const std::int64_t b = row / (2 * h), oy = row % (2 * h);
    const float* in = src + (b * h + oy / 2) * w * c;
    float* out = dst + row * 2 * w * c;
    for (std::int64_t ix = 0; ix < w; ++ix) {
      std::memcpy(out + (2 * ix) * c, in + ix * c, pixel);
      std::memcpy(out + (2 * ix + 1) * c, in + ix * c, pixel);
    }
  });
  return y;
}

Tensor concat_channels(Context& ctx, BufferPool& pool, const Tensor& a, const Tensor& b) {
  require_f32(a, "concat_channels", "a");
  require_f32(b, "concat_channels", "b");
  require(a.ndim() == b.ndim() && std::equal(a.shape().begin(), a.shape().end() - 1, b.shape().begin()),
          "concat_channels",
          "shapes " + engine::shape_str(a.shape()) + " and " + engine::shape_str(b.shape()) +
              " differ outside the last axis");
  const std::int64_t ca = a.dim(-1), cb = b.dim(-1), c = ca + cb;
  const std::int64_t rows = c ? (a.numel() + b.numel()) / c : 0;
  Shape out_shape = a.shape();
  out_shape.back() = c;
  Tensor y = pool.take_f32(out_shape);
  const float* pa = a.f32_data();
  const float* pb = b.f32_data();
  float* dst = y.f32_mut();
  parallel_chunks(ctx, rows, std::max<std::int64_t>(1, kGrain / std::max<std::int64_t>(c, 1)),
                  [&](std::int64_t s, std::int64_t e) {
                    for (std::int64_t r = s; r < e; ++r) {
                      std::memcpy(dst + r * c, pa + r * ca, static_cast<std::size_t>(ca) * 4);
                      std::memcpy(dst + r * c + ca, pb + r * cb, static_cast<std::size_t>(cb) * 4);
                    }
                  });
  return y;
}

Tensor timestep_embedding(Context&, BufferPool& pool, const Tensor& t, int dim, float max_period) {
  require_f32(t, "timestep_embedding", "t", 1);
  require(dim >= 1, "timestep_embedding", "dim must be positive");
  const std::int64_t n = t.dim(0);
  const int half = dim / 2;
  Tensor y = pool.take_f32({n, dim});
  float* out = y.f32_mut();
  const float* ts = t.f32_data();
  // Rounded step by step in fp32 as torch does it (CompVis openaimodel.py
  // timestep_embedding): exponent = fp32(-ln(max_period)) · i / half, then exp.
  const float neg_log = static_cast<float>(-std::log(static_cast<double>(max_period)));
  for (std::int64_t b = 0; b < n; ++b) {
    float* row = out + b * dim;
    for (int i = 0; i < half; ++i) {
      const float freq = std::exp(neg_log * static_cast<float>(i) / static_cast<float>(half));
      const float arg = ts[b] * freq;
      row[i] = static_cast<float>(std::cos(static_cast<double>(arg)));
      row[half + i] = static_cast<float>(std::sin(static_cast<double>(arg)));
    }
    if (dim % 2) row[dim - 1] = 0.0f;  // diffusers pads an odd dimension with one zero
  }
  return y;
}

}  // namespace skingen::ops
