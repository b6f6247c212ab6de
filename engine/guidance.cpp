#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#endif
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

#include "engine/guidance.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "engine/core/error.hpp"

namespace skingen::engine {

void combine_guidance(const float* uncond, const float* cond, float scale, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] = uncond[i] + scale * (cond[i] - uncond[i]);
}

namespace {
Shape doubled(const Shape& s) {
  if (s.empty() || s[0] < 1) throw UsageError("guidance: bad latent shape " + shape_str(s));
  Shape d = s;
  d[0] *= 2;
  return d;
}

// The whole of `s` as a plain decimal number ("3", "0.25", "1e-2", "inf").
std::optional<double> whole_number(const std::string& s) {
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}
}  // namespace

std::optional<GuidanceInterval> parse_guidance_interval(const std::string& text) {
  const auto comma = text.find(',');
  if (comma == std::string::npos) return std::nullopt;
  const auto lo = whole_number(text.substr(0, comma));
  const auto hi = whole_number(text.substr(comma + 1));
  if (!lo || !hi || !std::isfinite(*lo) || std::isnan(*hi) || *lo < 0 || !(*lo < *hi)) return std::nullopt;
  const GuidanceInterval g{static_cast<float>(*lo), static_cast<float>(*hi)};
  if (!(g.sigma_lo < g.sigma_hi)) return std::nullopt;  // equal after rounding to float
  return g;
}

std::string guidance_interval_str(const GuidanceInterval& g) {
  // Shortest float text that reads back to the same float ("3.3", not 3.2999999523).
  auto text = [](float v) {
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, end);
  };
  return text(g.sigma_lo) + "," + text(g.sigma_hi);
}

GuidedModel::GuidedModel(ModelFn inner, float scale, const Shape& shape)
    : GuidedModel(std::move(inner), nullptr, scale, GuidanceInterval{}, shape) {}

GuidedModel::GuidedModel(ModelFn inner, ModelFn cond_only, float scale, GuidanceInterval interval,
                         const Shape& shape)
    : inner_(std::move(inner)),
      cond_only_(std::move(cond_only)),
      scale_(scale),
      interval_(interval),
      schedule_(interval.everywhere() ? NoiseSchedule{} : ldm_schedule()),
      x2_(Tensor::zeros(DType::F32, doubled(shape))),
      out2_(Tensor::zeros(DType::F32, doubled(shape))) {
  if (!interval_.everywhere() && !cond_only_) throw UsageError("guidance: an interval needs the conditional model");
}

void GuidedModel::operator()(const Tensor& x_in, float t, Tensor& out) {
  if (!interval_.everywhere() && !interval_.contains(schedule_.t_to_sigma(t))) {
    cond_only_(x_in, t, out);
    return;
  }
  const auto n = static_cast<std::size_t>(x_in.numel());
  if (2 * n != static_cast<std::size_t>(x2_.numel()) || out.numel() != x_in.numel())
    throw UsageError("guidance: input " + shape_str(x_in.shape()) + " does not match " + shape_str(x2_.shape()));
  const float* x = x_in.f32_data();
  float* x2 = x2_.f32_mut();
  std::copy(x, x + n, x2);
  std::copy(x, x + n, x2 + n);
  inner_(x2_, t, out2_);
  const float* o = out2_.f32_data();
  combine_guidance(o, o + n, scale_, out.f32_mut(), n);
}

}  // namespace skingen::engine
