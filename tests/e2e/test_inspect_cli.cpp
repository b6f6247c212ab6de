// `skingen fixture` and `skingen inspect` end to end: generated files are
// described with the family, counts, ranks and alphas they were made with,
// and `--json` parses.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/safetensors_writer.hpp"
#include "test_util/temp_dir.hpp"

namespace {

struct Run {
  int status = -1;
  std::string out;  // stdout and stderr
};

Run run(const std::string& args) {
  Run r;
  const std::string cmd = std::string(SKINGEN_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

nlohmann::json inspect_json(const std::string& path) {
  const Run r = run("inspect --json " + path);
  INFO(r.out);
  REQUIRE(r.status == 0);
  return nlohmann::json::parse(r.out);
}

}  // namespace

TEST_CASE("inspect describes a generated SD 1.x checkpoint", "[e2e][inspect]") {
  TempDir dir;
  const auto path = (dir.path() / "small.safetensors").string();
  // The tiny architecture with SD 1.x's context width (768) and a small vocabulary.
  const Run gen = run("fixture checkpoint --preset tiny --context-dim 768 --clip-width 768 --clip-heads 12 "
                      "--clip-layers 1 --clip-ff 256 --clip-vocab 1000 --dtype f16 --out " + path);
  INFO(gen.out);
  REQUIRE(gen.status == 0);
  const auto j = inspect_json(path);
  CHECK(j["format"] == "safetensors");
  CHECK(j["kind"] == "checkpoint");
  CHECK(j["family"] == "sd1");
  CHECK(j["checkpoint"]["layout"] == "ldm");
  CHECK(j["checkpoint"]["unet"]["context_dim"] == 768);
  CHECK(j["checkpoint"]["unet"]["model_channels"] == 32);
  CHECK(j["checkpoint"]["text_encoder"]["layers"] == 1);
  CHECK(j["checkpoint"]["components"]["ema"]["present"] == false);
  CHECK(j["checkpoint"]["components"]["other"]["tensors"] == 14);
  CHECK(j["checkpoint"].contains("unet_config"));
  CHECK(j["dtypes"]["I64"]["parameters"] == 77);
  CHECK(j["metadata"]["format"] == "pt");
  CHECK(j["tensor_count"] == j["dtypes"]["F16"]["tensors"].get<int>() + 2);
  CHECK_FALSE(j.contains("tensors"));
  const auto listed = nlohmann::json::parse(run("inspect --json --tensors " + path).out);
  CHECK(listed["tensors"].size() == j["tensor_count"]);

  const Run text = run("inspect " + path);
  REQUIRE(text.status == 0);
  CHECK_THAT(text.out, Catch::Contains("checkpoint (ldm layout)"));
  CHECK_THAT(text.out, Catch::Contains("SD 1.x: UNet cross-attention context width 768"));
}

TEST_CASE("inspect describes a generated kohya LoCon with its training metadata", "[e2e][inspect]") {
  TempDir dir;
  const auto path = (dir.path() / "skin_4-000015.safetensors").string();
  const Run gen = run("fixture lora --preset kohya-locon --for sd15 --rank 8 --alpha 4 --conv-rank 4 --conv-alpha 2 "
                      "--output-name skin_4 --epoch 15 --clip-skip 2 --out " + path);
  INFO(gen.out);
  REQUIRE(gen.status == 0);
  const auto j = inspect_json(path);
  CHECK(j["kind"] == "lora");
  CHECK(j["family"] == "sd1");
  const auto& l = j["lora"];
  CHECK(l["format"] == "kohya");
  CHECK(l["kind"] == "LoCon");
  CHECK(l["modules"]["total"] == 350);
  CHECK(l["modules"]["unet"] == 278);
  CHECK(l["modules"]["text_encoder"] == 72);
  CHECK(l["convolutions_patched"] == true);
  CHECK(l["conv3x3_modules"] == 50);
  CHECK(l["rank"]["min"] == 4);
  CHECK(l["rank"]["max"] == 8);
  CHECK(l["rank"]["most_common"] == 8);
  CHECK(l["alpha"]["min"] == 2);
  CHECK(l["alpha"]["max"] == 4);
  CHECK(l["scale"]["most_common"] == 0.5);
  CHECK(l["alpha"]["without_alpha"] == 0);
  CHECK(j["training"]["output_name"] == "skin_4");
  CHECK(j["training"]["epoch"] == "15");
  CHECK(j["training"]["clip_skip"] == "2");
  CHECK(j["training"]["network_dim"] == "8");
  CHECK(j["training"]["base_model"] == "sd_v1");
  CHECK(j["display_name"]["name"] == "skin_4");
  CHECK(j["display_name"]["source"] == "ss_output_name");
}

TEST_CASE("without ss_output_name the display name comes from the file stem only", "[e2e][inspect]") {
  using namespace skingen::engine;
  TempDir dir;
  const auto path = dir.path() / "rust_metal-000007.safetensors";
  // A LoRA for SD 2.x (to_k input 1024), no metadata: detection must not need the name.
  write_safetensors(path, {{"lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight",
                            Tensor::zeros(DType::F32, {2, 1024})},
                           {"lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight",
                            Tensor::zeros(DType::F32, {1280, 2})},
                           {"lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_k.alpha",
                            Tensor::from_values({}, {1.0f})}});
  const auto j = inspect_json(path.string());
  CHECK(j["family"] == "sd2");
  CHECK(j["display_name"]["name"] == "rust_metal");
  CHECK(j["display_name"]["epoch"] == 7);
  CHECK(j["display_name"]["source"] == "file name");
  CHECK(j["training"].is_null());
  CHECK(j["lora"]["scale"]["most_common"] == 0.5);
}

TEST_CASE("inspect and fixture fail with exit codes 1 and 2 and a one-line message", "[e2e][inspect]") {
  TempDir dir;
  const auto bad = dir.path() / "bad.safetensors";
  FILE* f = std::fopen(bad.c_str(), "wb");
  std::fputs("1234567", f);
  std::fclose(f);
  const Run r = run("inspect " + bad.string());
  CHECK(r.status == 1);
  CHECK_THAT(r.out, Catch::Contains(bad.string() + ": file is 7 bytes"));
  CHECK(run("inspect " + (dir.path() / "missing.safetensors").string()).status == 1);
  const Run u = run("fixture checkpoint --preset sd99 --out " + (dir.path() / "x.safetensors").string());
  CHECK(u.status == 2);
  CHECK_THAT(u.out, Catch::Contains("unknown checkpoint preset 'sd99'"));
  CHECK(run("fixture lora --dtype f8 --out " + (dir.path() / "x.safetensors").string()).status == 2);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "x.safetensors"));
}
