// The full SD 1.5 architecture binds: a random-weight checkpoint with the
// exact key names and shapes of SD 1.5 (written by `skingen fixture`, whose
// key lists are independent of models/) loads with every tensor used and none
// missing, and one small forward of each part runs and stays finite.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include "models/text_encoder_loader.hpp"
#include "models/unet_loader.hpp"
#include "models/vae_loader.hpp"
#include "test_util/run_command.hpp"
#include "test_util/temp_dir.hpp"

using namespace skingen;

namespace {

bool all_finite(const engine::Tensor& t) {
  for (std::int64_t i = 0; i < t.numel(); ++i)
    if (!std::isfinite(t.f32_data()[i])) return false;
  return true;
}

engine::Tensor filled(const engine::Shape& s, float v) {
  auto t = engine::Tensor::f32(s);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.f32_mut()[i] = v * std::sin(0.37f * static_cast<float>(i));
  return t;
}

}  // namespace

TEST_CASE("full-size SD 1.5 checkpoint binds every tensor and runs", "[full-size][unet][vae][clip]") {
  TempDir dir;
  const auto path = dir.path() / "sd15.safetensors";
  const auto r = run_command(SKINGEN_BINARY, {"fixture", "checkpoint", "--preset", "sd15", "--dtype", "f16",
                                              "--threads", "0", "--out", path.string()},
                                dir.path());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto store = engine::TensorStore::open(path);
  ops::Context ctx(0);
  engine::BufferPool pool;
  models::RunContext rc{ctx, pool, ops::Tiling::None, {}};

  {  // UNet
    const auto unet = models::load_unet(ctx, store);  // strict: throws on missing, mis-shaped or unused tensors
    const auto& c = unet.detection.config;
    CHECK(c.model_channels == 320);
    CHECK(c.channel_mult == std::vector<int>{1, 2, 4, 4});
    CHECK(c.num_res_blocks == 2);
    CHECK(c.attention == std::vector<bool>{true, true, true, false});
    CHECK(c.context_dim == 768);
    CHECK(c.num_heads == 8);
    CHECK_FALSE(c.linear_proj);
    CHECK(store.unused("model.diffusion_model.").empty());
    const auto eps = unet.model->forward(rc, filled({1, 32, 32, 4}, 1.0f), engine::Tensor::from_values({1}, {500.0f}),
                                         filled({1, 77, 768}, 0.5f));
    CHECK(eps.shape() == engine::Shape{1, 32, 32, 4});
    CHECK(all_finite(eps));
  }
  {  // VAE decoder and encoder
    const auto vae = models::load_vae(ctx, store, true, true);
    CHECK(vae.detection.config.block_channels == std::vector<int>{128, 256, 512, 512});
    CHECK(store.unused("first_stage_model.").empty());
    const auto image = vae.model->decode(rc, filled({1, 8, 8, 4}, 1.0f));
    CHECK(image.shape() == engine::Shape{1, 64, 64, 3});
    CHECK(all_finite(image));
    const auto moments = vae.model->encode_moments(rc, filled({1, 64, 64, 3}, 0.5f));
    CHECK(moments.shape() == engine::Shape{1, 8, 8, 8});
  }
  {  // text encoder
    const auto te = models::load_text_encoder(ctx, store);
    CHECK(te.model->config().layers == 12);
    CHECK(te.model->config().heads == 12);
    CHECK(store.unused("cond_stage_model.").empty());
    auto ids = engine::Tensor::empty(engine::DType::I32, {1, 77});
    for (int i = 0; i < 77; ++i) static_cast<std::int32_t*>(ids.raw_mut())[i] = i == 0 ? 49406 : 49407;
    const auto hidden = te.model->forward(rc, ids);
    CHECK(hidden.shape() == engine::Shape{1, 77, 768});
    CHECK(all_finite(hidden));
  }
}
