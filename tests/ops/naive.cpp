#include "ops/naive.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>

namespace skingen::naive {

Tensor random(Shape shape, std::uint32_t seed, float lo, float hi) {
  Tensor t = Tensor::f32(std::move(shape));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  float* p = t.f32_mut();
  for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = dist(rng);
  return t;
}

double nmse(const Tensor& got, const Tensor& ref) {
  if (got.numel() != ref.numel()) throw std::invalid_argument("nmse: sizes differ");
  double num = 0, den = 0;
  for (std::int64_t i = 0; i < ref.numel(); ++i) {
    const double d = static_cast<double>(got.f32_data()[i]) - ref.f32_data()[i];
    num += d * d;
    den += static_cast<double>(ref.f32_data()[i]) * ref.f32_data()[i];
  }
  return den > 0 ? num / den : num;
}

double max_abs_err(const Tensor& got, const Tensor& ref) {
  if (got.numel() != ref.numel()) throw std::invalid_argument("max_abs_err: sizes differ");
  double m = 0;
  for (std::int64_t i = 0; i < ref.numel(); ++i)
    m = std::max(m, std::fabs(static_cast<double>(got.f32_data()[i]) - ref.f32_data()[i]));
  return m;
}

double max_rel_err(const Tensor& got, const Tensor& ref, double floor) {
  if (got.numel() != ref.numel()) throw std::invalid_argument("max_rel_err: sizes differ");
  double m = 0;
  for (std::int64_t i = 0; i < ref.numel(); ++i) {
    const double r = ref.f32_data()[i];
    const double e = std::fabs(static_cast<double>(got.f32_data()[i]) - r) / std::max(std::fabs(r), floor);
    if (std::isnan(e)) return INFINITY;
    m = std::max(m, e);
  }
  return m;
}

bool bit_identical(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, int stride, int top, int bottom, int left,
              int right) {
  const auto n = x.dim(0), h = x.dim(1), wd = x.dim(2), ci = x.dim(3);
  const auto co = w.dim(0), kh = w.dim(2), kw = w.dim(3);
  const auto ho = (h + top + bottom - kh) / stride + 1, wo = (wd + left + right - kw) / stride + 1;
  Tensor y = Tensor::f32({n, ho, wo, co});
  const float* X = x.f32_data();
  const float* W = w.f32_data();
  float* Y = y.f32_mut();
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t oy = 0; oy < ho; ++oy)
      for (std::int64_t ox = 0; ox < wo; ++ox)
        for (std::int64_t o = 0; o < co; ++o) {
          double acc = bias.defined() ? bias.f32_data()[o] : 0.0;
          for (std::int64_t ky = 0; ky < kh; ++ky) {
            const std::int64_t iy = oy * stride + ky - top;
            if (iy < 0 || iy >= h) continue;
            for (std::int64_t kx = 0; kx < kw; ++kx) {
              const std::int64_t ix = ox * stride + kx - left;
              if (ix < 0 || ix >= wd) continue;
              for (std::int64_t i = 0; i < ci; ++i)
                acc +=
                    static_cast<double>(X[((b * h + iy) * wd + ix) * ci + i]) * W[((o * ci + i) * kh + ky) * kw + kx];
            }
          }
          Y[((b * ho + oy) * wo + ox) * co + o] = static_cast<float>(acc);
        }
  return y;
}

