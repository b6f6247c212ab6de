// `skingen eval noise` writes what torch.randn (and A1111's Philox) draw:
// compared with the known outputs of tests/reference/rng_reference.py.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <string>

#include "engine/rng.hpp"
#include "engine/safetensors_reader.hpp"
#include "test_util/temp_dir.hpp"

using namespace skingen::engine;

namespace {

int run(const std::string& args) {
  const std::string cmd = std::string(SKINGEN_BINARY) + " " + args + " 2>/dev/null";
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

}  // namespace

TEST_CASE("eval noise writes torch.randn for the seed", "[cli][rng]") {
  TempDir dir;
  const auto golden = SafetensorsFile::open(std::string(SKINGEN_TEST_DATA) + "/rng/rng_golden.safetensors");
  for (const std::string rng : {"cpu", "philox"}) {
    const auto out = (dir.path() / (rng + ".safetensors")).string();
    REQUIRE(run("eval noise --seed 0 --shape 1,4,64,64 --rng " + rng + " --output " + out) == 0);
    const auto f = SafetensorsFile::open(out);
    const auto* info = f.find("noise");
    REQUIRE(info);
    CHECK(same_bits(f.read_f32(*info), golden.read_f32(*golden.find(rng + "/0/1x4x64x64/0"))));
  }
}

TEST_CASE("eval noise draws image i of a batch from seed + i", "[cli][rng]") {
  TempDir dir;
  const auto out = (dir.path() / "b.safetensors").string();
  REQUIRE(run("eval noise --seed 4294967295 --shape 3,4,8,8 --output " + out) == 0);
  const auto f = SafetensorsFile::open(out);
  const Tensor t = f.read_f32(*f.find("noise"));
  REQUIRE(t.shape() == Shape{3, 4, 8, 8});
  for (std::uint64_t i = 0; i < 3; ++i) {
    Rng rng(RngKind::Cpu, 4294967295ull + i);  // 2^32 wraps to seed 0 in mt19937 (low 32 bits)
    const Tensor want = rng.randn({4, 8, 8});
    CHECK(std::memcmp(t.f32_data() + i * 256, want.f32_data(), 256 * 4) == 0);
  }
  CHECK(run("eval noise --shape 1,0,8,8 --output " + out) == 2);
  CHECK(run("eval noise --rng cuda --output " + out) == 2);
}

TEST_CASE("eval noise takes negative seeds as torch.manual_seed does (two's complement)", "[cli][rng]") {
  TempDir dir;
  const auto a = (dir.path() / "a.safetensors").string(), b = (dir.path() / "b.safetensors").string();
  REQUIRE(run("eval noise --seed -1 --shape 1,20 --output " + a) == 0);
  REQUIRE(run("eval noise --seed 18446744073709551615 --shape 1,20 --output " + b) == 0);
  const auto fa = SafetensorsFile::open(a), fb = SafetensorsFile::open(b);
  CHECK(same_bits(fa.read_f32(*fa.find("noise")), fb.read_f32(*fb.find("noise"))));
}
