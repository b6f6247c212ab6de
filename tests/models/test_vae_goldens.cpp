// The VAE against the PyTorch reference (tests/data/vae/<case>/): decode and
// encode, with every intermediate dump, at the bound its case.json states
// (relative L2, about 10x the error measured on the case; the measured value
// stands next to it). Prints each case's errors.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "engine/safetensors_reader.hpp"
#include "models/vae_loader.hpp"
#include "ops/layout.hpp"
#include "test_util/compare.hpp"

using namespace skingen;
namespace fs = std::filesystem;

namespace {

using Dumps = std::map<std::string, engine::Tensor>;

// The largest relative L2 error over `output` and the dumps.
double check_against(const engine::SafetensorsFile& io, const std::string& output, const engine::Tensor& got,
                     Dumps& dumps, double tol) {
  double worst = 0;
  for (const auto& t : io.tensors()) {
    if (!t.name.starts_with("dump.")) continue;
    INFO(t.name);
    REQUIRE(dumps.count(t.name));
    const double e = relative_l2(dumps[t.name], io.read_f32(t));
    INFO("relative L2 error " << e);
    CHECK(e <= tol);
    worst = std::max(worst, e);
  }
  const double err = relative_l2(got, io.read_f32(*io.find(output)));
  INFO(output << " relative L2 error " << err);
  CHECK(err <= tol);
  return std::max(worst, err);
}

}  // namespace

TEST_CASE("VAE decoder and encoder match the PyTorch reference", "[vae][golden]") {
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(fs::path(SKINGEN_TEST_DATA) / "vae"))
    if (fs::exists(e.path() / "case.json")) cases.push_back(e.path());
  std::sort(cases.begin(), cases.end());
  REQUIRE(cases.size() >= 4);
  for (const auto& dir : cases) {
    DYNAMIC_SECTION(dir.filename().string()) {
      nlohmann::json c;
      std::ifstream(dir / "case.json") >> c;
      const double tol = c["check"]["tolerance"].get<double>();
      ops::Context ctx(0);
      engine::BufferPool pool;
      const auto store = engine::TensorStore::open(dir / c["model"].get<std::string>());
      const auto vae = models::load_vae(ctx, store, true, true);
      INFO(vae.detection.layout_name() << ": " << vae.detection.config.summary());
      Dumps dumps;
      double worst_decode = 0, worst_encode = 0;
      models::RunContext rc{ctx, pool, ops::Tiling::None, [&](const std::string& name, const engine::Tensor& a) {
                              dumps["dump." + name] = a.ndim() == 4 ? ops::nhwc_to_nchw(ctx, pool, a).clone() : a.clone();
                            }};
      {
        const auto io = engine::SafetensorsFile::open(dir / "decode.safetensors");
        const auto latent = ops::nchw_to_nhwc(ctx, pool, io.read_f32(*io.find("latent")));
        const auto image = ops::nhwc_to_nchw(ctx, pool, vae.model->decode(rc, latent));
        worst_decode = check_against(io, "image", image, dumps, tol);
      }
      dumps.clear();
      {
        const auto io = engine::SafetensorsFile::open(dir / "encode.safetensors");
        const auto image = ops::nchw_to_nhwc(ctx, pool, io.read_f32(*io.find("image")));
        const auto moments = ops::nhwc_to_nchw(ctx, pool, vae.model->encode_moments(rc, image));
        worst_encode = check_against(io, "moments", moments, dumps, tol);
      }
      std::printf("vae golden %s: worst rel L2 decode %.2e, encode %.2e (outputs and dumps), bound %.1e\n",
                  dir.filename().c_str(), worst_decode, worst_encode, tol);
    }
  }
}
