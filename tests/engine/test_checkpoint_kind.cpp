// Checkpoint detection from key lists. Key lists come from the fixture
// generator (checked against the real SD 1.5 layout in tests/tools) or are
// written out here from the upstream layouts; expected answers are facts of
// those layouts (docs/FORMATS.md, "Checkpoint layouts"; model_family.hpp).
#include <catch2/catch.hpp>

#include "engine/checkpoint_kind.hpp"
#include "tools/fixtures/fixture_keys.hpp"

using namespace skingen;
using namespace skingen::engine;

namespace {

std::vector<KeyInfo> to_keys(const std::vector<fixtures::FixtureTensor>& f, const std::string& strip = "",
                             const std::string& add = "") {
  std::vector<KeyInfo> keys;
  for (const auto& t : f) {
    if (!strip.empty() && t.name.rfind(strip, 0) != 0) continue;
    keys.push_back({add + t.name.substr(strip.size()), t.dtype.value_or(DType::F16), t.shape, std::nullopt});
  }
  return keys;
}

KeyInfo key(std::string name, Shape shape, DType dtype = DType::F16) { return {std::move(name), dtype, std::move(shape), {}}; }

}  // namespace

TEST_CASE("a full SD 1.5 LDM checkpoint is recognised with its components", "[detect]") {
  const auto keys = to_keys(fixtures::checkpoint_keys(fixtures::checkpoint_preset("sd15"), false));
  const auto c = detect_checkpoint(keys);
  CHECK(c.kind == ModelKind::Checkpoint);
  CHECK(c.layout == KeyLayout::LDM);
  CHECK(c.family == ModelFamily::SD1);
  CHECK(c.family_evidence == "UNet cross-attention context width 768 (attn2.to_k)");
  CHECK(c.unet.tensors == 686);
  CHECK(c.unet.parameters == 859'520'964);
  CHECK(c.unet.prefix == "model.diffusion_model.");
  CHECK(c.vae.parameters == 83'653'863);
  CHECK(c.text_encoder.parameters == 123'060'480);
  CHECK(c.text_encoder.tensors == 197);
  CHECK_FALSE(c.ema.present);
  CHECK_FALSE(c.text_encoder_2.present);
  CHECK(c.other.tensors == 14);
  CHECK(c.unet_in_channels == 4);
  CHECK(c.unet_model_channels == 320);
  CHECK(c.context_dim == 768);
  CHECK(c.linear_proj == false);
  CHECK(c.text_width == 768);
  CHECK(c.text_layers == 12);
  CHECK(c.notes.empty());

  const auto with_ema = detect_checkpoint(to_keys(fixtures::checkpoint_keys(fixtures::checkpoint_preset("sd15"), true)));
  CHECK(with_ema.ema.present);
  CHECK(with_ema.ema.tensors == 686);
  CHECK(with_ema.ema.parameters == 859'520'964);
}

TEST_CASE("checkpoint parts are recognised alone, in LDM naming", "[detect]") {
  const auto all = fixtures::checkpoint_keys(fixtures::checkpoint_preset("sd15"), false);
  const auto unet = detect_checkpoint(to_keys(all, "model.diffusion_model."));
  CHECK(unet.kind == ModelKind::UNet);
  CHECK(unet.layout == KeyLayout::LDM);
  CHECK(unet.family == ModelFamily::SD1);
  CHECK(unet.unet.parameters == 859'520'964);

  const auto vae = detect_checkpoint(to_keys(all, "first_stage_model."));
  CHECK(vae.kind == ModelKind::VAE);
  CHECK(vae.family == ModelFamily::Unknown);
  REQUIRE(vae.notes.size() == 1);
  CHECK_THAT(vae.notes[0], Catch::Contains("share the VAE architecture"));

  const auto te = detect_checkpoint(to_keys(all, "cond_stage_model.transformer."));
  CHECK(te.kind == ModelKind::TextEncoder);
  CHECK(te.family == ModelFamily::SD1);
  CHECK(te.text_encoder.parameters == 123'060'480);
  CHECK(te.family_evidence == "text encoder width 768 (token_embedding)");

  // A checkpoint without its VAE and text encoder is still a checkpoint.
  const auto bare = detect_checkpoint(to_keys(all, "model.diffusion_model.", "model.diffusion_model."));
  CHECK(bare.kind == ModelKind::Checkpoint);
  CHECK_FALSE(bare.vae.present);
  CHECK(bare.family == ModelFamily::SD1);
}

