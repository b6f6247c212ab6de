#pragma once
// Seeded Gaussian noise, drawn the way upstream draws it (docs/FORMATS.md, "Seeds").
//
//   Rng        one generator: `--rng cpu` = torch.randn on CPU after
//              torch.manual_seed (engine/rng_torch_cpu.hpp), `--rng philox` =
//              A1111's GPU-compatible Philox (engine/rng_philox.hpp).
//   BatchNoise one generator per image, image i seeded with seed + i, each
//              image's [C, H, W] slice drawn from its own generator (A1111's
//              ImageRNG; diffusers with a list of generators). Every draw
//              (the initial noise, then each ancestral step) continues the
//              same per-image streams, so image i of a batch equals a
//              single-image run with seed + i.
//              BatchNoise::whole_batch: one generator draws the whole
//              [B, C, H, W] tensor at once (ComfyUI's prepare_noise; ComfyUI
//              draws ancestral noise from a second such generator seeded with
//              seed + 1 on CPU, comfy/k_diffusion/sampling.py
//              default_noise_sampler).
#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/core/tensor.hpp"
#include "engine/rng_philox.hpp"
#include "engine/rng_torch_cpu.hpp"

namespace skingen::engine {

enum class RngKind { Cpu, Philox };

std::optional<RngKind> parse_rng_kind(std::string_view name);  // "cpu", "philox"
std::string_view rng_kind_name(RngKind kind);

class Rng {
 public:
  Rng(RngKind kind, std::uint64_t seed);

  RngKind kind() const;
  // Fills n floats; allocates nothing.
  void randn(float* out, std::size_t n);
  // A new fp32 tensor of standard normal values.
  Tensor randn(const Shape& shape);

 private:
  std::variant<TorchCpuGenerator, PhiloxGenerator> gen_;
};

class BatchNoise {
 public:
  // Generators for seeds seed, seed + 1, …, seed + batch − 1 (wrapping at 2⁶⁴).
  BatchNoise(RngKind kind, std::uint64_t seed, std::int64_t batch);
  // One generator for tensors of any batch size.
  static BatchNoise whole_batch(RngKind kind, std::uint64_t seed);

  // Images per draw; 0 for whole_batch (any).
  std::int64_t batch() const { return whole_ ? 0 : static_cast<std::int64_t>(gens_.size()); }
  // out: fp32, writable, out.dim(0) == batch() (unless whole_batch); slice i
  // comes from generator i. Allocates nothing.
  void fill(Tensor& out);
  // A new tensor of the given shape.
  Tensor draw(const Shape& shape);

 private:
  BatchNoise() = default;
  std::vector<Rng> gens_;
  bool whole_ = false;
};

}  // namespace skingen::engine
