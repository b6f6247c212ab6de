// PyTorch / NumPy numerics reproduced operation for operation (see header).
// Contraction is off: each `a * b + c` here must round twice, as in NumPy;
// the fused operations PyTorch performs are written with std::fma.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

#include "engine/upstream_numerics.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "engine/core/error.hpp"

namespace skingen::engine::upstream {
namespace {

template <typename T>
std::vector<T> torch_linspace(double start_d, double end_d, std::int64_t n) {
  if (n < 0) throw UsageError("linspace: negative length " + std::to_string(n));
  std::vector<T> out(static_cast<std::size_t>(n));
  if (n == 0) return out;
  const T start = static_cast<T>(start_d);  // Scalar::to<scalar_t>()
  const T end = static_cast<T>(end_d);
  if (n == 1) {
    out[0] = start;
    return out;
  }
  const T step = (end - start) / static_cast<T>(n - 1);
  const std::int64_t halfway = n / 2;
  for (std::int64_t i = 0; i < n; ++i) {
    out[static_cast<std::size_t>(i)] = i < halfway ? std::fma(step, static_cast<T>(i), start)
                                                   : std::fma(-step, static_cast<T>(n - 1 - i), end);
  }
  return out;
}

}  // namespace

std::vector<float> torch_linspace_f32(double start, double end, std::int64_t n) {
  return torch_linspace<float>(start, end, n);
}
std::vector<double> torch_linspace_f64(double start, double end, std::int64_t n) {
  return torch_linspace<double>(start, end, n);
}

float log_f32(float x) { return static_cast<float>(std::log(static_cast<double>(x))); }
float exp_f32(float x) { return static_cast<float>(std::exp(static_cast<double>(x))); }
float expm1_f32(float x) { return static_cast<float>(std::expm1(static_cast<double>(x))); }
float pow_f32(float x, double e) { return static_cast<float>(std::pow(static_cast<double>(x), e)); }

std::vector<double> np_linspace(double start, double stop, std::int64_t num, bool endpoint) {
  if (num < 0) throw UsageError("linspace: negative length " + std::to_string(num));
  std::vector<double> y(static_cast<std::size_t>(num));
  const std::int64_t div = endpoint ? num - 1 : num;
  const double delta = stop - start;
  for (std::int64_t i = 0; i < num; ++i) {
    const double fi = static_cast<double>(i);
    double v;
    if (div > 0) {
      const double step = delta / static_cast<double>(div);
      v = step == 0 ? fi / static_cast<double>(div) * delta : fi * step;
    } else {
      v = fi * delta;
    }
    y[static_cast<std::size_t>(i)] = v + start;
  }
  if (endpoint && num > 1) y.back() = stop;
  return y;
}

std::vector<double> np_arange(double start, double stop, double step) {
  if (step == 0 || !std::isfinite(step)) throw UsageError("arange: bad step");
  const double len_d = std::ceil((stop - start) / step);
  if (!(len_d > 0)) return {};
  if (len_d > 1e9) throw UsageError("arange: too long");
  const auto len = static_cast<std::size_t>(len_d);
  std::vector<double> y(len);
  y[0] = start;
  if (len > 1) y[1] = start + step;
  const double delta = y.size() > 1 ? y[1] - y[0] : 0.0;  // DOUBLE_fill
  for (std::size_t i = 2; i < len; ++i) y[i] = start + static_cast<double>(i) * delta;
  return y;
}

double np_round(double x) { return std::nearbyint(x); }  // default rounding mode: half to even

double np_interp_unit(double x, const std::vector<double>& fp) {
  // numpy/core/src/multiarray/compiled_base.c arr_interp with xp = 0, 1, …, n − 1.
  const auto n = static_cast<std::int64_t>(fp.size());
  if (n == 0) throw UsageError("interp: empty table");
  if (std::isnan(x)) return x;
  if (x < 0) return fp.front();
  if (x >= static_cast<double>(n - 1)) return fp.back();
  const auto j = static_cast<std::int64_t>(std::floor(x));
  const auto uj = static_cast<std::size_t>(j);
  if (static_cast<double>(j) == x) return fp[uj];
  const double slope = (fp[uj + 1] - fp[uj]) / 1.0;
  return slope * (x - static_cast<double>(j)) + fp[uj];
}

}  // namespace skingen::engine::upstream
