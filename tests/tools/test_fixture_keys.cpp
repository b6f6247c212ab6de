// The fixture key lists against the real layouts. References:
// - parameter counts of SD 1.5 (UNet 859,520,964; VAE 83,653,863; CLIP ViT-L/14
//   text model 123,060,480 — the published sizes of runwayml/stable-diffusion-v1-5's
//   components, equal to the sums over the public key lists below);
// - the public key+shape lists of arenasys/stable-diffusion-webui-model-toolkit
//   (components/UNET-v1-SD.txt, VAE-v1-SD.txt, CLIP-v1-SD.txt, UNET-v1-EMA.txt,
//   UNET-v2-SD.txt, LoRA-v1A-UNET.txt, LoRA-v1-CLIP.txt at e19dd46e), taken from
//   real checkpoints. Their content is not committed; the test holds a
//   fingerprint of each: FNV-1a 64 over the lines "PREFIX+key [d0,d1,...]\n",
//   sorted bytewise (LoRA ranks written as -1, as in those lists).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/core/error.hpp"
#include "tools/fixtures/checkpoint_config.hpp"
#include "tools/fixtures/fixture_keys.hpp"
#include "tools/fixtures/lora_fixture.hpp"

using namespace skingen;
using namespace skingen::fixtures;

namespace {

std::string line(const std::string& name, const engine::Shape& shape) {
  std::string s = name + " [";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(shape[i]);
  }
  return s + "]\n";
}

std::uint64_t fingerprint(std::vector<std::string> lines) {
  std::sort(lines.begin(), lines.end());
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const auto& l : lines)
    for (unsigned char c : l) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

std::uint64_t fingerprint_of(const std::vector<FixtureTensor>& keys, const std::string& prefix) {
  std::vector<std::string> lines;
  for (const auto& k : keys)
    if (k.name.rfind(prefix, 0) == 0) lines.push_back(line(k.name, k.shape));
  return fingerprint(lines);
}

struct Totals {
  std::size_t tensors = 0;
  std::uint64_t params = 0;
};

Totals totals(const std::vector<FixtureTensor>& keys, const std::string& prefix) {
  Totals t;
  for (const auto& k : keys)
    if (k.name.rfind(prefix, 0) == 0) {
      ++t.tensors;
      if (!k.dtype) t.params += static_cast<std::uint64_t>(engine::shape_numel(k.shape));  // float tensors
    }
  return t;
}