Tensor wrap_pad(const Tensor& x, int top, int bottom, int left, int right) {
  const auto n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
  const auto hp = h + top + bottom, wp = w + left + right;
  Tensor y = Tensor::f32({n, hp, wp, c});
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t yy = 0; yy < hp; ++yy)
      for (std::int64_t xx = 0; xx < wp; ++xx) {
        const std::int64_t sy = ((yy - top) % h + h) % h, sx = ((xx - left) % w + w) % w;
        for (std::int64_t ch = 0; ch < c; ++ch)
          y.f32_mut()[((b * hp + yy) * wp + xx) * c + ch] = x.f32_data()[((b * h + sy) * w + sx) * c + ch];
      }
  return y;
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias) {
  const auto in = w.dim(1), out = w.dim(0), rows = x.numel() / in;
  Shape s = x.shape();
  s.back() = out;
  Tensor y = Tensor::f32(s);
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t o = 0; o < out; ++o) {
      double acc = bias.defined() ? bias.f32_data()[o] : 0.0;
      for (std::int64_t i = 0; i < in; ++i)
        acc += static_cast<double>(x.f32_data()[r * in + i]) * w.f32_data()[o * in + i];
      y.f32_mut()[r * out + o] = static_cast<float>(acc);
    }
  return y;
}

Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_b) {
  const bool batched = a.ndim() == 3;
  const std::int64_t ba = batched ? a.dim(0) : 1, bb = batched ? b.dim(0) : 1, batch = std::max(ba, bb);
  const auto m = a.dim(-2), k = a.dim(-1), n = transpose_b ? b.dim(-2) : b.dim(-1);
  Tensor y = Tensor::f32(batched ? Shape{batch, m, n} : Shape{m, n});
  for (std::int64_t z = 0; z < batch; ++z) {
    const float* A = a.f32_data() + (ba == 1 ? 0 : z) * m * k;
    const float* B = b.f32_data() + (bb == 1 ? 0 : z) * k * n;
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (std::int64_t t = 0; t < k; ++t)
          acc += static_cast<double>(A[i * k + t]) * (transpose_b ? B[j * k + t] : B[t * n + j]);
        y.f32_mut()[(z * m + i) * n + j] = static_cast<float>(acc);
      }
  }
  return y;
}

Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, int heads, double scale, bool causal) {
  const auto n = q.dim(0), tq = q.dim(1), c = q.dim(2), tk = k.dim(1);
  const auto d = c / heads;
  Tensor y = Tensor::f32({n, tq, c});
  std::vector<double> s(static_cast<std::size_t>(tk));
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t h = 0; h < heads; ++h)
      for (std::int64_t i = 0; i < tq; ++i) {
        double mx = -INFINITY;
        for (std::int64_t j = 0; j < tk; ++j) {
          if (causal && j > i) continue;
          double acc = 0;
          for (std::int64_t t = 0; t < d; ++t)
            acc += static_cast<double>(q.f32_data()[(b * tq + i) * c + h * d + t]) *
                   k.f32_data()[(b * tk + j) * c + h * d + t];
          s[j] = acc * scale;
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (std::int64_t j = 0; j < tk; ++j) {
          s[j] = (causal && j > i) ? 0.0 : std::exp(s[j] - mx);
          sum += s[j];
        }
        for (std::int64_t t = 0; t < d; ++t) {
          double acc = 0;
          for (std::int64_t j = 0; j < tk; ++j) acc += s[j] * v.f32_data()[(b * tk + j) * c + h * d + t];
          y.f32_mut()[(b * tq + i) * c + h * d + t] = static_cast<float>(acc / sum);
        }
      }
  return y;
}

Tensor group_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, int groups, double eps, bool use_silu,
                  const Tensor* add_before) {
  const auto n = x.dim(0), c = x.dim(-1), p = x.numel() / (n * c), cg = c / groups;
  Tensor y = Tensor::f32(x.shape());
  auto in = [&](std::int64_t b, std::int64_t pos, std::int64_t ch) {
    return static_cast<double>(x.f32_data()[(b * p + pos) * c + ch]) +
           (add_before ? add_before->f32_data()[b * c + ch] : 0.0);
  };
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t g = 0; g < groups; ++g) {
      double sum = 0;
      for (std::int64_t pos = 0; pos < p; ++pos)
        for (std::int64_t ch = g * cg; ch < (g + 1) * cg; ++ch) sum += in(b, pos, ch);
      const double mean = sum / static_cast<double>(p * cg);
      double sq = 0;
      for (std::int64_t pos = 0; pos < p; ++pos)
        for (std::int64_t ch = g * cg; ch < (g + 1) * cg; ++ch) sq += (in(b, pos, ch) - mean) * (in(b, pos, ch) - mean);
      const double rstd = 1.0 / std::sqrt(sq / static_cast<double>(p * cg) + eps);
      for (std::int64_t pos = 0; pos < p; ++pos)
        for (std::int64_t ch = g * cg; ch < (g + 1) * cg; ++ch) {
          double v = (in(b, pos, ch) - mean) * rstd * gamma.f32_data()[ch] + beta.f32_data()[ch];
          if (use_silu) v = silu(v);
          y.f32_mut()[(b * p + pos) * c + ch] = static_cast<float>(v);
        }
    }
  return y;
}

Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, double eps) {
  const auto c = x.dim(-1), rows = x.numel() / c;
  Tensor y = Tensor::f32(x.shape());
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* in = x.f32_data() + r * c;
    double mean = 0;
    for (std::int64_t i = 0; i < c; ++i) mean += in[i];
    mean /= static_cast<double>(c);
    double sq = 0;
    for (std::int64_t i = 0; i < c; ++i) sq += (in[i] - mean) * (in[i] - mean);
    const double rstd = 1.0 / std::sqrt(sq / static_cast<double>(c) + eps);
    for (std::int64_t i = 0; i < c; ++i)
      y.f32_mut()[r * c + i] = static_cast<float>((in[i] - mean) * rstd * gamma.f32_data()[i] + beta.f32_data()[i]);
  }
  return y;
}

double silu(double x) { return x / (1.0 + std::exp(-x)); }
double gelu(double x) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); }
double quick_gelu(double x) { return x / (1.0 + std::exp(-1.702 * x)); }

Tensor map(const Tensor& x, double (*f)(double)) {
  Tensor y = Tensor::f32(x.shape());
  for (std::int64_t i = 0; i < x.numel(); ++i) y.f32_mut()[i] = static_cast<float>(f(x.f32_data()[i]));
  return y;
}

Tensor geglu(const Tensor& x) {
  const auto f = x.dim(-1) / 2, rows = x.numel() / (2 * f);
  Shape s = x.shape();
  s.back() = f;
  Tensor y = Tensor::f32(s);
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t i = 0; i < f; ++i)
      y.f32_mut()[r * f + i] = static_cast<float>(x.f32_data()[r * 2 * f + i] * gelu(x.f32_data()[r * 2 * f + f + i]));
  return y;
}

