// The LDM ↔ diffusers name table, checked on files named by the independent
// Python writer (tests/reference): every stored name translates and comes back.
#include <catch2/catch.hpp>

#include <filesystem>

#include "engine/tensor_store.hpp"
#include "models/unet_key_map.hpp"
#include "models/unet_loader.hpp"

using namespace skingen;
namespace fs = std::filesystem;

TEST_CASE("UNet key map round-trips every name of the golden checkpoints", "[unet][keys]") {
  for (const char* name : {"sd1_tiny_ldm_f16/model.safetensors", "sd2_tiny_folder_bf16/model",
                           "depth2_diffusers_f32_b2/model.safetensors"}) {
    DYNAMIC_SECTION(name) {
      const auto store = engine::TensorStore::open(fs::path(SKINGEN_TEST_DATA) / "unet" / name);
      const auto d = models::detect_unet(store);
      std::size_t n = 0;
      for (const auto* e : store.with_prefix(d.location.prefix)) {
        const std::string stored = e->name.substr(d.location.prefix.size());
        INFO(stored);
        if (d.location.ldm) {
          const auto canonical = models::unet_ldm_to_diffusers(stored, d.layout);
          REQUIRE(canonical);
          CHECK(models::unet_diffusers_to_ldm(*canonical, d.layout) == stored);
        } else {
          const auto ldm = models::unet_diffusers_to_ldm(stored, d.layout);
          REQUIRE(ldm);
          CHECK(models::unet_ldm_to_diffusers(*ldm, d.layout) == stored);
        }
        ++n;
      }
      CHECK(n > 100);
    }
  }
}

TEST_CASE("SD 1.5 LDM names map to the diffusers names of the conversion script", "[unet][keys]") {
  // SD 1.5: 4 levels, 2 res blocks, attention on the first three.
  const models::UNetBlockLayout sd15{4, 2, {true, true, true, false}, true};
  const std::pair<const char*, const char*> known[] = {
      {"input_blocks.0.0.weight", "conv_in.weight"},
      {"time_embed.2.bias", "time_embedding.linear_2.bias"},
      {"input_blocks.1.0.in_layers.0.weight", "down_blocks.0.resnets.0.norm1.weight"},
      {"input_blocks.2.1.transformer_blocks.0.attn2.to_k.weight",
       "down_blocks.0.attentions.1.transformer_blocks.0.attn2.to_k.weight"},
      {"input_blocks.3.0.op.weight", "down_blocks.0.downsamplers.0.conv.weight"},
      {"input_blocks.4.0.skip_connection.bias", "down_blocks.1.resnets.0.conv_shortcut.bias"},
      {"input_blocks.11.0.emb_layers.1.weight", "down_blocks.3.resnets.1.time_emb_proj.weight"},
      {"middle_block.0.out_layers.3.weight", "mid_block.resnets.0.conv2.weight"},
      {"middle_block.1.proj_out.bias", "mid_block.attentions.0.proj_out.bias"},
      {"middle_block.2.in_layers.2.weight", "mid_block.resnets.1.conv1.weight"},
      {"output_blocks.2.1.conv.weight", "up_blocks.0.upsamplers.0.conv.weight"},
      {"output_blocks.5.2.conv.bias", "up_blocks.1.upsamplers.0.conv.bias"},
      {"output_blocks.8.2.conv.weight", "up_blocks.2.upsamplers.0.conv.weight"},
      {"output_blocks.6.1.norm.weight", "up_blocks.2.attentions.0.norm.weight"},
      {"output_blocks.11.0.skip_connection.weight", "up_blocks.3.resnets.2.conv_shortcut.weight"},
      {"out.0.weight", "conv_norm_out.weight"},
      {"out.2.bias", "conv_out.bias"},
  };
  for (const auto& [ldm, dif] : known) {
    INFO(ldm);
    CHECK(models::unet_ldm_to_diffusers(ldm, sd15) == std::string(dif));
    CHECK(models::unet_diffusers_to_ldm(dif, sd15) == std::string(ldm));
  }
  CHECK_FALSE(models::unet_ldm_to_diffusers("output_blocks.2.2.conv.weight", sd15));
  CHECK_FALSE(models::unet_diffusers_to_ldm("down_blocks.4.resnets.0.norm1.weight", sd15));
}
