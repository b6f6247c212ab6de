// Fixture files through the validating reader: every key with its shape and
// dtype, values of the right scale, exact buffers, deterministic bytes.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <iterator>

#include "engine/safetensors_reader.hpp"
#include "test_util/temp_dir.hpp"
#include "tools/fixtures/fixture_writer.hpp"
#include "tools/fixtures/lora_fixture.hpp"

using namespace skingen;
using namespace skingen::engine;
using namespace skingen::fixtures;

namespace {

std::string bytes_of(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

double std_dev(const Tensor& t) {
  const float* v = t.f32_data();
  const auto n = static_cast<std::size_t>(t.numel());
  double mean = 0, sq = 0;
  for (std::size_t i = 0; i < n; ++i) mean += v[i];
  mean /= static_cast<double>(n);
  for (std::size_t i = 0; i < n; ++i) sq += (v[i] - mean) * (v[i] - mean);
  return std::sqrt(sq / static_cast<double>(n));
}

double mean_of(const Tensor& t) {
  double s = 0;
  for (std::int64_t i = 0; i < t.numel(); ++i) s += t.f32_data()[i];
  return s / static_cast<double>(t.numel());
}

}  // namespace

TEST_CASE("a tiny F32 fixture checkpoint round-trips through the reader", "[fixtures]") {
  TempDir dir;
  const auto config = checkpoint_preset("tiny");
  const auto keys = checkpoint_keys(config, false);
  const auto path = dir.path() / "tiny.safetensors";
  const auto stats = write_fixture(path, keys, {DType::F32, 7, 1}, {{"format", "pt"}});
  const auto f = SafetensorsFile::open(path);
  REQUIRE(f.tensors().size() == keys.size());
  REQUIRE(stats.file_bytes == f.file_size());
  REQUIRE(f.metadata().at("format") == "pt");
  for (const auto& k : keys) {
    INFO(k.name);
    const TensorInfo* t = f.find(k.name);
    REQUIRE(t != nullptr);
    CHECK(t->shape == k.shape);
    CHECK(t->dtype == k.dtype.value_or(DType::F32));
  }
  // safetensors' own layout order: widest dtype first (I64 position ids), then names.
  REQUIRE(f.tensors().front().name == "cond_stage_model.transformer.text_model.embeddings.position_ids");

  // Weights: std 1/sqrt(fan_in); norms around 1 and 0.
  const Tensor w = f.read_f32(*f.find("model.diffusion_model.output_blocks.0.0.in_layers.2.weight"));  // [64, 128, 3, 3]
  CHECK(std_dev(w) == Approx(1.0 / std::sqrt(128.0 * 9)).epsilon(0.05));
  CHECK(std::abs(mean_of(w)) < 0.005);
  const Tensor g = f.read_f32(*f.find("first_stage_model.decoder.norm_out.weight"));
  CHECK(mean_of(g) == Approx(1.0).margin(0.01));
  CHECK(std_dev(g) == Approx(0.02).epsilon(0.3));
  const Tensor e = f.read_f32(*f.find("cond_stage_model.transformer.text_model.embeddings.token_embedding.weight"));
  CHECK(std_dev(e) == Approx(0.02).epsilon(0.02));

  // Buffers, exact. β from v1-inference.yaml (linear_start 0.00085, linear_end 0.012);
  // ᾱ_999 = 1 / (1 + σ_max²) with σ_max = 14.6146412 (docs/FORMATS.md,
  // "Noise schedule").
  const Tensor ids = f.view(*f.find("cond_stage_model.transformer.text_model.embeddings.position_ids"));
  for (int i = 0; i < 77; ++i) CHECK(static_cast<const std::int64_t*>(ids.raw())[i] == i);
  const Tensor ac = f.read_f32(*f.find("alphas_cumprod"));
  CHECK(ac.f32_data()[0] == Approx(1.0 - 0.00085).epsilon(1e-7));
  CHECK(ac.f32_data()[999] == Approx(1.0 / (1.0 + 14.6146412 * 14.6146412)).epsilon(1e-5));
  CHECK(f.read_f32(*f.find("betas")).f32_data()[999] == Approx(0.012).epsilon(1e-6));
  CHECK(f.read_f32(*f.find("model_ema.decay")).f32_data()[0] == 0.9999f);
}

TEST_CASE("fixture bytes depend only on the seed", "[fixtures]") {
  TempDir dir;
  const auto keys = checkpoint_keys(checkpoint_preset("tiny"), false);
  write_fixture(dir.path() / "a.safetensors", keys, {DType::F16, 1, 1});
  write_fixture(dir.path() / "b.safetensors", keys, {DType::F16, 1, 2});  // other thread count
  write_fixture(dir.path() / "c.safetensors", keys, {DType::F16, 2, 1});
  const auto a = bytes_of(dir.path() / "a.safetensors");
  REQUIRE(a == bytes_of(dir.path() / "b.safetensors"));
  REQUIRE(a.size() == bytes_of(dir.path() / "c.safetensors").size());
  REQUIRE(a != bytes_of(dir.path() / "c.safetensors"));
  const auto f = SafetensorsFile::open(dir.path() / "a.safetensors");
  CHECK(f.find("model.diffusion_model.out.2.weight")->dtype == DType::F16);
  CHECK(f.find("model_ema.num_updates")->dtype == DType::I32);
}

TEST_CASE("a chunk of a tensor's values equals the same range of the whole", "[fixtures]") {
  // Large tensors are generated in chunks; values must not depend on the chunking.
  const FixtureTensor t = weight_tensor("x.weight", {4096, 640});
  std::vector<float> whole(4096 * 640), part(1000);
  fill_values(t, 3, 0, whole.size(), whole.data(), 2);
  fill_values(t, 3, 123456, part.size(), part.data(), 1);
  for (std::size_t i = 0; i < part.size(); ++i) REQUIRE(part[i] == whole[123456 + i]);
}

TEST_CASE("a kohya LoRA fixture round-trips with its alphas and metadata", "[fixtures]") {
  TempDir dir;
  LoraFixtureOptions o;
  o.rank = 4;
  o.alpha = 1.5;
  const auto config = checkpoint_preset("tiny");
  const auto modules = kohya_modules(config, o);
  const auto path = dir.path() / "skin_4-000015.safetensors";
  write_fixture(path, kohya_lora_keys(modules), {DType::BF16, 0, 1}, kohya_lora_metadata(config, o));
  const auto f = SafetensorsFile::open(path);
  REQUIRE(f.tensors().size() == modules.size() * 3);
  REQUIRE(f.metadata().at("ss_output_name") == "skin_4");
  REQUIRE(f.metadata().at("ss_network_alpha") == "1.5");
  const auto* alpha = f.find("lora_te_text_model_encoder_layers_1_self_attn_q_proj.alpha");
  REQUIRE(alpha != nullptr);
  REQUIRE(alpha->shape.empty());
  REQUIRE(alpha->dtype == DType::BF16);
  REQUIRE(f.read_f32(*alpha).f32_data()[0] == 1.5f);
}
