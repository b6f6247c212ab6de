#include "engine/rng.hpp"

#include <algorithm>
#include <string>

#include "engine/core/error.hpp"

namespace skingen::engine {

std::optional<RngKind> parse_rng_kind(std::string_view name) {
  if (name == "cpu") return RngKind::Cpu;
  if (name == "philox") return RngKind::Philox;
  return std::nullopt;
}

std::string_view rng_kind_name(RngKind kind) { return kind == RngKind::Cpu ? "cpu" : "philox"; }

std::optional<BatchSeeds> parse_batch_seeds(std::string_view name) {
  if (name == "increment") return BatchSeeds::Increment;
  if (name == "stream") return BatchSeeds::Stream;
  return std::nullopt;
}

std::string_view batch_seeds_name(BatchSeeds mode) { return mode == BatchSeeds::Increment ? "increment" : "stream"; }

void check_batch_seeds(BatchSeeds mode, RngKind kind) {
  if (mode == BatchSeeds::Stream && kind != RngKind::Cpu)
    throw UsageError("--batch-seeds: stream draws the batch as torch.randn on the CPU (ComfyUI, diffusers); it needs "
                     "--rng cpu, got --rng " + std::string(rng_kind_name(kind)));
}

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

BatchNoise BatchNoise::stream_slice(RngKind kind, std::uint64_t seed, std::int64_t total, std::int64_t first) {
  if (total < 1 || first < 0 || first >= total)
    throw UsageError("stream batch: image " + std::to_string(first) + " of a batch of " + std::to_string(total) +
                     " does not exist");
  BatchNoise b = whole_batch(kind, seed);
  b.stream_total_ = total;
  b.stream_first_ = first;
  return b;
}

void BatchNoise::fill(Tensor& out) {
  if (whole_ && (stream_total_ == 0 || (stream_first_ == 0 && out.ndim() >= 1 && out.dim(0) == stream_total_))) {
    gens_[0].randn(out.f32_mut(), static_cast<std::size_t>(out.numel()));
    return;
  }
  if (whole_) {
    // Draw all `stream_total_` images as one tensor (the draw depends on its
    // size: the last partial block of 16, the scalar path below 16), keep ours.
    if (out.ndim() < 1 || stream_first_ + out.dim(0) > stream_total_)
      throw UsageError("noise tensor " + shape_str(out.shape()) + " does not fit images " +
                       std::to_string(stream_first_) + "… of a stream batch of " + std::to_string(stream_total_));
    const auto per_image = static_cast<std::size_t>(out.numel() / out.dim(0));
    stream_buffer_.resize(per_image * static_cast<std::size_t>(stream_total_));
    gens_[0].randn(stream_buffer_.data(), stream_buffer_.size());
    std::copy_n(stream_buffer_.data() + static_cast<std::size_t>(stream_first_) * per_image,
                static_cast<std::size_t>(out.numel()), out.f32_mut());
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

BatchNoiseSources batch_noise_sources(RngKind kind, BatchSeeds mode, std::uint64_t seed, std::int64_t batch,
                                      std::int64_t stream_total, std::int64_t stream_first) {
  if (mode == BatchSeeds::Increment) return {BatchNoise(kind, seed, batch), std::nullopt};
  check_batch_seeds(mode, kind);
  if (stream_total == 0) stream_total = batch;
  if (stream_first + batch > stream_total)
    throw UsageError("stream batch: images " + std::to_string(stream_first) + "…" +
                     std::to_string(stream_first + batch - 1) + " of a batch of " + std::to_string(stream_total) +
                     " do not exist");
  // ComfyUI's default_noise_sampler: a generator of its own, seeded with seed + 1 on the CPU.
  return {BatchNoise::stream_slice(kind, seed, stream_total, stream_first),
          BatchNoise::stream_slice(kind, seed + 1, stream_total, stream_first)};
}

}  // namespace skingen::engine
