// Writer → reader round trips, dtype conversions and the tensor store.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "engine/core/error.hpp"
#include "engine/safetensors_reader.hpp"
#include "engine/safetensors_writer.hpp"
#include "engine/tensor_store.hpp"
#include "test_util/temp_dir.hpp"

using namespace skingen;
using namespace skingen::engine;

TEST_CASE("safetensors writer output is read back bit for bit", "[safetensors]") {
  TempDir dir;
  std::mt19937 rng(1);
  std::normal_distribution<float> nd;
  Tensor a = Tensor::f32({3, 5});
  for (int i = 0; i < 15; ++i) a.f32_mut()[i] = nd(rng);
  Tensor h = a.to_dtype(DType::F16);
  Tensor b = a.to_dtype(DType::BF16);
  Tensor scalar = Tensor::from_values({}, {8.0f});
  Tensor empty = Tensor::f32({0, 4});
  const auto path = dir.path() / "x.safetensors";
  write_safetensors(path, {{"a", a}, {"h", h}, {"b", b}, {"alpha", scalar}, {"e", empty}},
                    {{"ss_output_name", "skin_4"}});
  REQUIRE_FALSE(std::filesystem::exists(dir.path() / ".x.safetensors.tmp"));

  const auto f = SafetensorsFile::open(path);
  REQUIRE(f.tensors().size() == 5);
  REQUIRE(f.metadata().at("ss_output_name") == "skin_4");
  REQUIRE(f.header().data_offset() % 8 == 0);
  const Tensor a2 = f.read_f32(*f.find("a"));
  for (int i = 0; i < 15; ++i) REQUIRE(a2.f32_data()[i] == a.f32_data()[i]);
  const Tensor h2 = f.read_f32(*f.find("h"));
  for (int i = 0; i < 15; ++i) REQUIRE(std::abs(h2.f32_data()[i] - a.f32_data()[i]) <= 1e-3f * std::abs(a.f32_data()[i]) + 1e-7f);
  REQUIRE(f.find("alpha")->shape.empty());
  REQUIRE(f.read_f32(*f.find("alpha")).f32_data()[0] == 8.0f);
  REQUIRE(f.find("e")->nbytes() == 0);
  REQUIRE(f.view(*f.find("b")).dtype() == DType::BF16);
}

TEST_CASE("F16 and BF16 conversion rounds to nearest even like torch", "[dtype]") {
  // 1 + 2^-11 is halfway between two halves: ties go to the even one (1.0).
  REQUIRE(half_to_float(float_to_half(1.0f + std::ldexp(1.0f, -11))) == 1.0f);
  REQUIRE(half_to_float(float_to_half(1.0f + 3 * std::ldexp(1.0f, -11))) == 1.0f + std::ldexp(1.0f, -9));
  REQUIRE(half_to_float(0x3c00) == 1.0f);
  REQUIRE(half_to_float(0x0001) == std::ldexp(1.0f, -24));  // smallest subnormal
  REQUIRE(std::isinf(half_to_float(0x7c00)));
  REQUIRE(bf16_to_float(float_to_bf16(1.0f + std::ldexp(1.0f, -8))) == 1.0f);
  REQUIRE(bf16_to_float(float_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8))) == 1.0f + std::ldexp(1.0f, -6));
  // The vector path (8 at a time) and the scalar tail agree.
  std::vector<std::uint16_t> halves(19);
  for (int i = 0; i < 19; ++i) halves[i] = static_cast<std::uint16_t>(0x3000 + 37 * i);
  std::vector<float> out(19);
  convert_to_f32(DType::F16, halves.data(), out.data(), 19);
  for (int i = 0; i < 19; ++i) REQUIRE(out[i] == half_to_float(halves[i]));
}

TEST_CASE("tensor store opens several files and reports unused tensors", "[store]") {
  TempDir dir;
  write_safetensors(dir.path() / "a.safetensors", {{"x.weight", Tensor::zeros(DType::F32, {2})}});
  write_safetensors(dir.path() / "b.safetensors", {{"y.weight", Tensor::zeros(DType::F16, {2, 2})},
                                                   {"y.bias", Tensor::zeros(DType::F16, {2})}});
  auto s = TensorStore::open_files({dir.path() / "a.safetensors", dir.path() / "b.safetensors"});
  REQUIRE(s.size() == 3);
  REQUIRE(s.with_prefix("y.").size() == 2);
  REQUIRE(s.read_f32("y.weight").shape() == Shape{2, 2});
  REQUIRE(s.unused() == std::vector<std::string>{"x.weight", "y.bias"});
  REQUIRE_THROWS_WITH(s.view("z"), Catch::Contains("missing tensor 'z'"));
  write_safetensors(dir.path() / "c.safetensors", {{"x.weight", Tensor::zeros(DType::F32, {2})}});
  REQUIRE_THROWS_WITH(TensorStore::open_files({dir.path() / "a.safetensors", dir.path() / "c.safetensors"}),
                      Catch::Contains("'x.weight' is also in"));
}

TEST_CASE("tensor store reads a diffusers folder with component prefixes", "[store]") {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "unet");
  std::filesystem::create_directories(dir.path() / "vae");
  write_safetensors(dir.path() / "unet" / "diffusion_pytorch_model.safetensors",
                    {{"conv_in.weight", Tensor::zeros(DType::F32, {4})}});
  write_safetensors(dir.path() / "unet" / "diffusion_pytorch_model.fp16.safetensors",
                    {{"conv_in.weight", Tensor::zeros(DType::F16, {4})}});
  write_safetensors(dir.path() / "vae" / "diffusion_pytorch_model.fp16.safetensors",
                    {{"decoder.conv_in.weight", Tensor::zeros(DType::F16, {4})}});
  auto s = TensorStore::open(dir.path());
  REQUIRE(s.is_folder());
  REQUIRE(s.size() == 2);
  REQUIRE(s.at("unet/conv_in.weight").info->dtype == DType::F32);  // the plain file wins over the variant
  REQUIRE(s.contains("vae/decoder.conv_in.weight"));
}
