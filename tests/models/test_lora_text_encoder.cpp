// The text-encoder half of LoRA through the real text-encoder loader: for the
// HF layout (diffusers folder) and OpenCLIP (fused q|k|v in_proj), the LoRA-
// patched encoder equals the plain encoder of a checkpoint whose weights were
// patched by hand (naive up @ down, written into the right rows).
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>

#include "engine/lora_patcher.hpp"
#include "engine/safetensors_writer.hpp"
#include "models/lora_targets.hpp"
#include "models/text_encoder_loader.hpp"
#include "test_util/compare.hpp"
#include "test_util/lora_builder.hpp"
#include "test_util/temp_dir.hpp"

using namespace skingen;
namespace fs = std::filesystem;
using I = std::int64_t;

namespace {

struct Edit {
  std::string stored;  // tensor in the checkpoint
  I row0;              // first row the module's weight occupies
};

engine::Tensor encode(const engine::TensorStore& store, engine::WeightPatcher* patcher) {
  ops::Context ctx(0);
  engine::BufferPool pool;
  const auto te = models::load_text_encoder(ctx, store, patcher);
  models::RunContext rc{ctx, pool, ops::Tiling::None, {}};
  engine::Tensor ids = engine::Tensor::zeros(engine::DType::I64, {1, 10});
  auto* p = static_cast<std::int64_t*>(ids.raw_mut());
  for (I i = 0; i < 10; ++i) p[i] = (7 * i + 3) % te.model->config().vocab_size;
  return te.model->forward(rc, ids, 1).clone();
}

void check_layout(const fs::path& model, const std::string& prefix, const std::vector<std::pair<std::string, Edit>>& modules) {
  TempDir dir;
  const auto store = engine::TensorStore::open(model);
  // The LoRA (kohya names, alpha 2, rank 4 → scale 0.5; multiplier 0.8).
  LoraBuilder b(11);
  for (const auto& [key, e] : modules) {
    b.randn(key + ".lora_down.weight", {4, 64}, 0.2f).randn(key + ".lora_up.weight", {64, 4}, 0.2f).scalar(key + ".alpha", 2);
  }
  const auto lora = b.write(dir.path() / "te.safetensors");
  std::map<std::string, engine::Tensor> by_name;
  for (const auto& [n, t] : b.tensors()) by_name[n] = t;

  // The same change written into a copy of the checkpoint by hand.
  engine::NamedTensors patched;
  for (const auto& entry : store.entries()) {
    engine::Tensor t = store.read_f32(entry.name);
    for (const auto& [key, e] : modules) {
      if (prefix + e.stored != entry.name) continue;
      const auto& down = by_name[key + ".lora_down.weight"];
      const auto& up = by_name[key + ".lora_up.weight"];
      const I in = t.dim(1);
      for (I o = 0; o < 64; ++o)
        for (I i = 0; i < in; ++i) {
          double s = 0;
          for (I r = 0; r < 4; ++r) s += static_cast<double>(up.f32_data()[o * 4 + r]) * down.f32_data()[r * in + i];
          t.f32_mut()[(e.row0 + o) * in + i] += static_cast<float>(0.8 * 0.5 * s);
        }
    }
    patched.emplace_back(entry.name.substr(entry.name.find('/') == std::string::npos ? 0 : entry.name.find('/') + 1), t);
  }
  const fs::path copy = store.is_folder() ? dir.path() / "folder" / "text_encoder" / "model.safetensors"
                                          : dir.path() / "patched.safetensors";
  fs::create_directories(copy.parent_path());
  engine::write_safetensors(copy, patched);
  if (store.is_folder()) fs::copy_file(model / "text_encoder" / "config.json", copy.parent_path() / "config.json");
  const auto patched_store = engine::TensorStore::open(store.is_folder() ? dir.path() / "folder" : copy);

  ops::Context ctx(0);
  engine::LoraPatcher patcher(ctx, models::lora_model_targets(store, nullptr, {.unet = false, .text_encoder = true}),
                              {{lora, {{"text_encoder", 0.8}}}});
  const auto got = encode(store, &patcher);
  for (const auto& m : patcher.loras().front().modules) CHECK(m.applied());
  const auto want = encode(patched_store, nullptr);
  const double err = relative_l2(got, want);
  INFO("relative L2 " << err);
  CHECK(err < 1e-6);
  CHECK(relative_l2(encode(store, nullptr), want) > 1e-3);  // the LoRA changes the output
}

}  // namespace

TEST_CASE("Text-encoder LoRA through the HF loader (diffusers folder)", "[lora]") {
  const auto model = fs::path(SKINGEN_TEST_DATA) / "clip" / "clip_l_tiny_diffusers_f16" / "model";
  check_layout(model, "text_encoder/",
               {{"lora_te_text_model_encoder_layers_0_self_attn_k_proj", {"text_model.encoder.layers.0.self_attn.k_proj.weight", 0}},
                {"lora_te_text_model_encoder_layers_1_self_attn_out_proj", {"text_model.encoder.layers.1.self_attn.out_proj.weight", 0}}});
}

TEST_CASE("Text-encoder LoRA into OpenCLIP's fused in_proj (SD 2.x)", "[lora]") {
  const auto model = fs::path(SKINGEN_TEST_DATA) / "clip" / "openclip_h_tiny_ldm_f16" / "model.safetensors";
  check_layout(model, "cond_stage_model.model.",
               {{"lora_te_text_model_encoder_layers_0_self_attn_k_proj", {"transformer.resblocks.0.attn.in_proj_weight", 64}},
                {"lora_te_text_model_encoder_layers_1_self_attn_v_proj", {"transformer.resblocks.1.attn.in_proj_weight", 128}},
                {"lora_te_text_model_encoder_layers_1_self_attn_out_proj", {"transformer.resblocks.1.attn.out_proj.weight", 0}}});
}
