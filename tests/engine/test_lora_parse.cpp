// Reading LoRA files: key grouping for every layout, ranks and scale rules
// (docs/FORMATS.md, "LoRA key naming" and "LoRA scale"), and every validation
// error naming file and tensor.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "engine/core/error.hpp"
#include "engine/lora_file.hpp"
#include "test_util/lora_builder.hpp"
#include "test_util/temp_dir.hpp"

using namespace skingen;
using engine::DType;
using engine::LoraFile;
using engine::LoraKind;
using engine::LoraRole;

namespace {

const engine::LoraModule& module(const LoraFile& f, const std::string& key) {
  for (const auto& m : f.modules)
    if (m.key == key) return m;
  FAIL("no module " << key);
  throw;
}

std::string error_of(const std::filesystem::path& p) {
  try {
    LoraFile::open(p);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("Tensor names split into module key and role for every layout", "[lora]") {
  std::string key;
  LoraRole role{};
  engine::LoraNaming naming{};
  struct Case {
    const char* name;
    const char* key;
    LoraRole role;
  };
  const Case cases[] = {
      {"lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight", "lora_unet_down_blocks_0_attentions_0_proj_in", LoraRole::Down},
      {"lora_te_text_model_encoder_layers_0_mlp_fc1.alpha", "lora_te_text_model_encoder_layers_0_mlp_fc1", LoraRole::Alpha},
      {"lora_unet_x.lora_mid.weight", "lora_unet_x", LoraRole::Mid},
      {"lora_unet_x.hada_w1_b", "lora_unet_x", LoraRole::HadaW1B},
      {"lora_unet_x.lokr_w1", "lora_unet_x", LoraRole::LokrW1},
      {"lora_unet_x.lokr_w1_a", "lora_unet_x", LoraRole::LokrW1A},
      {"lora_unet_x.diff_b", "lora_unet_x", LoraRole::DiffB},
      {"lora_unet_x.dora_scale", "lora_unet_x", LoraRole::DoraScale},
      {"unet.down_blocks.0.attentions.0.proj_in.lora_A.weight", "unet.down_blocks.0.attentions.0.proj_in", LoraRole::Down},
      {"unet.a.to_out.0.lora_B.bias", "unet.a.to_out.0", LoraRole::UpBias},
      {"unet.a.to_k.lora.up.weight", "unet.a.to_k", LoraRole::Up},
      {"text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora_linear_layer.down.weight",
       "text_encoder.text_model.encoder.layers.0.self_attn.q_proj", LoraRole::Down},
      {"unet.b.attn1.processor.to_out_lora.up.weight", "unet.b.attn1.processor.to_out_lora", LoraRole::Up},
      {"unet.a.to_q.lora_magnitude_vector", "unet.a.to_q", LoraRole::DoraScale},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    REQUIRE(engine::split_lora_tensor_name(c.name, key, role, naming));
    CHECK(key == c.key);
    CHECK(role == c.role);
  }
  CHECK_FALSE(engine::split_lora_tensor_name("bundle_emb.skin.string_to_param.*", key, role, naming));
  CHECK_FALSE(engine::split_lora_tensor_name("lora_unet_x.oft_blocks", key, role, naming));
}

TEST_CASE("PEFT pattern keys match whole names or dotted suffixes", "[lora]") {
  CHECK(engine::peft_pattern_matches("attn2.to_k", "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k"));
  CHECK(engine::peft_pattern_matches("to_k", "to_k"));
  CHECK_FALSE(engine::peft_pattern_matches("n2.to_k", "down_blocks.0.attn2.to_k"));
  CHECK_FALSE(engine::peft_pattern_matches("to_k", "a.to_kv"));
}

TEST_CASE("Ranks, alphas and the scale rules", "[lora]") {
  TempDir dir;
  LoraBuilder b(7);
  // kohya LoRA: rank 16, alpha 8 → 0.5; F16 and BF16 values.
  b.randn("lora_unet_a.lora_down.weight", {16, 32}, 0.1f, DType::F16)
      .randn("lora_unet_a.lora_up.weight", {64, 16}, 0.1f, DType::BF16)
      .scalar("lora_unet_a.alpha", 8.0f, DType::F16);
  // alpha missing → rank; alpha zero → rank (kohya); a scale tensor overrides.
  b.randn("lora_unet_b.lora_down.weight", {4, 32}).randn("lora_unet_b.lora_up.weight", {64, 4});
  b.randn("lora_unet_c.lora_down.weight", {4, 32}).randn("lora_unet_c.lora_up.weight", {64, 4}).scalar("lora_unet_c.alpha", 0);
  b.randn("lora_unet_d.lora_down.weight", {4, 32}).randn("lora_unet_d.lora_up.weight", {64, 4})
      .scalar("lora_unet_d.alpha", 2).scalar("lora_unet_d.scale", 0.3f);
  // LoCon 3×3 and CP.
  b.randn("lora_unet_e.lora_down.weight", {8, 16, 3, 3}).randn("lora_unet_e.lora_up.weight", {32, 8, 1, 1});
  b.randn("lora_unet_f.lora_down.weight", {4, 16, 1, 1}).randn("lora_unet_f.lora_mid.weight", {4, 4, 3, 3})
      .randn("lora_unet_f.lora_up.weight", {32, 4, 1, 1}).scalar("lora_unet_f.alpha", 1);
  // LoHa (rank = hada_w1_b rows) and LoKr (scale only when decomposed).
  b.randn("lora_unet_g.hada_w1_a", {32, 4}).randn("lora_unet_g.hada_w1_b", {4, 144})
      .randn("lora_unet_g.hada_w2_a", {32, 4}).randn("lora_unet_g.hada_w2_b", {4, 144}).scalar("lora_unet_g.alpha", 2);
  b.randn("lora_unet_h.lokr_w1", {2, 2}).randn("lora_unet_h.lokr_w2", {16, 8, 3, 3}).scalar("lora_unet_h.alpha", 3);
  b.randn("lora_unet_i.lokr_w1", {2, 2}).randn("lora_unet_i.lokr_w2_a", {16, 2}).randn("lora_unet_i.lokr_w2_b", {2, 72})
      .scalar("lora_unet_i.alpha", 1);
  b.randn("lora_unet_j.diff", {32, 16}).randn("lora_unet_j.diff_b", {32});
  const auto path = b.write(dir.path() / "skin_4-000015.safetensors");
  const auto f = LoraFile::open(path);
  CHECK(f.name == "skin_4-000015");
  REQUIRE(f.modules.size() == 10);
  CHECK(f.unrecognized.empty());

  const auto& a = module(f, "lora_unet_a");
  CHECK(a.kind == LoraKind::LoRA);
  CHECK(a.rank == 16);
  CHECK(a.base_scale() == Approx(0.5));
  CHECK(a.delta_shape == engine::Shape{64, 32});
  CHECK(a.get(LoraRole::Up).f32_data()[0] == engine::bf16_to_float(engine::float_to_bf16(
                                                  b.tensors()[1].second.to_f32().f32_data()[0])));
  CHECK(module(f, "lora_unet_b").base_scale() == 1.0);
  CHECK(!module(f, "lora_unet_b").alpha);
  CHECK(module(f, "lora_unet_c").base_scale() == 1.0);
  CHECK(module(f, "lora_unet_d").base_scale() == Approx(0.3));
  CHECK(module(f, "lora_unet_e").delta_shape == engine::Shape{32, 16, 3, 3});
  CHECK(module(f, "lora_unet_f").delta_shape == engine::Shape{32, 16, 3, 3});
  CHECK(module(f, "lora_unet_f").tucker);
  CHECK(module(f, "lora_unet_f").base_scale() == Approx(0.25));
  CHECK(module(f, "lora_unet_g").kind == LoraKind::LoHa);
  CHECK(module(f, "lora_unet_g").base_scale() == Approx(0.5));
  CHECK(module(f, "lora_unet_g").delta_flat);
  CHECK(module(f, "lora_unet_h").kind == LoraKind::LoKr);
  CHECK(module(f, "lora_unet_h").rank == 0);
  CHECK(module(f, "lora_unet_h").base_scale() == 1.0);  // both factors full: alpha ignored
  CHECK(module(f, "lora_unet_h").delta_shape == engine::Shape{32, 16, 3, 3});
  CHECK(module(f, "lora_unet_i").base_scale() == Approx(0.5));
  CHECK(module(f, "lora_unet_i").delta_shape == engine::Shape{32, 144});
  CHECK(module(f, "lora_unet_j").kind == LoraKind::Full);
  CHECK(module(f, "lora_unet_j").has_bias_delta());
  CHECK(module(f, "lora_unet_j").base_scale() == 1.0);
}

TEST_CASE("diffusers metadata alphas and PEFT patterns", "[lora]") {
  TempDir dir;
  LoraBuilder b(3);
  for (const char* m : {"unet.x.attn2.to_k", "unet.x.attn2.to_q", "text_encoder.t.q_proj"})
    b.randn(std::string(m) + ".lora_A.weight", {4, 8}).randn(std::string(m) + ".lora_B.weight", {8, 4});
  b.randn("unet.y.lora.down.weight", {4, 8}).randn("unet.y.lora.up.weight", {8, 4}).scalar("unet.y.alpha", 1);
  b.meta("lora_adapter_metadata",
         R"({"unet.r": 4, "unet.lora_alpha": 8, "unet.alpha_pattern": {"attn2.to_k": 2}, "text_encoder.lora_alpha": 1,
             "text_encoder.use_rslora": true})");
  const auto f = LoraFile::open(b.write(dir.path() / "peft.safetensors"));
  CHECK(module(f, "unet.x.attn2.to_q").base_scale() == Approx(2.0));
  CHECK(module(f, "unet.x.attn2.to_q").alpha_source == "lora_adapter_metadata");
  CHECK(module(f, "unet.x.attn2.to_k").base_scale() == Approx(0.5));
  CHECK(module(f, "text_encoder.t.q_proj").base_scale() == Approx(0.5));  // rsLoRA: 1 / sqrt(4)
  CHECK(module(f, "unet.y").base_scale() == Approx(0.25));                 // the .alpha tensor wins
  CHECK(module(f, "unet.x.attn2.to_q").naming == engine::LoraNaming::Peft);
  CHECK(module(f, "unet.y").naming == engine::LoraNaming::Diffusers);

  LoraBuilder bad(3);
  bad.randn("unet.x.lora_A.weight", {4, 8}).randn("unet.x.lora_B.weight", {8, 4}).meta("lora_adapter_metadata", "{oops");
  CHECK_THAT(error_of(bad.write(dir.path() / "badmeta.safetensors")),
             Catch::Contains("badmeta.safetensors") && Catch::Contains("lora_adapter_metadata"));
}

TEST_CASE("Broken LoRA files are rejected naming file and tensor", "[lora]") {
  TempDir dir;
  auto check = [&](const std::string& name, LoraBuilder& b, const std::string& expect) {
    INFO(name);
    const auto msg = error_of(b.write(dir.path() / (name + ".safetensors")));
    CHECK_THAT(msg, Catch::Contains(name + ".safetensors") && Catch::Contains(expect));
  };
  {
    LoraBuilder b;
    auto up = engine::Tensor::zeros(DType::F32, {8, 4});
    up.f32_mut()[5] = std::numeric_limits<float>::quiet_NaN();
    b.randn("lora_unet_a.lora_down.weight", {4, 8}).put("lora_unet_a.lora_up.weight", up, DType::F16);
    check("nan", b, "'lora_unet_a.lora_up.weight' contains NaN");
  }
  {
    LoraBuilder b;
    auto down = engine::Tensor::zeros(DType::F32, {4, 8});
    down.f32_mut()[0] = std::numeric_limits<float>::infinity();
    b.put("lora_unet_a.lora_down.weight", down).randn("lora_unet_a.lora_up.weight", {8, 4});
    check("inf", b, "'lora_unet_a.lora_down.weight' contains Inf");
  }
  {
    LoraBuilder b;
    b.randn("lora_unet_a.lora_down.weight", {4, 8}).randn("lora_unet_a.lora_up.weight", {8, 5});
    check("rank", b, "disagree on the rank");
  }
  {
    LoraBuilder b;
    b.randn("lora_unet_a.lora_down.weight", {4, 8});
    check("noup", b, "'lora_up' is missing");
  }
  {
    LoraBuilder b;
    b.scalar("lora_unet_a.alpha", 4);
    check("onlyalpha", b, "has only alpha");
  }
  {
    LoraBuilder b;
    b.randn("lora_unet_a.lora_down.weight", {4, 8}).randn("lora_unet_a.lora_up.weight", {8, 4})
        .randn("lora_unet_a.alpha", {2});
    check("alpha2", b, "must hold one value");
  }
  {
    LoraBuilder b;
    b.randn("lora_unet_a.lora_down.weight", {4, 8}).randn("lora_unet_a.lora_up.weight", {8, 4})
        .randn("lora_unet_a.hada_w1_a", {8, 4});
    check("mixed", b, "mixes the tensors of several adapter types");
  }
  {
    LoraBuilder b;
    b.randn("u.a.lora_A.weight", {4, 8}).randn("u.a.lora.up.weight", {8, 4});
    check("naming", b, "mixes PEFT and diffusers tensor names");
  }
  {
    LoraBuilder b;
    b.randn("lora_unet_a.hada_w1_a", {8, 4}).randn("lora_unet_a.hada_w1_b", {4, 8}).randn("lora_unet_a.hada_w2_a", {8, 4})
        .randn("lora_unet_a.hada_w2_b", {4, 8}).randn("lora_unet_a.hada_t1", {4, 4, 3, 3});
    check("tucker", b, "hada_t1 and hada_t2 must come together");
  }
  {
    LoraBuilder b;
    b.randn("lora_unet_a.lora_down.weight", {4, 8}).randn("lora_unet_a.lora_up.weight", {8, 4, 3, 3});
    check("upkernel", b, "must be a 1×1 kernel");
  }
  {
    LoraBuilder b;
    b.put("lora_unet_a.lora_down.weight", engine::Tensor::zeros(DType::I32, {4, 8}), DType::I32)
        .randn("lora_unet_a.lora_up.weight", {8, 4});
    check("int", b, "expected a float type");
  }
}
