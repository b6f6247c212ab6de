// LoRA detection from key lists: kohya fixtures (checked against sd-scripts'
// real key lists in tests/tools) and module forms written out here from
// LyCORIS lycoris/modules/*.py and PEFT. Expected module counts are
// sd-scripts' own (192 UNet + 72 text-encoder modules for SD 1.x; 278 UNet
// with conv_dim), ranks and alphas are the ones written.
#include <catch2/catch.hpp>

#include "engine/kohya_metadata.hpp"
#include "engine/lora_kind.hpp"
#include "tools/fixtures/fixture_keys.hpp"
#include "tools/fixtures/lora_fixture.hpp"

using namespace skingen;
using namespace skingen::engine;

namespace {

// A fixture key list as the inspect command sees it: alpha values read.
std::vector<KeyInfo> lora_keys(const fixtures::LoraFixtureOptions& o, const std::string& preset = "sd15") {
  std::vector<KeyInfo> keys;
  for (const auto& t : fixtures::kohya_lora_keys(fixtures::kohya_modules(fixtures::checkpoint_preset(preset), o))) {
    KeyInfo k{t.name, DType::F16, t.shape, std::nullopt};
    if (t.fill == fixtures::Fill::Values) k.value = t.values.at(0);
    keys.push_back(std::move(k));
  }
  return keys;
}

KeyInfo key(std::string name, Shape shape, std::optional<double> value = std::nullopt) {
  return {std::move(name), DType::F16, std::move(shape), value};
}

}  // namespace

TEST_CASE("a kohya LoRA for SD 1.x: family, modules, rank, alpha, scale", "[detect][lora]") {
  fixtures::LoraFixtureOptions o;
  o.rank = 8;
  o.alpha = 4;
  const auto keys = lora_keys(o);
  REQUIRE(looks_like_lora(keys));
  const auto l = detect_lora(keys, {});
  CHECK(l.format == LoraFormat::Kohya);
  CHECK(l.kind == "LoRA");
  CHECK(l.algos == std::vector<LoraAlgo>{LoraAlgo::LoRA});
  CHECK_FALSE(l.dora);
  CHECK(l.family == ModelFamily::SD1);
  CHECK(l.family_evidence == "UNet cross-attention to_k input width 768");
  CHECK(l.unet_naming == "diffusers");
  CHECK(l.modules == 264);
  CHECK(l.unet_modules == 192);
  CHECK(l.text_encoder_modules == 72);
  CHECK(l.conv3x3_modules == 0);
  CHECK(l.conv_modules == 32);  // proj_in / proj_out of 16 transformers are 1x1 convs in SD 1.x
  REQUIRE(l.ranks);
  CHECK(l.ranks->min == 8);
  CHECK(l.ranks->max == 8);
  CHECK(l.alphas->most_common == 4);
  CHECK(l.scales->most_common == 0.5);
  CHECK(l.modules_without_alpha == 0);
  CHECK(l.unrecognised_tensors == 0);
}

TEST_CASE("a kohya LoCon: conv modules, two ranks and alphas", "[detect][lora]") {
  fixtures::LoraFixtureOptions o;
  o.preset = "kohya-locon";
  o.rank = 16;
  o.alpha = 8;
  o.conv_rank = 4;
  o.conv_alpha = 1;
  const auto l = detect_lora(lora_keys(o), {});
  CHECK(l.kind == "LoCon");
  CHECK(l.unet_modules == 278);
  CHECK(l.conv3x3_modules == 50);
  CHECK(l.ranks->min == 4);
  CHECK(l.ranks->max == 16);
  CHECK(l.ranks->most_common == 16);  // 300 linear / 1x1 modules vs 50 conv ones
  CHECK(l.alphas->min == 1);
  CHECK(l.scales->min == 0.25);
  CHECK(l.scales->max == 0.5);
}