TEST_CASE("SD 2.x and SDXL checkpoints are told apart by context width and encoders", "[detect]") {
  auto c = fixtures::checkpoint_preset("sd15");
  c.unet.num_head_channels = 64;
  c.unet.context_dim = 1024;
  c.unet.use_linear_in_transformer = true;
  std::vector<fixtures::FixtureTensor> f;
  fixtures::add_unet_keys(c.unet, "model.diffusion_model.", f);
  auto keys = to_keys(f);
  // OpenCLIP ViT-H under cond_stage_model.model (FrozenOpenCLIPEmbedder).
  keys.push_back(key("cond_stage_model.model.token_embedding.weight", {49408, 1024}));
  keys.push_back(key("cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight", {3072, 1024}));
  keys.push_back(key("cond_stage_model.model.transformer.resblocks.23.attn.in_proj_weight", {3072, 1024}));
  const auto sd2 = detect_checkpoint(keys);
  CHECK(sd2.family == ModelFamily::SD2);
  CHECK(sd2.linear_proj == true);
  CHECK(sd2.text_encoder_type == "OpenCLIP text model (open_clip naming)");
  CHECK(sd2.text_layers == 2);  // distinct block indices present in this list
  CHECK_THAT(sd2.notes[0], Catch::Contains("v-prediction"));

  const std::vector<KeyInfo> sdxl = {
      key("model.diffusion_model.input_blocks.0.0.weight", {320, 4, 3, 3}),
      key("model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight", {640, 2048}),
      key("model.diffusion_model.label_emb.0.0.weight", {1280, 2816}),
      key("conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight", {49408, 768}),
      key("conditioner.embedders.1.model.token_embedding.weight", {49408, 1280}),
      key("first_stage_model.decoder.conv_in.weight", {512, 4, 3, 3}),
  };
  const auto xl = detect_checkpoint(sdxl);
  CHECK(xl.kind == ModelKind::Checkpoint);
  CHECK(xl.family == ModelFamily::SDXL);
  CHECK(xl.text_encoder.present);
  CHECK(xl.text_encoder_2.present);
  CHECK(xl.notes.empty());
}

TEST_CASE("diffusers folders and diffusers-named parts are recognised", "[detect]") {
  const std::vector<KeyInfo> folder = {
      key("unet/conv_in.weight", {320, 4, 3, 3}),
      key("unet/down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight", {320, 768}),
      key("unet/down_blocks.0.attentions.0.proj_in.weight", {320, 320, 1, 1}),
      key("vae/encoder.conv_in.weight", {128, 3, 3, 3}),
      key("text_encoder/text_model.embeddings.token_embedding.weight", {49408, 768}),
      key("text_encoder/text_model.encoder.layers.0.self_attn.q_proj.weight", {768, 768}),
  };
  const auto d = detect_checkpoint(folder);
  CHECK(d.kind == ModelKind::Checkpoint);
  CHECK(d.layout == KeyLayout::Diffusers);
  CHECK(d.family == ModelFamily::SD1);
  CHECK(d.unet.prefix == "unet/");
  CHECK(d.unet.tensors == 3);
  CHECK(d.vae.tensors == 1);
  CHECK(d.text_encoder.tensors == 2);
  CHECK(d.unet_in_channels == 4);

  const std::vector<KeyInfo> unet = {
      key("conv_in.weight", {320, 9, 3, 3}),
      key("time_embedding.linear_1.weight", {1280, 320}),
      key("down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight", {320, 1024}),
  };
  const auto u = detect_checkpoint(unet);
  CHECK(u.kind == ModelKind::UNet);
  CHECK(u.layout == KeyLayout::Diffusers);
  CHECK(u.family == ModelFamily::SD2);
  CHECK(u.unet_in_channels == 9);
  CHECK_THAT(u.notes[0], Catch::Contains("inpainting"));

  const auto vae = detect_checkpoint({key("encoder.down_blocks.0.resnets.0.norm1.weight", {128}),
                                      key("decoder.up_blocks.0.resnets.0.norm1.weight", {512})});
  CHECK(vae.kind == ModelKind::VAE);
  CHECK(vae.layout == KeyLayout::Diffusers);
}

