// The UNet against the PyTorch reference (tests/reference/, goldens in
// tests/data/unet/<case>/): every case's eps and every intermediate dump, at
// the tolerance its case.json states (1e-4 relative L2).
#include <catch2/catch.hpp>

#include <filesystem>
#include <cstring>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "engine/safetensors_reader.hpp"
#include "models/unet_loader.hpp"
#include "ops/layout.hpp"
#include "test_util/compare.hpp"

using namespace skingen;
namespace fs = std::filesystem;

namespace {

std::vector<fs::path> unet_cases() {
  std::vector<fs::path> r;
  for (const auto& e : fs::directory_iterator(fs::path(SKINGEN_TEST_DATA) / "unet"))
    if (fs::exists(e.path() / "case.json")) r.push_back(e.path());
  std::sort(r.begin(), r.end());
  return r;
}

}  // namespace

TEST_CASE("UNet matches the PyTorch reference on every golden case", "[unet][golden]") {
  const auto cases = unet_cases();
  REQUIRE(cases.size() >= 3);
  for (const auto& dir : cases) {
    DYNAMIC_SECTION(dir.filename().string()) {
      nlohmann::json c;
      std::ifstream(dir / "case.json") >> c;
      const double tol = c["check"]["tolerance"].get<double>();
      ops::Context ctx(0);
      engine::BufferPool pool;
      const auto store = engine::TensorStore::open(dir / c["model"].get<std::string>());
      auto loaded = models::load_unet(ctx, store);
      INFO(loaded.detection.config.summary());

      const auto io = engine::SafetensorsFile::open(dir / "io.safetensors");
      auto get = [&](const std::string& n) { return io.read_f32(*io.find(n)); };
      std::map<std::string, engine::Tensor> dumps;
      models::RunContext rc{ctx, pool, ops::Tiling::None,
                            [&](const std::string& name, const engine::Tensor& a) {
                              dumps["dump." + name] = a.ndim() == 4 ? ops::nhwc_to_nchw(ctx, pool, a).clone() : a.clone();
                            }};
      const auto x = ops::nchw_to_nhwc(ctx, pool, get("x"));
      const auto eps = ops::nhwc_to_nchw(ctx, pool, loaded.model->forward(rc, x, get("t"), get("context")));

      for (const auto& t : io.tensors()) {
        if (!t.name.starts_with("dump.")) continue;
        INFO(t.name);
        REQUIRE(dumps.count(t.name));
        const auto golden = io.read_f32(t);
        REQUIRE(dumps[t.name].shape() == golden.shape());
        CHECK(relative_l2(dumps[t.name], golden) <= tol);
      }
      const auto golden = get("eps");
      REQUIRE(eps.shape() == golden.shape());
      const double err = relative_l2(eps, golden);
      INFO("eps relative L2 error " << err);
      CHECK(err <= tol);
    }
  }
}

TEST_CASE("UNet forward is bit-identical run to run", "[unet][determinism]") {
  const auto dir = fs::path(SKINGEN_TEST_DATA) / "unet" / "depth2_diffusers_f32_b2";
  ops::Context ctx(0);
  engine::BufferPool pool;
  const auto store = engine::TensorStore::open(dir / "model.safetensors");
  auto loaded = models::load_unet(ctx, store);
  const auto io = engine::SafetensorsFile::open(dir / "io.safetensors");
  auto get = [&](const std::string& n) { return io.read_f32(*io.find(n)); };
  models::RunContext rc{ctx, pool, ops::Tiling::None, {}};
  const auto x = ops::nchw_to_nhwc(ctx, pool, get("x"));
  const auto a = loaded.model->forward(rc, x, get("t"), get("context")).clone();
  const auto b = loaded.model->forward(rc, x, get("t"), get("context")).clone();
  REQUIRE(a.nbytes() == b.nbytes());
  CHECK(std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0);
}