TEST_CASE("missing or zero alphas mean alpha = rank (kohya)", "[detect][lora]") {
  const std::vector<KeyInfo> keys = {
      key("lora_unet_mid_block_attentions_0_proj_out.lora_down.weight", {4, 1280, 1, 1}),
      key("lora_unet_mid_block_attentions_0_proj_out.lora_up.weight", {1280, 4, 1, 1}),
      key("lora_unet_mid_block_attentions_0_proj_in.lora_down.weight", {2, 1280, 1, 1}),
      key("lora_unet_mid_block_attentions_0_proj_in.lora_up.weight", {1280, 2, 1, 1}),
      key("lora_unet_mid_block_attentions_0_proj_in.alpha", {}, 0.0),
  };
  const auto l = detect_lora(keys, {});
  CHECK(l.modules == 2);
  CHECK(l.modules_without_alpha == 1);
  CHECK(l.scales->min == 1.0);
  CHECK(l.scales->max == 1.0);
  CHECK(l.family == ModelFamily::SD1);  // 1x1-conv proj_in
  CHECK(l.family_evidence == "proj_in patched as a 1x1 convolution");
}

TEST_CASE("LyCORIS module kinds: LoHa, LoKr, CP, full diff, DoRA", "[detect][lora]") {
  const std::string m = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k";
  SECTION("LoHa: rank from hada_w1_b, in from its columns") {
    const auto l = detect_lora({key(m + ".hada_w1_a", {320, 4}), key(m + ".hada_w1_b", {4, 1024}),
                                key(m + ".hada_w2_a", {320, 4}), key(m + ".hada_w2_b", {4, 1024}),
                                key(m + ".alpha", {}, 2.0)},
                               {});
    CHECK(l.kind == "LoHa");
    CHECK(l.ranks->min == 4);
    CHECK(l.scales->min == 0.5);
    CHECK(l.family == ModelFamily::SD2);
  }
  SECTION("LoKr: undecomposed factors have scale 1; decomposed ones alpha / rank") {
    const auto full = detect_lora({key(m + ".lokr_w1", {8, 16}), key(m + ".lokr_w2", {40, 48}),
                                   key(m + ".alpha", {}, 4.0)},
                                  {});
    CHECK(full.kind == "LoKr");
    CHECK_FALSE(full.ranks);
    CHECK(full.scales->min == 1.0);
    CHECK(full.family == ModelFamily::SD1);  // in = 16 · 48 = 768
    const auto dec = detect_lora({key(m + ".lokr_w1", {8, 16}), key(m + ".lokr_w2_a", {40, 4}),
                                  key(m + ".lokr_w2_b", {4, 48}), key(m + ".alpha", {}, 2.0)},
                                 {});
    CHECK(dec.ranks->min == 4);
    CHECK(dec.scales->min == 0.5);
  }
  SECTION("CP / Tucker: lora_mid") {
    const std::string c = "lora_unet_down_blocks_1_resnets_0_conv1";
    const auto l = detect_lora({key(c + ".lora_down.weight", {4, 320, 1, 1}), key(c + ".lora_mid.weight", {4, 4, 3, 3}),
                                key(c + ".lora_up.weight", {640, 4, 1, 1}), key(c + ".alpha", {}, 4.0)},
                               {});
    CHECK(l.kind == "CP/Tucker (lora_mid)");
    CHECK(l.conv3x3_modules == 1);
  }
  SECTION("full diff and DoRA") {
    const auto l = detect_lora({key(m + ".diff", {320, 2048}), key(m + ".diff_b", {320}),
                                key("lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight", {8, 768}),
                                key("lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_up.weight", {3072, 8}),
                                key("lora_te1_text_model_encoder_layers_0_mlp_fc1.dora_scale", {3072, 1})},
                               {});
    CHECK(l.kind == "LoRA + full diff + DoRA");
    CHECK(l.dora);
    CHECK(l.family == ModelFamily::SDXL);
    CHECK(l.modules_without_alpha == 1);  // the LoRA module; full diffs carry none
  }
}

TEST_CASE("SDXL kohya files use LDM UNet names and two text encoders", "[detect][lora]") {
  const auto l = detect_lora(
      {key("lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.lora_down.weight", {8, 2048}),
       key("lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.lora_up.weight", {640, 8}),
       key("lora_te2_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight", {8, 1280}),
       key("lora_te2_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight", {1280, 8})},
      {});
  CHECK(l.family == ModelFamily::SDXL);
  CHECK(l.unet_naming == "ldm");
  CHECK(l.text_encoder_2_modules == 1);
  CHECK(l.notes.empty());
}

