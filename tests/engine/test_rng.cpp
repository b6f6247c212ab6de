// engine/rng against known outputs: torch.randn on CPU (PyTorch 1.13) and an
// independent transcription of A1111's Philox generator, both written by
// tests/reference/rng_reference.py. Every value must match bit for bit.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/rng.hpp"
#include "engine/safetensors_reader.hpp"

using namespace skingen;
using namespace skingen::engine;

namespace {

std::uint32_t bits_of(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// Number of elements whose bit pattern differs.
std::size_t bit_mismatches(const float* a, const float* b, std::size_t n) {
  std::size_t bad = 0;
  for (std::size_t i = 0; i < n; ++i) bad += bits_of(a[i]) != bits_of(b[i]);
  return bad;
}

}  // namespace

TEST_CASE("rng reproduces torch.randn and A1111 philox bit for bit", "[rng]") {
  const auto file = SafetensorsFile::open(std::string(SKINGEN_TEST_DATA) + "/rng/rng_golden.safetensors");
  const auto cases = nlohmann::json::parse(file.metadata().at("cases"));
  REQUIRE(cases.size() > 30);
  std::size_t checked = 0;
  for (const auto& c : cases) {
    const std::string name = c.at("name");
    const auto kind = parse_rng_kind(c.at("rng").get<std::string>());
    REQUIRE(kind);
    Rng rng(*kind, std::stoull(c.at("seed").get<std::string>()));
    int k = 0;
    for (const auto& s : c.at("shapes")) {
      const Shape shape = s.get<Shape>();
      const Tensor got = rng.randn(shape);
      const auto* info = file.find(name + "/" + std::to_string(k));
      REQUIRE(info);
      const Tensor want = file.read_f32(*info);
      INFO(name << " draw " << k << " " << shape_str(shape));
      REQUIRE(want.shape() == got.shape());
      CHECK(bit_mismatches(got.f32_data(), want.f32_data(), static_cast<std::size_t>(got.numel())) == 0);
      checked += static_cast<std::size_t>(got.numel());
      ++k;
    }
  }
  CHECK(checked > 40000);
}

TEST_CASE("torch seeds keep only the low 32 bits", "[rng]") {
  Rng a(RngKind::Cpu, 5), b(RngKind::Cpu, (std::uint64_t{1} << 32) + 5);
  const Tensor x = a.randn({1, 4, 8, 8}), y = b.randn({1, 4, 8, 8});
  CHECK(bit_mismatches(x.f32_data(), y.f32_data(), 256) == 0);
  // Philox uses the whole 64-bit seed as its key.
  Rng p(RngKind::Philox, 5), q(RngKind::Philox, (std::uint64_t{1} << 32) + 5);
  const Tensor u = p.randn({64}), v = q.randn({64});
  CHECK(bit_mismatches(u.f32_data(), v.f32_data(), 64) == 64);
}

TEST_CASE("philox matches the example in A1111's rng_philox.py", "[rng]") {
  // modules/rng_philox.py docstring: Generator(seed=0).randn(shape=(3, 4)).
  const std::vector<double> expected = {-0.92466259, -0.42534415, -2.6438457,  0.14518388,
                                        -0.12086647, -0.57972564, -0.62285122, -0.32838709,
                                        -1.07454231, -0.36314407, -1.67105067, 2.26550497};
  Rng rng(RngKind::Philox, 0);
  const Tensor t = rng.randn({3, 4});
  for (std::size_t i = 0; i < expected.size(); ++i) CHECK(t.f32_data()[i] == Approx(expected[i]).margin(1e-7));
}

TEST_CASE("batch noise draws image i from seed + i, continuing each stream", "[rng]") {
  for (auto kind : {RngKind::Cpu, RngKind::Philox}) {
    BatchNoise batch(kind, 41, 3);
    Tensor first = batch.draw({3, 4, 4, 5});
    Tensor second = batch.draw({3, 4, 4, 5});
    for (int i = 0; i < 3; ++i) {
      Rng single(kind, 41 + static_cast<std::uint64_t>(i));
      const Tensor a = single.randn({4, 4, 5});
      const Tensor b = single.randn({4, 4, 5});
      CHECK(bit_mismatches(first.f32_data() + i * 80, a.f32_data(), 80) == 0);
      CHECK(bit_mismatches(second.f32_data() + i * 80, b.f32_data(), 80) == 0);
    }
  }
  // ComfyUI's convention: one generator draws the whole batch.
  BatchNoise whole = BatchNoise::whole_batch(RngKind::Cpu, 41);
  Rng single(RngKind::Cpu, 41);
  const Tensor w = whole.draw({3, 4, 4, 5}), s = single.randn({3, 4, 4, 5});
  CHECK(bit_mismatches(w.f32_data(), s.f32_data(), 240) == 0);

  BatchNoise two(RngKind::Cpu, 0, 2);
  Tensor wrong = Tensor::f32({3, 4});
  CHECK_THROWS_AS(two.fill(wrong), UsageError);
  CHECK(parse_rng_kind("cuda") == std::nullopt);
}
