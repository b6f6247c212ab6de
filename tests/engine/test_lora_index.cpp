// Resolution of LoRA keys through the reverse index of the model's real keys,
// hints for keys that match nothing, and the report line.
#include <catch2/catch.hpp>

#include "engine/core/error.hpp"
#include "engine/lora_index.hpp"
#include "engine/lora_patcher.hpp"
#include "test_util/lora_builder.hpp"
#include "test_util/temp_dir.hpp"

using namespace skingen;
using engine::LoraMatch;

namespace {

engine::LoraModelTargets toy_model() {
  engine::LoraModelTargets m;
  m.model = "SD 1.x";
  engine::LoraComponent u;
  u.name = "unet";
  u.display = "UNet";
  u.kohya_prefixes = {"lora_unet_"};
  u.dotted_prefixes = {"unet.", ""};
  u.dotted_renames = {{"to_q_lora", "to_q"}, {"to_out_lora", "to_out.0"}};
  u.targets = {
      {"down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q", {32, 32}, false,
       {"input_blocks.1.1.transformer_blocks.0.attn1.to_q"}, "", "", 0},
      {"down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0", {32, 32}, true,
       {"input_blocks.1.1.transformer_blocks.0.attn1.to_out.0"}, "", "", 0},
      {"down_blocks.0.resnets.0.conv1", {32, 32, 3, 3}, true, {"input_blocks.1.0.in_layers.2"}, "", "", 0},
      // two names that flatten to the same kohya key
      {"a.b_c", {4, 4}, false, {}, "", "", 0},
      {"a_b.c", {4, 4}, false, {}, "", "", 0},
  };
  engine::LoraComponent te;
  te.name = "text_encoder";
  te.display = "text encoder";
  te.kohya_prefixes = {"lora_te_"};
  te.dotted_prefixes = {"text_encoder."};
  te.targets = {{"text_model.encoder.layers.0.self_attn.q_proj", {32, 32}, true, {}, "", "", 0}};
  m.components = {u, te};
  m.foreign = {{"lora_te1_", "SDXL's (two text encoders)"}};
  return m;
}

}  // namespace

TEST_CASE("Bounded edit distance", "[lora]") {
  CHECK(engine::bounded_edit_distance("kitten", "sitting", 10) == 3);
  CHECK(engine::bounded_edit_distance("", "abc", 10) == 3);
  CHECK(engine::bounded_edit_distance("abc", "abc", 0) == 0);
  CHECK(engine::bounded_edit_distance("abcdef", "uvwxyz", 2) == 3);  // gave up past the limit
}

TEST_CASE("kohya and dotted keys resolve through both namings", "[lora]") {
  const auto model = toy_model();
  const engine::LoraIndex idx(model);
  auto r = idx.resolve("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q");
  CHECK(r.match == LoraMatch::Matched);
  CHECK(r.target == 0);
  r = idx.resolve("lora_unet_input_blocks_1_1_transformer_blocks_0_attn1_to_out_0");  // LDM (SDXL-style kohya)
  CHECK(r.match == LoraMatch::Matched);
  CHECK(r.target == 1);
  CHECK(idx.resolve("lora_unet_input_blocks_1_0_in_layers_2").target == 2);
  CHECK(idx.resolve("unet.down_blocks.0.resnets.0.conv1").target == 2);
  CHECK(idx.resolve("unet.input_blocks.1.0.in_layers.2").target == 2);
  // old diffusers attention processors, with and without the unet. prefix
  CHECK(idx.resolve("unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_out_lora").target == 1);
  CHECK(idx.resolve("down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_q_lora").target == 0);
  r = idx.resolve("lora_te_text_model_encoder_layers_0_self_attn_q_proj");
  CHECK(r.component == 1);
  CHECK(r.match == LoraMatch::Matched);
}

TEST_CASE("Ambiguous, foreign, unmatched and not-loaded keys", "[lora]") {
  auto model = toy_model();
  model.components[1].loaded = false;
  const engine::LoraIndex idx(model);
  auto r = idx.resolve("lora_unet_a_b_c");
  CHECK(r.match == LoraMatch::Unmatched);
  CHECK_THAT(r.reason, Catch::Contains("ambiguous"));
  CHECK(idx.resolve("unet.a.b_c").match == LoraMatch::Matched);  // dotted names are exact
  CHECK(idx.resolve("lora_te1_text_model_encoder_layers_0_mlp_fc1").match == LoraMatch::Foreign);
  CHECK(idx.resolve("lora_te_text_model_encoder_layers_0_self_attn_q_proj").match == LoraMatch::NotLoaded);
  CHECK(idx.resolve("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_qq").match ==
        LoraMatch::Unmatched);
  CHECK(idx.closest("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_qq") ==
        "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q");
  CHECK(idx.closest("unet.down_blocks.0.resnets.0.conv2") == "unet.down_blocks.0.resnets.0.conv1");
  CHECK(idx.resolve("something_else").match == LoraMatch::Unmatched);
}

