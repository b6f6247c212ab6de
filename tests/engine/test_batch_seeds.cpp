// --batch-seeds stream against PyTorch 1.13, bit for bit: the initial noise is
// torch.randn([N, 4, h, w]) after manual_seed(seed) and the ancestral step
// noise comes from a second generator seeded with seed + 1 (ComfyUI on the
// CPU). Goldens: tests/reference/batch_seeds_reference.py.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/rng.hpp"
#include "engine/safetensors_reader.hpp"

using namespace skingen;
using namespace skingen::engine;

namespace {

SafetensorsFile golden_file() {
  return SafetensorsFile::open(std::string(SKINGEN_TEST_DATA) + "/batch_seeds/noise.safetensors");
}

// Elements whose bit pattern differs.
std::size_t bit_mismatches(const float* a, const float* b, std::size_t n) {
  std::size_t bad = 0;
  for (std::size_t i = 0; i < n; ++i) bad += std::memcmp(a + i, b + i, sizeof(float)) != 0;
  return bad;
}

}  // namespace

TEST_CASE("stream batch seeds reproduce torch.randn of the whole batch and ComfyUI's step noise", "[rng][batch_seeds]") {
  const auto f = golden_file();
  const auto cases = nlohmann::json::parse(f.metadata().at("cases"));
  REQUIRE(cases.size() >= 10);
  std::size_t checked = 0;
  for (const auto& c : cases) {
    const std::string name = c.at("name");
    INFO(name);
    const Shape shape = c.at("shape").get<Shape>();
    const std::uint64_t seed = std::stoull(c.at("seed").get<std::string>());
    const int steps = c.at("step_draws").get<int>();
    const std::int64_t n = shape[0];
    const std::size_t per = static_cast<std::size_t>(shape_numel(shape) / n);

    // The whole batch at once.
    auto whole = batch_noise_sources(RngKind::Cpu, BatchSeeds::Stream, seed, n);
    const Tensor initial = f.read_f32(*f.find(name + "/initial"));
    const Tensor got = whole.initial.draw(shape);
    CHECK(bit_mismatches(got.f32_data(), initial.f32_data(), per * n) == 0);
    std::vector<Tensor> step_golden;
    for (int k = 0; k < steps; ++k) {
      step_golden.push_back(f.read_f32(*f.find(name + "/step/" + std::to_string(k))));
      const Tensor s = whole.step().draw(shape);
      INFO("step draw " << k);
      CHECK(bit_mismatches(s.f32_data(), step_golden.back().f32_data(), per * n) == 0);
    }
    checked += per * n * static_cast<std::size_t>(1 + steps);

    // Each image alone (how regress reruns one image of a stream batch).
    Shape one = shape;
    one[0] = 1;
    for (std::int64_t i = 0; i < n; ++i) {
      INFO("image " << i << " alone");
      auto slice = batch_noise_sources(RngKind::Cpu, BatchSeeds::Stream, seed, 1, n, i);
      CHECK(bit_mismatches(slice.initial.draw(one).f32_data(), initial.f32_data() + i * per, per) == 0);
      for (int k = 0; k < steps; ++k)
        CHECK(bit_mismatches(slice.step().draw(one).f32_data(), step_golden[k].f32_data() + i * per, per) == 0);
    }
  }
  CHECK(checked > 10000);
}

TEST_CASE("stream and increment batches share image 0 only when an image is whole blocks of 16", "[rng][batch_seeds]") {
  // [3, 4, 4, 4]: 64 values per image, a multiple of 16, so image 0 of the
  // stream is the single-image draw for the seed (what a ComfyUI user sees:
  // the first image of a batch matches the batch-of-one image); image 1 is not seed + 1's.
  const Shape shape{3, 4, 4, 4};
  auto stream = batch_noise_sources(RngKind::Cpu, BatchSeeds::Stream, 31, 3);
  auto increment = batch_noise_sources(RngKind::Cpu, BatchSeeds::Increment, 31, 3);
  const Tensor s = stream.initial.draw(shape), inc = increment.initial.draw(shape);
  CHECK(bit_mismatches(s.f32_data(), inc.f32_data(), 64) == 0);
  CHECK(bit_mismatches(s.f32_data() + 64, inc.f32_data() + 64, 64) == 64);
  CHECK(bit_mismatches(s.f32_data() + 128, inc.f32_data() + 128, 64) == 64);
  // Stream's step noise comes from a generator seeded with seed + 1 (ComfyUI),
  // not from the one that drew the initial noise (which diffusers continues).
  Rng continued(RngKind::Cpu, 31);
  (void)continued.randn(shape);
  CHECK(bit_mismatches(stream.step().draw(shape).f32_data(), continued.randn(shape).f32_data(), 192) == 192);
}

TEST_CASE("batch seed modes: names and the combinations that are refused", "[rng][batch_seeds]") {
  CHECK(parse_batch_seeds("increment") == BatchSeeds::Increment);
  CHECK(parse_batch_seeds("stream") == BatchSeeds::Stream);
  CHECK(parse_batch_seeds("comfy") == std::nullopt);
  CHECK(batch_seeds_name(BatchSeeds::Stream) == "stream");
  CHECK_NOTHROW(check_batch_seeds(BatchSeeds::Increment, RngKind::Philox));
  try {
    check_batch_seeds(BatchSeeds::Stream, RngKind::Philox);
    FAIL("stream with philox must be refused");
  } catch (const UsageError& e) {
    CHECK_THAT(e.what(), Catch::StartsWith("--batch-seeds:") && Catch::Contains("--rng cpu"));
  }
  CHECK_THROWS_AS(batch_noise_sources(RngKind::Cpu, BatchSeeds::Stream, 1, 2, 3, 2), UsageError);  // images 2..3 of 3
  CHECK_THROWS_AS(BatchNoise::stream_slice(RngKind::Cpu, 1, 3, 3), UsageError);
}
