// A1111 prompt syntax: emphasis parsing, 75-token chunks with weights and
// <lora:…> tags, against tests/data/clip/a1111_prompts.json, written by the
// Python port of A1111's functions in tests/reference/a1111_prompt_ref.py.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/clip_tokenizer.hpp"
#include "engine/core/error.hpp"
#include "engine/prompt_attention.hpp"
#include "engine/prompt_chunks.hpp"
#include "engine/prompt_extra_networks.hpp"
#include "test_util/temp_dir.hpp"
#include "test_util/clip_vocab.hpp"

using namespace skingen;
using namespace skingen::engine;
namespace fs = std::filesystem;

namespace {

nlohmann::json cases() {
  std::ifstream in(fs::path(SKINGEN_TEST_DATA) / "clip" / "a1111_prompts.json");
  REQUIRE(in);
  return nlohmann::json::parse(in);
}

}  // namespace

TEST_CASE("parse_prompt_attention matches A1111", "[prompt]") {
  const auto doc = cases();
  const auto& all = doc["attention"];
  REQUIRE(all.size() > 400);
  for (const auto& c : all) {
    const std::string prompt = c["prompt"];
    INFO("prompt: " << prompt);
    if (c.contains("error")) {
      CHECK_THROWS_AS(parse_prompt_attention(prompt), UsageError);
      continue;
    }
    const auto got = parse_prompt_attention(prompt);
    const auto& want = c["pieces"];
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      CHECK(got[i].text == want[i][0].get<std::string>());
      CHECK(got[i].weight == want[i][1].get<double>());  // bit-exact: same operations in the same order
    }
  }
}

TEST_CASE("A1111 chunks: ids and weights of every 77-token chunk", "[prompt]") {
  auto tok = ClipTokenizer::from_merges_file(clip_vocab_gz());
  const auto doc = cases();
  const auto& all = doc["chunks"];
  REQUIRE(all.size() > 50);
  std::size_t multi = 0;
  for (const auto& c : all) {
    const std::string prompt = c["prompt"];
    INFO("prompt: " << prompt << " (backtrack " << c["backtrack"] << ", pad " << c["pad"] << ")");
    tok.set_pad_id(c["pad"].get<std::int32_t>());
    ChunkOptions opt;
    opt.comma_padding_backtrack = c["backtrack"];
    opt.emphasis = c["emphasis"];
    const auto got = tokenize_prompt_chunks(tok, prompt, opt);
    const auto& want = c["chunks"];
    REQUIRE(got.size() == want.size());
    multi += got.size() > 1;
    for (std::size_t k = 0; k < got.size(); ++k) {
      INFO("chunk " << k);
      CHECK(got[k].ids == want[k]["ids"].get<std::vector<std::int32_t>>());
      CHECK(got[k].weights == want[k]["weights"].get<std::vector<double>>());
    }
  }
  CHECK(multi > 20);
  tok.set_pad_id(tok.eos_id());
  ChunkOptions bad;
  bad.comma_padding_backtrack = 75;
  CHECK_THROWS_AS(tokenize_prompt_chunks(tok, "a", bad), UsageError);
}

TEST_CASE("<lora:…> tags are extracted as A1111 reads them", "[prompt]") {
  const auto doc = cases();
  const auto& all = doc["loras"];
  REQUIRE(all.size() > 20);
  for (const auto& c : all) {
    const std::string prompt = c["prompt"];
    INFO("prompt: " << prompt);
    if (c.contains("error")) {
      try {
        extract_extra_networks(prompt);
        FAIL("no error");
      } catch (const UsageError& e) {
        CHECK_THAT(std::string(e.what()), Catch::Contains("<"));  // names the tag
      }
      continue;
    }
    const auto got = extract_extra_networks(prompt);
    CHECK(got.text == c["text"].get<std::string>());
    REQUIRE(got.loras.size() == c["loras"].size());
    for (std::size_t i = 0; i < got.loras.size(); ++i) {
      const auto& w = c["loras"][i];
      CHECK(got.loras[i].tag == w["tag"].get<std::string>());
      CHECK(got.loras[i].name == w["name"].get<std::string>());
      CHECK(got.loras[i].te_multiplier == w["te"].get<double>());
      CHECK(got.loras[i].unet_multiplier == w["unet"].get<double>());
      CHECK(got.loras[i].dyn_dim.has_value() == !w["dyn"].is_null());
      if (!w["dyn"].is_null()) CHECK(*got.loras[i].dyn_dim == w["dyn"].get<long long>());
    }
    REQUIRE(got.others.size() == c["others"].size());
    for (std::size_t i = 0; i < got.others.size(); ++i) {
      CHECK(got.others[i].tag == c["others"][i]["tag"].get<std::string>());
      CHECK(got.others[i].kind == c["others"][i]["kind"].get<std::string>());
    }
  }
}

TEST_CASE("LoRA names resolve in --lora-dir with errors naming tag and folder", "[prompt]") {
  TempDir tmp;
  const fs::path dir = tmp.path() / "loras";
  fs::create_directories(dir / "skins");
  std::ofstream(dir / "skin_4-000015.safetensors") << "x";
  std::ofstream(dir / "skins" / "scales.safetensors") << "x";
  std::ofstream(dir / "skins" / "twice.safetensors") << "x";
  fs::create_directories(dir / "other");
  std::ofstream(dir / "other" / "twice.safetensors") << "x";
  const auto tags = extract_extra_networks("<lora:skin_4-000015:0.7> <lora:scales> <lora:missing:1> <lora:twice> "
                                           "<lora:skins/scales:1> <lora:other/scales:1>");
  REQUIRE(tags.loras.size() == 6);
  CHECK(resolve_lora_file(tags.loras[0], dir) == dir / "skin_4-000015.safetensors");
  CHECK(resolve_lora_file(tags.loras[1], dir) == dir / "skins" / "scales.safetensors");
  CHECK(resolve_lora_file(tags.loras[4], dir) == dir / "skins" / "scales.safetensors");
  const auto message = [&](const LoraTag& t, const std::optional<fs::path>& d) -> std::string {
    try {
      resolve_lora_file(t, d);
    } catch (const UsageError& e) {
      return e.what();
    }
    return "no error";
  };
  CHECK_THAT(message(tags.loras[2], dir),
             Catch::Contains("<lora:missing:1>") && Catch::Contains("missing.safetensors") && Catch::Contains(dir.string()));
  CHECK_THAT(message(tags.loras[3], dir), Catch::Contains("two files named twice.safetensors"));
  CHECK_THAT(message(tags.loras[5], dir), Catch::Contains("not found"));
  CHECK_THAT(message(tags.loras[0], std::nullopt), Catch::Contains("--lora-dir"));
  CHECK_THAT(message(tags.loras[0], tmp.path() / "nope"), Catch::Contains("not a folder"));
}
