// The full SD 1.5 architecture binds and computes: a random-weight checkpoint
// with the exact key names and shapes of SD 1.5 (written by `skingen fixture`,
// whose key lists are independent of models/) loads with every tensor used and
// none missing, and the text encoder, the UNet (8x8 latent) and the VAE decoder
// and encoder match the float64 PyTorch reference run on the same file
// (tests/reference/make_full_size_golden.py, tests/data/full_size/sd15_f16/).
// The checkpoint is regenerated from its seed; its SHA-256 must be the one the
// golden was made from. Bounds: case.json, each next to its measured error.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/file_hash.hpp"
#include "engine/safetensors_reader.hpp"
#include "models/text_encoder_loader.hpp"
#include "models/unet_loader.hpp"
#include "models/vae_loader.hpp"
#include "ops/layout.hpp"
#include "test_util/compare.hpp"
#include "test_util/run_command.hpp"
#include "test_util/temp_dir.hpp"

using namespace skingen;
namespace fs = std::filesystem;

TEST_CASE("full-size SD 1.5 checkpoint binds every tensor and matches the PyTorch reference",
          "[full-size][unet][vae][clip][golden]") {
  const fs::path golden_dir = fs::path(SKINGEN_TEST_DATA) / "full_size" / "sd15_f16";
  nlohmann::json c;
  std::ifstream(golden_dir / "case.json") >> c;
  REQUIRE(c.contains("check"));
  const auto& bound = c["check"]["tolerance"];
  const auto io = engine::SafetensorsFile::open(golden_dir / "io.safetensors");
  auto golden = [&](const std::string& n) { return io.read_f32(*io.find(n)); };

  TempDir dir;
  const auto path = dir.path() / "sd15.safetensors";
  auto args = c["checkpoint"]["args"].get<std::vector<std::string>>();
  args.insert(args.end(), {"--threads", "0", "--out", path.string()});
  const auto r = run_command(SKINGEN_BINARY, args, dir.path());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  {
    INFO("the fixture generator no longer writes the checkpoint the golden was made from: regenerate the golden ("
         << c["regenerate"].get<std::string>() << ")");
    REQUIRE(engine::sha256_file_hex(path) == c["checkpoint"]["sha256"].get<std::string>());
  }
  const auto store = engine::TensorStore::open(path);
  ops::Context ctx(0);
  engine::BufferPool pool;
  models::RunContext rc{ctx, pool, ops::Tiling::None, {}};
  auto check = [&](const char* name, const engine::Tensor& got) {
    const double err = relative_l2(got, golden(name));
    const double tol = bound[name].get<double>();
    std::printf("full-size SD 1.5 %s: relative L2 %.2e, bound %.1e\n", name, err, tol);
    INFO(name << " relative L2 " << err << ", bound " << tol);
    CHECK(err <= tol);
  };

  {  // text encoder: its output is also the UNet's context
    const auto te = models::load_text_encoder(ctx, store);
    CHECK(te.model->config().layers == 12);
    CHECK(te.model->config().heads == 12);
    CHECK(store.unused("cond_stage_model.").empty());
    check("hidden", te.model->forward(rc, io.view(*io.find("ids"))));
  }
  {  // UNet
    const auto unet = models::load_unet(ctx, store);  // strict: throws on missing, mis-shaped or unused tensors
    const auto& u = unet.detection.config;
    CHECK(u.model_channels == 320);
    CHECK(u.channel_mult == std::vector<int>{1, 2, 4, 4});
    CHECK(u.num_res_blocks == 2);
    CHECK(u.attention == std::vector<bool>{true, true, true, false});
    CHECK(u.context_dim == 768);
    CHECK(u.num_heads == 8);
    CHECK_FALSE(u.linear_proj);
    CHECK(store.unused("model.diffusion_model.").empty());
    const auto x = ops::nchw_to_nhwc(ctx, pool, golden("x"));
    check("eps", ops::nhwc_to_nchw(ctx, pool, unet.model->forward(rc, x, golden("t"), golden("hidden"))));
  }
  {  // VAE decoder and encoder
    const auto vae = models::load_vae(ctx, store, true, true);
    CHECK(vae.detection.config.block_channels == std::vector<int>{128, 256, 512, 512});
    CHECK(store.unused("first_stage_model.").empty());
    const auto latent = ops::nchw_to_nhwc(ctx, pool, golden("latent"));
    check("image", ops::nhwc_to_nchw(ctx, pool, vae.model->decode(rc, latent)));
    const auto image = ops::nchw_to_nhwc(ctx, pool, golden("image"));
    check("moments", ops::nhwc_to_nchw(ctx, pool, vae.model->encode_moments(rc, image)));
  }
}
