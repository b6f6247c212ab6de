// The UNet against the PyTorch reference (tests/reference/, goldens in
// tests/data/unet/<case>/): every case's eps and every intermediate dump, at
// the bound its case.json states (relative L2, about 10x the error measured
// on the case; the measured value stands next to it). Prints each case's
// errors, so that a bound can be re-measured.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>
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

      double worst_dump = 0;
      std::string worst_dump_name;
      for (const auto& t : io.tensors()) {
        if (!t.name.starts_with("dump.")) continue;
        INFO(t.name);
        REQUIRE(dumps.count(t.name));
        const double e = relative_l2(dumps[t.name], io.read_f32(t));
        INFO("relative L2 error " << e);
        CHECK(e <= tol);
        if (e > worst_dump) worst_dump = e, worst_dump_name = t.name;
      }
      const double err = relative_l2(eps, get("eps"));
      INFO("eps relative L2 error " << err);
      CHECK(err <= tol);
      std::printf("unet golden %s: eps rel L2 %.2e, worst dump %.2e (%s), bound %.1e\n", dir.filename().c_str(), err,
                  worst_dump, worst_dump_name.c_str(), tol);
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
