// The name tables against the full-size key lists of real SD 1.5 / 2.1 / VAE /
// CLIP-L / OpenCLIP-H checkpoints, written by the independent reference
// (tests/reference/sdref/golden_keys.py → tests/data/keys/*.json).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "models/text_encoder_loader.hpp"
#include "models/unet_key_map.hpp"
#include "models/vae_key_map.hpp"

using namespace skingen;

namespace {

nlohmann::json table(const char* name) {
  nlohmann::json j;
  std::ifstream(std::filesystem::path(SKINGEN_TEST_DATA) / "keys" / name) >> j;
  return j;
}

}  // namespace

TEST_CASE("UNet names of SD 1.5 and SD 2.1 translate exactly", "[keys][unet]") {
  const models::UNetBlockLayout layout{4, 2, {true, true, true, false}, true};
  for (const char* file : {"sd15_unet.json", "sd21_unet.json"}) {
    const auto t = table(file);
    REQUIRE(t["tensors"].size() == 686);
    for (const auto& row : t["tensors"]) {
      const std::string ldm = row[0].get<std::string>().substr(std::string("model.diffusion_model.").size());
      const std::string dif = row[1];
      INFO(file << ": " << ldm);
      CHECK(models::unet_diffusers_to_ldm(dif, layout) == ldm);
      CHECK(models::unet_ldm_to_diffusers(ldm, layout) == dif);
    }
  }
}

TEST_CASE("VAE names translate to LDM and legacy diffusers exactly", "[keys][vae]") {
  const auto t = table("sd_vae.json");
  REQUIRE(t["tensors"].size() == 248);
  for (const auto& row : t["tensors"]) {
    const std::string ldm = row[0].get<std::string>().substr(std::string("first_stage_model.").size());
    const std::string dif = row[1], legacy = row[2];
    INFO(dif);
    CHECK(models::vae_canonical_to(models::VaeNaming::Ldm, dif, 4) == ldm);
    CHECK(models::vae_canonical_to(models::VaeNaming::DiffusersLegacyAttention, dif, 4) == legacy);
    CHECK(models::vae_canonical_to(models::VaeNaming::Diffusers, dif, 4) == dif);
  }
}

TEST_CASE("OpenCLIP-H names cover exactly the HF CLIP names the model binds", "[keys][clip]") {
  const auto hf = table("clip_l_text.json");
  const auto oc = table("openclip_h_text.json");
  std::set<std::string> want;
  for (const auto& row : oc["tensors"]) want.insert(row[0].get<std::string>().substr(std::string("cond_stage_model.model.").size()));
  // The HF layer names of CLIP-L (12 layers) extended to OpenCLIP-H's 24 layers.
  std::set<std::string> got;
  for (const auto& row : hf["tensors"]) {
    std::string name = row[1];
    for (int layer = 0; layer < 24; ++layer) {
      std::string n = name;
      const std::string l0 = "text_model.encoder.layers.";
      if (n.starts_with(l0)) {
        const auto dot = n.find('.', l0.size());
        if (std::stoi(n.substr(l0.size(), dot - l0.size())) != 0) break;
        n = l0 + std::to_string(layer) + n.substr(dot);
      } else if (layer > 0) {
        break;
      }
      const auto m = models::openclip_name(n);
      INFO(n);
      REQUIRE(m);
      got.insert(m->stored);
    }
  }
  // Unused by the conditioning, skipped by the loader on purpose.
  got.insert("text_projection");
  got.insert("logit_scale");
  CHECK(got == want);
}