TEST_CASE("The report line, unmatched keys with hints, and the load-time errors", "[lora]") {
  TempDir dir;
  LoraBuilder b(5);
  const std::string q = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q";
  const std::string c1 = "lora_unet_down_blocks_0_resnets_0_conv1";
  const std::string te = "lora_te_text_model_encoder_layers_0_self_attn_q_proj";
  b.randn(q + ".lora_down.weight", {16, 32}).randn(q + ".lora_up.weight", {32, 16}).scalar(q + ".alpha", 8);
  b.randn(c1 + ".lora_down.weight", {16, 32, 3, 3}).randn(c1 + ".lora_up.weight", {32, 16, 1, 1}).scalar(c1 + ".alpha", 8);
  b.randn(te + ".lora_down.weight", {16, 32}).randn(te + ".lora_up.weight", {32, 16}).scalar(te + ".alpha", 8);
  const auto good = b.write(dir.path() / "skin_4-000015.safetensors");
  ops::Context ctx(0);
  engine::LoraRequest req{good, {{"unet", 0.8}, {"text_encoder", 0.8}}};

  SECTION("everything applied") {
    engine::LoraPatcher p(ctx, toy_model(), {req});
    for (const char* w : {"down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight",
                          "down_blocks.0.resnets.0.conv1.weight"}) {
      auto t = engine::Tensor::zeros(engine::DType::F32, w[0] == 'd' && std::string(w).find("conv") != std::string::npos
                                                             ? engine::Shape{32, 32, 3, 3}
                                                             : engine::Shape{32, 32});
      p.patch("unet", w, t);
    }
    auto t = engine::Tensor::zeros(engine::DType::F32, {32, 32});
    p.patch("text_encoder", "text_model.encoder.layers.0.self_attn.q_proj.weight", t);
    const auto lines = p.report();
    REQUIRE(lines.size() == 1);
    CHECK_THAT(lines[0], Catch::StartsWith("skin_4-000015: 3/3 modules applied (UNet 2, text encoder 1), rank 16, "
                                           "alpha 8 (scale 0.5 × 0.8); kohya LoCon + LoRA; merged in "));
    CHECK_THAT(lines[0], Catch::Contains("GFLOP/s"));
  }
  SECTION("text encoder not loaded, separate multipliers") {
    auto m = toy_model();
    m.components[1].loaded = false;
    engine::LoraRequest r2{good, {{"unet", 0.8}, {"text_encoder", 0.3}}};
    engine::LoraPatcher p(ctx, m, {r2});
    auto t = engine::Tensor::zeros(engine::DType::F32, {32, 32});
    p.patch("unet", "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight", t);
    const auto lines = p.report();
    // conv1 was never handed out: "not used by the model"
    CHECK_THAT(lines[0], Catch::StartsWith("skin_4-000015: 1/3 modules applied (UNet 1); 1 not applied (text encoder "
                                           "not loaded); 1 not applied (weight not used by the model), rank 16"));
  }
  SECTION("unmatched keys are listed with the closest real key; --lora-strict makes them an error") {
    LoraBuilder extra(6);
    const std::string typo = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_qq";
    extra.randn(q + ".lora_down.weight", {4, 32}).randn(q + ".lora_up.weight", {32, 4});
    extra.randn(typo + ".lora_down.weight", {4, 32}).randn(typo + ".lora_up.weight", {32, 4});
    extra.randn("bundle_emb.skin.string_to_param.*", {1, 32});
    const auto path = extra.write(dir.path() / "typo.safetensors");
    engine::LoraPatcher p(ctx, toy_model(), {{path, {}}});
    const auto lines = p.report();
    REQUIRE(lines.size() == 3);
    CHECK_THAT(lines[0], Catch::Contains("0/2 modules applied") && Catch::Contains("2 unmatched"));
    CHECK(lines[1] == "  unmatched: " + typo + "  → closest real key: " + q);
    CHECK_THAT(lines[2], Catch::Contains("bundle_emb.skin.string_to_param.*"));
    engine::LoraOptions strict;
    strict.strict = true;
    CHECK_THROWS_WITH(engine::LoraPatcher(ctx, toy_model(), {{path, {}}}, strict),
                      Catch::Contains("typo.safetensors") && Catch::Contains("--lora-strict") &&
                          Catch::Contains("closest: " + q));
  }
  SECTION("foreign family, shape mismatch and zero matches are errors") {
    LoraBuilder sdxl(7);
    sdxl.randn("lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight", {4, 32})
        .randn("lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_up.weight", {32, 4})
        .meta("ss_base_model_version", "sdxl_base_v1-0");
    CHECK_THROWS_WITH(engine::LoraPatcher(ctx, toy_model(), {{sdxl.write(dir.path() / "xl.safetensors"), {}}}),
                      Catch::Contains("xl.safetensors") && Catch::Contains("another model family") &&
                          Catch::Contains("SDXL") && Catch::Contains("sdxl_base_v1-0"));
    LoraBuilder shape(8);
    shape.randn(q + ".lora_down.weight", {4, 40}).randn(q + ".lora_up.weight", {32, 4});
    CHECK_THROWS_WITH(engine::LoraPatcher(ctx, toy_model(), {{shape.write(dir.path() / "shape.safetensors"), {}}}),
                      Catch::Contains("shape.safetensors") && Catch::Contains("does not fit") &&
                          Catch::Contains("[32, 40]") && Catch::Contains("[32, 32]"));
    LoraBuilder none(9);
    none.randn("lora_unet_nothing_here.lora_down.weight", {4, 8}).randn("lora_unet_nothing_here.lora_up.weight", {8, 4});
    CHECK_THROWS_WITH(engine::LoraPatcher(ctx, toy_model(), {{none.write(dir.path() / "none.safetensors"), {}}}),
                      Catch::Contains("none.safetensors") && Catch::Contains("no LoRA module applies"));
  }
}