TEST_CASE("diffusers / PEFT LoRAs, with alphas from the adapter metadata", "[detect][lora]") {
  const std::string m = "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k";
  const std::vector<KeyInfo> keys = {
      key(m + ".lora_A.weight", {4, 1024}), key(m + ".lora_B.weight", {640, 4}),
      key("text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora_A.weight", {4, 1024}),
      key("text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora_B.weight", {1024, 4})};
  REQUIRE(looks_like_lora(keys));
  const auto plain = detect_lora(keys, {});
  CHECK(plain.format == LoraFormat::Peft);
  CHECK(plain.family == ModelFamily::SD2);
  CHECK(plain.unet_modules == 1);
  CHECK(plain.text_encoder_modules == 1);
  CHECK(plain.scales->min == 1.0);  // lora_alpha = r
  const auto meta = detect_lora(keys, {{"lora_adapter_metadata", R"({"unet.r": 4, "unet.lora_alpha": 8})"}});
  CHECK(meta.scales->max == 2.0);
  CHECK(meta.alphas->max == 8.0);
  const auto bad = detect_lora(keys, {{"lora_adapter_metadata", "{not json"}});
  REQUIRE(bad.notes.size() == 1);
  CHECK_THAT(bad.notes[0], Catch::Contains("not a JSON object"));

  // The older diffusers attention-processor form.
  const auto old = detect_lora({key("down_blocks.0.attentions.0.transformer_blocks.0.attn2.processor.to_k_lora.down.weight", {4, 768}),
                                key("down_blocks.0.attentions.0.transformer_blocks.0.attn2.processor.to_k_lora.up.weight", {320, 4})},
                               {});
  CHECK(old.modules == 1);
  CHECK(old.family == ModelFamily::SD1);
}

TEST_CASE("checkpoints are not LoRAs and stray tensors in LoRAs are counted", "[detect][lora]") {
  std::vector<KeyInfo> ckpt;
  for (const auto& t : fixtures::checkpoint_keys(fixtures::checkpoint_preset("tiny"), true))
    ckpt.push_back({t.name, DType::F16, t.shape, std::nullopt});
  CHECK_FALSE(looks_like_lora(ckpt));
  const auto l = detect_lora({key("lora_unet_x.lora_down.weight", {2, 3}), key("lora_unet_x.lora_up.weight", {3, 2}),
                              key("lora_unet_y.alpha", {}, 1.0), key("something_else", {1}), key("x.lora_down.weight", {})},
                             {});
  CHECK(l.modules == 2);  // x, and the shapeless "x" module (no rank)
  CHECK(l.unrecognised_tensors == 2);  // something_else, and lora_unet_y with only an alpha
  CHECK(l.family == ModelFamily::Unknown);
}

TEST_CASE("kohya training metadata and the epoch file-name convention", "[kohya]") {
  const auto t = kohya_training({{"ss_output_name", "skin_4"}, {"ss_epoch", "15"}, {"ss_clip_skip", "None"},
                                 {"ss_network_dim", "8"}, {"ss_network_alpha", "4.0"},
                                 {"ss_base_model_version", "sd_v1"}, {"ss_network_module", "networks.lora"}});
  CHECK(t.output_name == "skin_4");
  CHECK(t.epoch == "15");
  CHECK_FALSE(t.clip_skip);  // str(None)
  CHECK(t.network_alpha == "4.0");
  CHECK(t.any());
  CHECK_FALSE(kohya_training({{"format", "pt"}}).any());

  CHECK(parse_training_stem("skin_4-000015").name == "skin_4");
  CHECK(parse_training_stem("skin_4-000015").epoch == 15);
  CHECK(parse_training_stem("skin_4-step00001000").step == 1000);
  CHECK(parse_training_stem("skin_4-step00001000").name == "skin_4");
  CHECK_FALSE(parse_training_stem("skin_4").epoch);
  CHECK_FALSE(parse_training_stem("skin-12345").epoch);  // kohya pads epochs to six digits
  CHECK(parse_training_stem("skin-12345").name == "skin-12345");
  CHECK_FALSE(parse_training_stem("-000015").epoch);  // no name left
  CHECK(parse_training_stem("a-b-1234567").epoch == 1234567);
  CHECK_FALSE(parse_training_stem("x-99999999999999999999").epoch);  // too long to be an epoch
}
