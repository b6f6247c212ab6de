#include "engine/rng.hpp"

#include <string>

#include "engine/core/error.hpp"

namespace skingen::engine {

std::optional<RngKind> parse_rng_kind(std::string_view name) {
  if (name == "cpu") return RngKind::Cpu;
  if (name == "philox") return RngKind::Philox;
  return std::nullopt;
}

std::string_view rng_kind_name(RngKind kind) { return kind == RngKind::Cpu ? "cpu" : "philox"; }

namespace {
std::variant<TorchCpuGenerator, PhiloxGenerator> make_generator(RngKind kind, std::uint64_t seed) {
  if (kind == RngKind::Cpu) return TorchCpuGenerator(seed);
  return PhiloxGenerator(seed);
}
}  // namespace

Rng::Rng(RngKind kind, std::uint64_t seed) : gen_(make_generator(kind, seed)) {}

RngKind Rng::kind() const { return std::holds_alternative<TorchCpuGenerator>(gen_) ? RngKind::Cpu : RngKind::Philox; }

void Rng::randn(float* out, std::size_t n) {
  std::visit([&](auto& g) { g.randn(out, n); }, gen_);
}

Tensor Rng::randn(const Shape& shape) {
  Tensor t = Tensor::f32(shape);
  randn(t.f32_mut(), static_cast<std::size_t>(t.numel()));
  return t;
}

BatchNoise::BatchNoise(RngKind kind, std::uint64_t seed, std::int64_t batch) {
  if (batch < 1) throw UsageError("noise batch must be at least 1, got " + std::to_string(batch));
  gens_.reserve(static_cast<std::size_t>(batch));
  for (std::int64_t i = 0; i < batch; ++i) gens_.emplace_back(kind, seed + static_cast<std::uint64_t>(i));
}

BatchNoise BatchNoise::whole_batch(RngKind kind, std::uint64_t seed) {
  BatchNoise b;
  b.gens_.emplace_back(kind, seed);
  b.whole_ = true;
  return b;
}

void BatchNoise::fill(Tensor& out) {
  if (whole_) {
    gens_[0].randn(out.f32_mut(), static_cast<std::size_t>(out.numel()));
    return;
  }
  if (out.ndim() < 1 || out.dim(0) != batch())
    throw UsageError("noise tensor " + shape_str(out.shape()) + " does not have batch " + std::to_string(batch()));
  float* data = out.f32_mut();
  const auto per_image = static_cast<std::size_t>(out.numel() / batch());
  for (std::size_t i = 0; i < gens_.size(); ++i) gens_[i].randn(data + i * per_image, per_image);
}

Tensor BatchNoise::draw(const Shape& shape) {
  Tensor t = Tensor::f32(shape);
  fill(t);
  return t;
}

}  // namespace skingen::engine
