#pragma once
// Seeded Gaussian noise, drawn the way upstream draws it (docs/FORMATS.md, "Seeds").
//
//   Rng        one generator: `--rng cpu` = torch.randn on CPU after
//              torch.manual_seed (engine/rng_torch_cpu.hpp), `--rng philox` =
//              A1111's GPU-compatible Philox (engine/rng_philox.hpp).
//   BatchNoise where each image of a batch takes its noise from:
//              - one generator per image, image i seeded with seed + i, each
//                image's [C, H, W] slice drawn from its own generator (A1111's
//                ImageRNG; diffusers with a list of generators). Every draw
//                (the initial noise, then each ancestral step) continues the
//                same per-image streams, so image i of a batch equals a
//                single-image run with seed + i.
//              - stream: one generator draws the whole [N, C, H, W] tensor at
//                once (ComfyUI's prepare_noise, diffusers with one generator),
//                optionally keeping only images [first, first + B) of it.
//   batch_noise_sources  the two sources a generation uses (initial noise,
//              per-step noise of ancestral samplers) for `--batch-seeds`.
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

// How the images of a batch get their noise (`--batch-seeds`).
//   Increment: image i from seed + i (A1111; the default).
//   Stream:    the whole batch from one torch.randn([N, C, H, W]) after
//              manual_seed(seed) (ComfyUI, diffusers with one CPU generator).
enum class BatchSeeds { Increment, Stream };

std::optional<BatchSeeds> parse_batch_seeds(std::string_view name);  // "increment", "stream"
std::string_view batch_seeds_name(BatchSeeds mode);
// Stream is defined for --rng cpu only (torch's CPU generator is what ComfyUI
// and diffusers draw from): UsageError naming --batch-seeds otherwise.
void check_batch_seeds(BatchSeeds mode, RngKind kind);

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
  // One generator drawing a whole batch of `total` images per draw, of which
  // only images [first, first + B) are kept (B = the filled tensor's batch):
  // one image of a stream batch, reproduced without running the others.
  static BatchNoise stream_slice(RngKind kind, std::uint64_t seed, std::int64_t total, std::int64_t first);

  // Images per draw; 0 for whole_batch (any).
  std::int64_t batch() const { return whole_ ? 0 : static_cast<std::int64_t>(gens_.size()); }
  // out: fp32, writable, out.dim(0) == batch() (unless whole_batch); slice i
  // comes from generator i. Allocates nothing (a stream slice allocates its
  // whole-batch buffer on the first draw).
  void fill(Tensor& out);
  // A new tensor of the given shape.
  Tensor draw(const Shape& shape);

 private:
  BatchNoise() = default;
  std::vector<Rng> gens_;
  bool whole_ = false;
  std::int64_t stream_total_ = 0, stream_first_ = 0;  // stream_slice; 0: keep the whole draw
  std::vector<float> stream_buffer_;
};

// The noise of one generation: `initial` draws the starting noise, step()
// the per-step noise of ancestral samplers (Euler a, LCM).
//   Increment: one BatchNoise per image seed (seed + i); the step noise
//     continues each image's stream (A1111's ImageRNG).
//   Stream: the initial noise is torch.randn([N, C, H, W]) after
//     manual_seed(seed); the step noise of every step is one more
//     torch.randn([N, C, H, W]) from a second generator seeded with seed + 1.
//     That is ComfyUI on the CPU (comfy/sample.py prepare_noise draws on the
//     CPU; comfy/k_diffusion/sampling.py default_noise_sampler seeds its
//     generator with seed + 1 when the latent is on the CPU). ComfyUI on a GPU
//     draws the step noise with the GPU's generator and diffusers continues
//     the generator of the initial noise: for ancestral samplers neither is
//     reproduced; the initial noise, and so every non-ancestral sampler,
//     matches all three.
// `batch` images are drawn; in Stream mode they are images [first, first +
// batch) of a stream batch of `stream_total` (0: the batch itself). Stream
// needs RngKind::Cpu (UsageError naming --batch-seeds otherwise).
struct BatchNoiseSources {
  BatchNoise initial;
  std::optional<BatchNoise> separate_step;  // Stream only
  BatchNoise& step() { return separate_step ? *separate_step : initial; }
};
BatchNoiseSources batch_noise_sources(RngKind kind, BatchSeeds mode, std::uint64_t seed, std::int64_t batch,
                                      std::int64_t stream_total = 0, std::int64_t stream_first = 0);

}  // namespace skingen::engine
