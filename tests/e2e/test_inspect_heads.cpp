// `skingen inspect` prints the attention heads the loaders will use for the
// UNet and the text encoder, and the rule that chose them (text and --json).
#include <catch2/catch.hpp>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "test_util/run_command.hpp"
#include "test_util/temp_dir.hpp"

namespace fs = std::filesystem;

TEST_CASE("inspect names the heads and their rule for an SD 2.x-architecture checkpoint", "[e2e][inspect]") {
  TempDir tmp;
  const auto model =
      (fs::path(SKINGEN_TEST_DATA) / "unet" / "sd2_openclip_ctx128_ldm_f16" / "model.safetensors").string();
  const auto text = run_command(SKINGEN_BINARY, {"inspect", model}, tmp.path());
  INFO(text.out << text.err);
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.out, Catch::Contains("family        SD 2.x: OpenCLIP text encoder (cond_stage_model.model.*)"));
  CHECK_THAT(text.out, Catch::Contains("unet heads    1, 1 per level, mid 1: channels / 64 (SD 2.x num_head_channels "
                                       "64), because of the OpenCLIP text encoder"));
  CHECK_THAT(text.out, Catch::Contains("text heads    2: width / 64: no key records the head count") &&
                           Catch::Contains("--text-encoder-config"));

  const auto js = run_command(SKINGEN_BINARY, {"inspect", "--json", model}, tmp.path());
  REQUIRE(js.exit_code == 0);
  const auto j = nlohmann::json::parse(js.out);
  CHECK(j["family"] == "sd2");
  const auto& u = j["checkpoint"]["unet_config"];
  CHECK(u["num_attention_heads"] == nlohmann::json::array({1, 1}));
  CHECK(u["mid_block_heads"] == 1);
  CHECK(u["head_dim"] == 64);
  CHECK_THAT(u["heads_rule"].get<std::string>(), Catch::StartsWith("channels / 64"));
  const auto& t = j["checkpoint"]["text_encoder_config"];
  CHECK(t["heads"] == 2);
  CHECK(t["width"] == 128);
  CHECK_THAT(t["heads_rule"].get<std::string>(), Catch::Contains("--text-encoder-config"));
}

TEST_CASE("inspect names SD 1.x's 8 heads and a folder's config.json as the rule", "[e2e][inspect]") {
  TempDir tmp;
  const auto demo = (fs::path(SKINGEN_SOURCE_DIR) / "models" / "demo" / "skingen-demo.safetensors").string();
  const auto r = run_command(SKINGEN_BINARY, {"inspect", "--json", demo}, tmp.path());
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK_THAT(j["checkpoint"]["unet_config"]["heads_rule"].get<std::string>(),
             Catch::StartsWith("8 (SD 1.x num_heads 8), because of the UNet cross-attention context width 128"));
  CHECK(j["checkpoint"]["text_encoder_config"]["heads"] == 2);  // 128 / 64

  const auto folder = (fs::path(SKINGEN_TEST_DATA) / "unet" / "sd2_tiny_folder_bf16" / "model").string();
  const auto f = run_command(SKINGEN_BINARY, {"inspect", "--json", folder}, tmp.path());
  REQUIRE(f.exit_code == 0);
  const auto k = nlohmann::json::parse(f.out);
  CHECK(k["checkpoint"]["unet_config"]["heads_rule"] == "unet/config.json (attention_head_dim)");
  CHECK(k["checkpoint"]["unet_config"]["num_attention_heads"] == nlohmann::json::array({2, 2, 4}));
  CHECK(k["checkpoint"]["text_encoder_config"].is_null());  // a UNet-only folder
}