const FixtureTensor& find(const std::vector<FixtureTensor>& keys, const std::string& name) {
  for (const auto& k : keys)
    if (k.name == name) return k;
  FAIL("missing key " << name);
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("the sd15 preset has the real SD 1.5 single-file layout", "[fixtures]") {
  const auto keys = checkpoint_keys(checkpoint_preset("sd15"), false);
  const auto unet = totals(keys, "model.diffusion_model.");
  const auto vae = totals(keys, "first_stage_model.");
  const auto clip = totals(keys, "cond_stage_model.transformer.text_model.");
  CHECK(unet.tensors == 686);
  CHECK(unet.params == 859'520'964);
  CHECK(vae.tensors == 248);
  CHECK(vae.params == 83'653'863);
  CHECK(clip.tensors == 197);  // 196 parameters + position_ids
  CHECK(clip.params == 123'060'480);
  CHECK(unet.params + vae.params + clip.params == 1'066'235'307);
  CHECK(keys.size() == 686 + 248 + 197 + 12 + 2);  // + DDPM buffers + LitEma decay / num_updates

  CHECK(fingerprint_of(keys, "model.diffusion_model.") == 0xce29238f9e6fc5d8ull);
  std::vector<std::string> components;
  for (const auto& k : keys)
    if (k.name.rfind("model.", 0) == 0 || k.name.rfind("first_stage_model.", 0) == 0 ||
        k.name.rfind("cond_stage_model.", 0) == 0)
      components.push_back(line(k.name, k.shape));
  CHECK(fingerprint(components) == 0x163317fbdb709d6cull);

  // A few shapes spelled out (CompVis openaimodel.py / model.py, HF CLIP).
  const std::map<std::string, engine::Shape> spot = {
      {"model.diffusion_model.time_embed.0.weight", {1280, 320}},
      {"model.diffusion_model.input_blocks.1.1.proj_in.weight", {320, 320, 1, 1}},
      {"model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight", {320, 768}},
      {"model.diffusion_model.input_blocks.1.1.transformer_blocks.0.ff.net.0.proj.weight", {2560, 320}},
      {"model.diffusion_model.input_blocks.3.0.op.weight", {320, 320, 3, 3}},
      {"model.diffusion_model.input_blocks.4.0.skip_connection.weight", {640, 320, 1, 1}},
      {"model.diffusion_model.middle_block.1.proj_out.weight", {1280, 1280, 1, 1}},
      {"model.diffusion_model.output_blocks.2.1.conv.weight", {1280, 1280, 3, 3}},
      {"model.diffusion_model.output_blocks.5.2.conv.weight", {1280, 1280, 3, 3}},
      {"model.diffusion_model.output_blocks.3.0.in_layers.0.weight", {2560}},
      {"model.diffusion_model.output_blocks.11.0.skip_connection.weight", {320, 640, 1, 1}},
      {"model.diffusion_model.out.2.weight", {4, 320, 3, 3}},
      {"first_stage_model.encoder.down.1.block.0.nin_shortcut.weight", {256, 128, 1, 1}},
      {"first_stage_model.encoder.conv_out.weight", {8, 512, 3, 3}},
      {"first_stage_model.decoder.up.3.upsample.conv.weight", {512, 512, 3, 3}},
      {"first_stage_model.decoder.mid.attn_1.q.weight", {512, 512, 1, 1}},
      {"first_stage_model.quant_conv.weight", {8, 8, 1, 1}},
      {"first_stage_model.post_quant_conv.weight", {4, 4, 1, 1}},
      {"cond_stage_model.transformer.text_model.embeddings.token_embedding.weight", {49408, 768}},
      {"cond_stage_model.transformer.text_model.encoder.layers.11.mlp.fc1.weight", {3072, 768}},
      {"alphas_cumprod", {1000}},
      {"model_ema.num_updates", {}},
  };
  for (const auto& [name, shape] : spot) {
    INFO(name);
    CHECK(find(keys, name).shape == shape);
  }
  CHECK(find(keys, "cond_stage_model.transformer.text_model.embeddings.position_ids").dtype == engine::DType::I64);
  CHECK(find(keys, "model_ema.num_updates").dtype == engine::DType::I32);
}

TEST_CASE("with EMA the fixture adds LitEma's copy of the UNet", "[fixtures]") {
  const auto keys = checkpoint_keys(checkpoint_preset("sd15"), true);
  CHECK(totals(keys, "model_ema.diffusion_model").tensors == 686);
  CHECK(fingerprint_of(keys, "model_ema.diffusion_model") == 0x4c260a11eb4955cull);
  CHECK(find(keys, "model_ema.diffusion_modelinput_blocks00weight").shape == engine::Shape{320, 4, 3, 3});
}

TEST_CASE("an SD 2.x-style UNet config gives the SD 2.x UNet layout", "[fixtures]") {
  auto c = checkpoint_preset("sd15");
  c.unet.num_head_channels = 64;
  c.unet.context_dim = 1024;
  c.unet.use_linear_in_transformer = true;
  std::vector<FixtureTensor> keys;
  add_unet_keys(c.unet, "model.diffusion_model.", keys);
  CHECK(fingerprint_of(keys, "model.diffusion_model.") == 0xfc3d7c4a1cbffba4ull);
  CHECK(find(keys, "model.diffusion_model.input_blocks.1.1.proj_in.weight").shape == engine::Shape{320, 320});
}

TEST_CASE("kohya LoRA fixtures have sd-scripts' modules and shapes", "[fixtures]") {
  const auto c = checkpoint_preset("sd15");
  LoraFixtureOptions o;
  o.rank = 8;
  o.alpha = 4;
  const auto modules = kohya_modules(c, o);
  std::size_t unet = 0, te = 0;
  for (const auto& m : modules) (m.text_encoder ? te : unet)++;
  // sd-scripts prints "create LoRA for Text Encoder: 72 modules", "for U-Net: 192 modules" for SD 1.x.
  CHECK(unet == 192);
  CHECK(te == 72);
  const auto keys = kohya_lora_keys(modules);
  std::vector<std::string> unet_lines, te_lines;
  for (const auto& k : keys) {
    engine::Shape s = k.shape;
    // The reference lists write the rank as -1.
    if (k.name.find(".lora_down.") != std::string::npos) s[0] = -1;
    if (k.name.find(".lora_up.") != std::string::npos) s[1] = -1;
    if (k.name.rfind("lora_unet_", 0) == 0) unet_lines.push_back(line(k.name, s));
    else if (k.name.find(".alpha") == std::string::npos) te_lines.push_back(line(k.name, s));
  }
  CHECK(unet_lines.size() == 576);
  CHECK(fingerprint(unet_lines) == 0x14b2d449b1ff839cull);
  CHECK(fingerprint(te_lines) == 0x1d971b497e43a2b5ull);
  CHECK(find(keys, "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight").shape ==
        engine::Shape{8, 768});
  CHECK(find(keys, "lora_te_text_model_encoder_layers_11_mlp_fc2.lora_up.weight").shape == engine::Shape{768, 8});
  CHECK(find(keys, "lora_unet_up_blocks_3_attentions_2_proj_out.alpha").values == std::vector<double>{4.0});

  o.preset = "kohya-locon";
  o.conv_rank = 4;
  o.conv_alpha = 1;
  const auto locon = kohya_modules(c, o);
  std::size_t unet_locon = 0, conv3 = 0;
  for (const auto& m : locon) {
    if (!m.text_encoder) ++unet_locon;
    if (m.target.kernel == 3) {
      ++conv3;
      CHECK(m.rank == 4);
      CHECK(m.alpha == 1.0);
    }
  }
  // + 22 resnets × (conv1, conv2, time_emb_proj) + 14 conv_shortcuts + 3 downsamplers + 3 upsamplers.
  CHECK(unet_locon == 278);
  CHECK(conv3 == 50);
  const auto locon_keys = kohya_lora_keys(locon);
  CHECK(find(locon_keys, "lora_unet_down_blocks_1_resnets_0_conv1.lora_down.weight").shape ==
        engine::Shape{4, 320, 3, 3});
  CHECK(find(locon_keys, "lora_unet_down_blocks_1_resnets_0_conv1.lora_up.weight").shape ==
        engine::Shape{640, 4, 1, 1});
  CHECK(find(locon_keys, "lora_unet_down_blocks_1_resnets_0_conv_shortcut.lora_down.weight").shape ==
        engine::Shape{8, 320, 1, 1});
  CHECK(find(locon_keys, "lora_unet_up_blocks_0_upsamplers_0_conv.lora_down.weight").shape ==
        engine::Shape{4, 1280, 3, 3});
  const auto meta = kohya_lora_metadata(c, o);
  CHECK(meta.at("ss_network_dim") == "8");
  CHECK(meta.at("ss_network_alpha") == "4.0");
  CHECK(meta.at("ss_network_args") == R"({"conv_dim": "4", "conv_alpha": "1"})");
  CHECK(meta.at("ss_base_model_version") == "sd_v1");
}

TEST_CASE("fixture configs that cannot describe a model are usage errors naming the field", "[fixtures]") {
  auto c = checkpoint_preset("tiny");
  c.unet.attention_levels = {0, 5};
  REQUIRE_THROWS_AS(checkpoint_keys(c, false), UsageError);
  REQUIRE_THROWS_WITH(checkpoint_keys(c, false), Catch::Contains("attention level 5"));
  c = checkpoint_preset("tiny");
  c.unet.num_heads = 3;
  REQUIRE_THROWS_WITH(checkpoint_keys(c, false), Catch::Contains("num_heads 3"));
  REQUIRE_THROWS_WITH(checkpoint_preset("sd16"), Catch::Contains("unknown checkpoint preset 'sd16'"));
}