TEST_CASE("an OpenCLIP text encoder decides SD 2.x, disagreeing widths are noted, junk is unknown", "[detect]") {
  const std::vector<KeyInfo> mixed = {
      key("model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight", {320, 768}),
      key("cond_stage_model.model.token_embedding.weight", {49408, 1024}),
      key("cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight", {3072, 1024}),
  };
  const auto m = detect_checkpoint(mixed);
  CHECK(m.family == ModelFamily::SD2);
  CHECK_THAT(m.family_evidence, Catch::StartsWith("OpenCLIP text encoder (cond_stage_model.model.*)"));
  REQUIRE(m.notes.size() == 2);
  CHECK_THAT(m.notes[0], Catch::Contains("text encoder looks like SD 2.x") &&
                             Catch::Contains("the UNet's context width like SD 1.x"));

  const auto junk = detect_checkpoint({key("foo", {3}), key("bar.weight", {2, 2})});
  CHECK(junk.kind == ModelKind::Unknown);
  CHECK(junk.family == ModelFamily::Unknown);
  CHECK(junk.other.tensors == 2);
  CHECK(detect_checkpoint({}).kind == ModelKind::Unknown);

  // Hostile shapes (a 1-D "to_k") are ignored, not indexed.
  const auto odd = detect_checkpoint({key("model.diffusion_model.x.attn2.to_k.weight", {7}),
                                      key("model.diffusion_model.input_blocks.0.0.weight", {3})});
  CHECK(odd.family == ModelFamily::Unknown);
  CHECK_FALSE(odd.unet_in_channels);
}

TEST_CASE("SD 2.x architecture is told by the reference loaders' rule, not the context width alone", "[detect]") {
  // sd_family in the order it applies its facts.
  CHECK(sd_family({2048, true, false}).family == ModelFamily::SDXL);
  const auto openclip = sd_family({128, true, true});
  CHECK(openclip.family == ModelFamily::SD2);
  CHECK(openclip.head_width_64);
  CHECK_THAT(openclip.evidence, Catch::Contains("OpenCLIP") && Catch::Contains("context width 128"));
  CHECK(sd_family({1024, false, false}).family == ModelFamily::SD2);
  const auto linear = sd_family({96, true, false});
  CHECK(linear.family == ModelFamily::SD2);
  CHECK(linear.head_width_64);
  CHECK_THAT(linear.evidence, Catch::Contains("linear UNet proj_in"));
  const auto sd1 = sd_family({768, false, false});
  CHECK(sd1.family == ModelFamily::SD1);
  CHECK_FALSE(sd1.head_width_64);
  const auto small = sd_family({128, false, false});
  CHECK(small.family == ModelFamily::Unknown);
  CHECK_FALSE(small.head_width_64);
  CHECK_THAT(small.evidence, Catch::Contains("1x1-conv proj_in"));

  // A whole checkpoint: SD 2.x architecture (linear proj, OpenCLIP text) with a context of 128.
  auto c = fixtures::checkpoint_preset("tiny");
  c.unet.model_channels = 64;
  c.unet.num_head_channels = 64;
  c.unet.context_dim = 128;
  c.unet.use_linear_in_transformer = true;
  std::vector<fixtures::FixtureTensor> f;
  fixtures::add_unet_keys(c.unet, "model.diffusion_model.", f);
  auto keys = to_keys(f);
  const auto unet_only = detect_checkpoint(keys);
  CHECK(unet_only.family == ModelFamily::SD2);
  CHECK_THAT(unet_only.family_evidence, Catch::Contains("linear UNet proj_in"));
  keys.push_back(key("cond_stage_model.model.token_embedding.weight", {1000, 128}));
  keys.push_back(key("cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight", {384, 128}));
  const auto with_text = detect_checkpoint(keys);
  CHECK(with_text.family == ModelFamily::SD2);
  CHECK_THAT(with_text.family_evidence, Catch::StartsWith("OpenCLIP text encoder"));
}
