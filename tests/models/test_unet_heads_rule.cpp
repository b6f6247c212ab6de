// Heads are not visible in shapes: the UNet loader tells SD 1.x (8 heads) from
// SD 2.x architecture (heads of width 64) as the reference loaders do — by an
// OpenCLIP text encoder, a 1024-wide context or a linear proj_in — and says
// which fact decided; the text encoder's heads come with their rule too.
// The numbers themselves are checked against PyTorch by test_unet_goldens.cpp
// (case sd2_openclip_ctx128_ldm_f16: SD 2.x architecture with a context of 128).
#include <catch2/catch.hpp>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/tensor_store.hpp"
#include "models/text_encoder_loader.hpp"
#include "models/unet_loader.hpp"
#include "test_util/temp_dir.hpp"
#include "tools/fixtures/checkpoint_config.hpp"
#include "tools/fixtures/fixture_keys.hpp"
#include "tools/fixtures/fixture_writer.hpp"

using namespace skingen;
namespace fs = std::filesystem;

namespace {

// A tiny fixture checkpoint (UNet, VAE, CLIP-L-named text encoder) with the given UNet changes.
template <class F>
fs::path fixture(const TempDir& dir, const std::string& name, F edit) {
  auto c = fixtures::checkpoint_preset("tiny");
  edit(c.unet);
  const auto path = dir.path() / (name + ".safetensors");
  fixtures::write_fixture(path, fixtures::checkpoint_keys(c, false), {});
  return path;
}

}  // namespace

TEST_CASE("an OpenCLIP text encoder makes a 128-context UNet SD 2.x: heads of width 64", "[unet][heads]") {
  const auto store = engine::TensorStore::open(fs::path(SKINGEN_TEST_DATA) / "unet" / "sd2_openclip_ctx128_ldm_f16" /
                                               "model.safetensors");
  const auto d = models::detect_unet(store);
  CHECK(d.family == "SD 2.x");
  CHECK(d.config.context_dim == 128);
  CHECK(d.config.head_dim == 64);
  CHECK(d.config.heads(64) == 1);
  CHECK_THAT(d.heads_rule, Catch::StartsWith("channels / 64") && Catch::Contains("OpenCLIP text encoder"));

  const auto te = models::detect_text_encoder(store);
  CHECK(te.config.heads == 2);  // 128 / 64
  CHECK_THAT(te.heads_rule, Catch::Contains("no key records the head count") &&
                                Catch::Contains("--text-encoder-config"));
  const auto given = models::detect_text_encoder(store, nlohmann::json{{"num_attention_heads", 4}});
  CHECK(given.config.heads == 4);
  CHECK(given.heads_rule == "--text-encoder-config num_attention_heads");
}

TEST_CASE("a linear proj_in alone is SD 2.x architecture, a 1x1 conv keeps SD 1.x 8 heads", "[unet][heads]") {
  TempDir dir;
  const auto linear = fixture(dir, "linear", [](fixtures::UnetConfig& u) {
    u.model_channels = 64;
    u.num_head_channels = 64;
    u.context_dim = 96;
    u.use_linear_in_transformer = true;
  });
  const auto d = models::detect_unet(engine::TensorStore::open(linear));
  CHECK(d.config.head_dim == 64);
  CHECK_THAT(d.heads_rule, Catch::Contains("linear UNet proj_in") && Catch::Contains("context width 96"));

  const auto conv = fixture(dir, "conv", [](fixtures::UnetConfig& u) {
    u.model_channels = 64;
    u.context_dim = 96;
  });
  const auto e = models::detect_unet(engine::TensorStore::open(conv));
  CHECK(e.family == "SD 1.x");
  CHECK(e.config.head_dim == 0);
  CHECK(e.config.heads(64) == 8);
  CHECK_THAT(e.heads_rule, Catch::StartsWith("8 (SD 1.x num_heads 8)") && Catch::Contains("1x1-conv proj_in"));
}

TEST_CASE("heads of width 64 that do not fit the channels are an error naming the rule", "[unet][heads]") {
  TempDir dir;
  // The tiny preset's 32 channels with SD 2.x's linear proj: 32 / 64 heads.
  const auto path = fixture(dir, "narrow", [](fixtures::UnetConfig& u) {
    u.num_head_channels = 32;
    u.context_dim = 96;
    u.use_linear_in_transformer = true;
  });
  const auto store = engine::TensorStore::open(path);
  CHECK_THROWS_WITH(models::detect_unet(store), Catch::Contains("cannot be split into heads of width 64") &&
                                                    Catch::Contains("linear UNet proj_in") &&
                                                    Catch::Contains("--unet-config"));
  models::UNetLoadOptions o;
  o.config_override = nlohmann::json{{"num_attention_heads", 1}};
  const auto d = models::detect_unet(store, o);
  CHECK(d.config.heads(32) == 1);
  CHECK(d.heads_rule == "--unet-config (num_attention_heads)");
}