Tensor softmax(const Tensor& x) {
  const auto c = x.dim(-1), rows = x.numel() / c;
  Tensor y = Tensor::f32(x.shape());
  for (std::int64_t r = 0; r < rows; ++r) {
    double mx = -INFINITY, sum = 0;
    for (std::int64_t i = 0; i < c; ++i) mx = std::max<double>(mx, x.f32_data()[r * c + i]);
    for (std::int64_t i = 0; i < c; ++i) sum += std::exp(x.f32_data()[r * c + i] - mx);
    for (std::int64_t i = 0; i < c; ++i)
      y.f32_mut()[r * c + i] = static_cast<float>(std::exp(x.f32_data()[r * c + i] - mx) / sum);
  }
  return y;
}

Tensor broadcast_binary(const Tensor& a, const Tensor& b, int op) {
  const std::size_t rank = std::max(a.shape().size(), b.shape().size());
  Shape as(rank, 1), bs(rank, 1), out(rank, 1);
  std::copy(a.shape().begin(), a.shape().end(), as.end() - static_cast<std::ptrdiff_t>(a.shape().size()));
  std::copy(b.shape().begin(), b.shape().end(), bs.end() - static_cast<std::ptrdiff_t>(b.shape().size()));
  for (std::size_t i = 0; i < rank; ++i) out[i] = std::max(as[i], bs[i]);
  Tensor y = Tensor::f32(out);
  std::vector<std::int64_t> idx(rank, 0);
  for (std::int64_t flat = 0; flat < y.numel(); ++flat) {
    std::int64_t rem = flat, ia = 0, ib = 0, sa = 1, sb = 1;
    for (std::size_t k = rank; k-- > 0;) {
      idx[k] = rem % out[k];
      rem /= out[k];
      ia += (as[k] == 1 ? 0 : idx[k]) * sa;
      ib += (bs[k] == 1 ? 0 : idx[k]) * sb;
      sa *= as[k];
      sb *= bs[k];
    }
    const double u = a.f32_data()[ia], v = b.f32_data()[ib];
    y.f32_mut()[flat] = static_cast<float>(op == 0 ? u + v : u * v);
  }
  return y;
}

Tensor upsample_nearest2x(const Tensor& x) {
  const auto n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
  Tensor y = Tensor::f32({n, 2 * h, 2 * w, c});
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t yy = 0; yy < 2 * h; ++yy)
      for (std::int64_t xx = 0; xx < 2 * w; ++xx)
        for (std::int64_t ch = 0; ch < c; ++ch)
          y.f32_mut()[((b * 2 * h + yy) * 2 * w + xx) * c + ch] =
              x.f32_data()[((b * h + yy / 2) * w + xx / 2) * c + ch];
  return y;
}

Tensor concat_last(const Tensor& a, const Tensor& b) {
  const auto ca = a.dim(-1), cb = b.dim(-1), rows = a.numel() / ca;
  Shape s = a.shape();
  s.back() = ca + cb;
  Tensor y = Tensor::f32(s);
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t i = 0; i < ca; ++i) y.f32_mut()[r * (ca + cb) + i] = a.f32_data()[r * ca + i];
    for (std::int64_t i = 0; i < cb; ++i) y.f32_mut()[r * (ca + cb) + ca + i] = b.f32_data()[r * cb + i];
  }
  return y;
}

Tensor nchw_to_nhwc(const Tensor& x) {
  const auto n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  Tensor y = Tensor::f32({n, h, w, c});
  for (std::int64_t b = 0; b < n; ++b)
    for (std::int64_t ch = 0; ch < c; ++ch)
      for (std::int64_t yy = 0; yy < h; ++yy)
        for (std::int64_t xx = 0; xx < w; ++xx)
          y.f32_mut()[((b * h + yy) * w + xx) * c + ch] = x.f32_data()[((b * c + ch) * h + yy) * w + xx];
  return y;
}

Tensor timestep_embedding(const Tensor& t, int dim, double max_period) {
  // The fp32 steps of torch (CompVis openaimodel.py): exponent, division,
  // exp and the product t·freq each rounded to fp32; cos/sin then exact.
  const auto n = t.dim(0);
  const int half = dim / 2;
  Tensor y = Tensor::zeros(engine::DType::F32, {n, dim});
  const float neg_log = static_cast<float>(-std::log(max_period));
  for (std::int64_t b = 0; b < n; ++b)
    for (int i = 0; i < half; ++i) {
      const float e = (neg_log * static_cast<float>(i)) / static_cast<float>(half);
      const float freq = static_cast<float>(std::exp(static_cast<double>(e)));
      const float arg = t.f32_data()[b] * freq;
      y.f32_mut()[b * dim + i] = static_cast<float>(std::cos(static_cast<double>(arg)));
      y.f32_mut()[b * dim + half + i] = static_cast<float>(std::sin(static_cast<double>(arg)));
    }
  return y;
}

}  // namespace skingen::naive
