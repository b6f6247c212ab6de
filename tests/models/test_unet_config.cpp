// UNet config JSON: what inspect prints can be fed back with --unet-config,
// and real diffusers config.json conventions are read as diffusers means them.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "models/unet_config.hpp"

using namespace skingen;

namespace {

void check_same(const models::UNetConfig& a, const models::UNetConfig& b) {
  CHECK(a.in_channels == b.in_channels);
  CHECK(a.model_channels == b.model_channels);
  CHECK(a.channel_mult == b.channel_mult);
  CHECK(a.num_res_blocks == b.num_res_blocks);
  CHECK(a.attention == b.attention);
  CHECK(a.transformer_depth == b.transformer_depth);
  CHECK(a.context_dim == b.context_dim);
  CHECK(a.linear_proj == b.linear_proj);
  for (int l = 0; l < a.levels(); ++l) CHECK(a.heads(a.channels(l)) == b.heads(b.channels(l)));
  CHECK(a.prediction == b.prediction);
}

}  // namespace

TEST_CASE("UNet config round-trips through its JSON", "[unet][config]") {
  models::UNetConfig sd15;  // defaults: SD 1.5
  models::UNetConfig back;
  back.apply_json(sd15.to_json(), "test");
  check_same(sd15, back);

  models::UNetConfig sd21;
  sd21.head_dim = 64;
  sd21.context_dim = 1024;
  sd21.linear_proj = true;
  sd21.prediction = models::Prediction::V;
  models::UNetConfig back2;
  back2.apply_json(sd21.to_json(), "test");
  check_same(sd21, back2);
  CHECK(back2.heads(320) == 5);
  CHECK(back2.heads(1280) == 20);
}

TEST_CASE("diffusers config.json attention_head_dim means heads", "[unet][config]") {
  // SD 1.5's unet/config.json: "attention_head_dim": 8 is 8 heads at every level.
  models::UNetConfig c;
  c.apply_json(nlohmann::json::parse(R"({"attention_head_dim": 8, "block_out_channels": [320, 640, 1280, 1280]})"), "sd15");
  CHECK(c.heads(320) == 8);
  CHECK(c.heads(1280) == 8);
  // SD 2.1's: [5, 10, 20, 20] heads, i.e. 64 channels per head.
  models::UNetConfig d;
  d.apply_json(nlohmann::json::parse(R"({"attention_head_dim": [5, 10, 20, 20], "block_out_channels": [320, 640, 1280, 1280]})"), "sd21");
  CHECK(d.heads(320) == 5);
  CHECK(d.heads(640) == 10);
  CHECK(d.heads(1280) == 20);
  CHECK_THROWS_WITH(d.apply_json(nlohmann::json::parse(R"({"prediction_type": "x0"})"), "bad"),
                    Catch::Contains("prediction_type"));
}
