// The streaming writer produces the same file as write_safetensors, whatever
// the piece sizes, and leaves nothing behind when a tensor is left unwritten.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>

#include "engine/safetensors_reader.hpp"
#include "engine/safetensors_writer.hpp"
#include "test_util/temp_dir.hpp"

using namespace skingen::engine;

namespace {

std::string bytes_of(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("streamed tensors give the same file as write_safetensors", "[safetensors]") {
  TempDir dir;
  Tensor a = Tensor::f32({3, 5});
  for (int i = 0; i < 15; ++i) a.f32_mut()[i] = static_cast<float>(i) * 0.5f;
  const Tensor h = a.to_dtype(DType::F16);
  const Tensor empty = Tensor::zeros(DType::F32, {0, 7});
  const Tensor s = Tensor::from_values({}, {3.0f});
  const std::map<std::string, std::string> meta{{"k", "v"}};
  write_safetensors(dir.path() / "ref.safetensors", {{"a", a}, {"e", empty}, {"h", h}, {"s", s}}, meta);

  SafetensorsStreamWriter w(dir.path() / "st.safetensors",
                            {{"a", DType::F32, {3, 5}}, {"e", DType::F32, {0, 7}}, {"h", DType::F16, {3, 5}},
                             {"s", DType::F32, {}}},
                            meta);
  REQUIRE(w.next()->name == "a");
  // Odd piece sizes that straddle tensor boundaries (a's 60 bytes, then h's 30, then s's 4).
  std::string all = bytes_of(dir.path() / "ref.safetensors");
  const std::size_t data = all.size() - (60 + 30 + 4);
  std::size_t at = data;
  for (std::size_t piece : {7u, 50u, 13u, 24u}) {
    w.write(all.data() + at, piece);
    at += piece;
  }
  REQUIRE(w.next() == nullptr);
  REQUIRE_THROWS_AS(w.write(all.data(), 1), std::logic_error);
  w.commit();
  REQUIRE(bytes_of(dir.path() / "st.safetensors") == all);
  REQUIRE(SafetensorsFile::open(dir.path() / "st.safetensors").tensors().size() == 4);
}

TEST_CASE("an unfinished stream is not committed and leaves no file", "[safetensors]") {
  TempDir dir;
  {
    SafetensorsStreamWriter w(dir.path() / "x.safetensors", {{"a", DType::F32, {4}}});
    const float v[2] = {1, 2};
    w.write(v, sizeof v);
    REQUIRE_THROWS_WITH(w.commit(), Catch::Contains("tensor 'a' was not fully written"));
  }
  REQUIRE(std::filesystem::is_empty(dir.path()));
}
