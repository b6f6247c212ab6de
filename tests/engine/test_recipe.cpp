// The recipe stored in skingen's PNGs: JSON round trip, the A1111 infotext
// derived from it (expected text written by hand from A1111's format), and
// errors for damaged recipes.
#include <catch2/catch.hpp>

#include "engine/core/error.hpp"
#include "engine/png_reader.hpp"
#include "engine/png_writer.hpp"
#include "engine/recipe.hpp"

using namespace skingen;
using namespace skingen::engine;

namespace {

GenerationRecipe sample() {
  GenerationRecipe r;
  r.engine_version = "0.1.0";
  r.prompt = "mossy stone wall, seamless, <lora:rust:0.5>";
  r.negative = "blurry, text";
  r.model = {"sd15", "/models/sd15.safetensors", std::string(64, 'a')};
  RecipeLora flag;
  flag.file = {"skin_4-000015", "loras/skin_4-000015.safetensors", std::string(64, 'b')};
  flag.weight = 0.7;
  flag.data_sha256 = "0123456789ab" + std::string(52, 'c');
  RecipeLora tag;
  tag.file = {"rust", "loras/rust.safetensors", std::string(64, 'd')};
  tag.weight = 0.5;
  tag.data_sha256 = "fedcba987654" + std::string(52, 'e');
  tag.source = "prompt";
  r.loras = {flag, tag};
  r.sampler = "euler_a";
  r.schedule = "karras";
  r.rng = "cpu";
  r.tiling = "xy";
  r.seed = 4294967296ull + 42;
  r.width = 512;
  r.height = 768;
  r.steps = 20;
  r.cfg = 7.5;
  r.clip_skip = 2;
  r.extra = {{"strength", 0.6}};
  return r;
}

void require_equal(const GenerationRecipe& a, const GenerationRecipe& b) {
  REQUIRE(recipe_to_json(a) == recipe_to_json(b));
  REQUIRE(a.prompt == b.prompt);
  REQUIRE(a.seed == b.seed);
  REQUIRE(a.cfg == b.cfg);
  REQUIRE(a.loras.size() == b.loras.size());
  REQUIRE(a.loras[0].weight == b.loras[0].weight);
  REQUIRE(a.extra == b.extra);
}

}  // namespace

TEST_CASE("recipe JSON round trip keeps every field", "[recipe]") {
  const auto r = sample();
  const auto back = recipe_from_json(nlohmann::ordered_json::parse(recipe_to_json(r).dump()), "mem");
  require_equal(r, back);
  REQUIRE_FALSE(back.vae.has_value());
  auto with_vae = r;
  with_vae.vae = RecipeFile{"vae-ft-mse", "vae.safetensors", std::string(64, 'f')};
  REQUIRE(recipe_from_json(recipe_to_json(with_vae), "mem").vae->name == "vae-ft-mse");
  // generate without --clip-skip records 0 (the model's default); it must read back.
  auto default_skip = r;
  default_skip.clip_skip = 0;
  REQUIRE(recipe_from_json(recipe_to_json(default_skip), "mem").clip_skip == 0);
  auto negative_skip = recipe_to_json(r);
  negative_skip["clip_skip"] = -1;
  REQUIRE_THROWS_WITH(recipe_from_json(negative_skip, "mem"), Catch::Contains("'clip_skip'"));
}

TEST_CASE("recipe infotext is A1111's format", "[recipe]") {
  const auto text = format_infotext(recipe_infotext(sample()));
  REQUIRE(text ==
          "mossy stone wall, seamless, <lora:rust:0.5> <lora:skin_4-000015:0.7>\n"
          "Negative prompt: blurry, text\n"
          "Steps: 20, Sampler: Euler a, Schedule type: Karras, CFG scale: 7.5, Seed: 4294967338, Size: 512x768, "
          "Model hash: aaaaaaaaaa, Model: sd15, Clip skip: 2, RNG: CPU, Tiling: True, "
          "Lora hashes: \"skin_4-000015: 0123456789ab, rust: fedcba987654\", Version: skingen 0.1.0");
  auto r = sample();
  r.loras.clear();
  r.negative.clear();
  r.sampler = "dpmpp_2m";
  r.schedule = "normal";
  r.rng = "philox";
  r.tiling = "x";
  r.clip_skip = 1;
  r.cfg = 7;
  REQUIRE(format_infotext(recipe_infotext(r)) ==
          "mossy stone wall, seamless, <lora:rust:0.5>\n"
          "Steps: 20, Sampler: DPM++ 2M, Schedule type: Uniform, CFG scale: 7, Seed: 4294967338, Size: 512x768, "
          "Model hash: aaaaaaaaaa, Model: sd15, Tiling: x, Version: skingen 0.1.0");
}

TEST_CASE("a PNG carries the recipe and the A1111 parameters", "[recipe]") {
  const auto r = sample();
  Image8 img(16, 16, 3);
  const auto png = encode_png(img, recipe_png_texts(r));
  const auto meta = read_png_metadata_bytes(png, "gen.png");
  const auto back = recipe_from_png_texts(meta.texts, "gen.png");
  REQUIRE(back.has_value());
  require_equal(r, *back);
  const auto info = parse_infotext(find_png_text(meta.texts, "parameters")->text);
  REQUIRE(info.negative == "blurry, text");
  REQUIRE(*info.find("Seed") == "4294967338");
  REQUIRE(*info.find("Lora hashes") == "skin_4-000015: 0123456789ab, rust: fedcba987654");
  // Non-ASCII prompts stay in plain tEXt chunks: the JSON escapes them.
  auto uni = r;
  uni.prompt = "石の壁";
  const auto texts = recipe_png_texts(uni);
  REQUIRE(texts[1].text.find("\\u77f3") != std::string::npos);
  REQUIRE(recipe_from_png_texts(read_png_metadata_bytes(encode_png(img, texts), "u.png").texts, "u.png")->prompt ==
          "石の壁");
  REQUIRE_FALSE(recipe_from_png_texts({{"parameters", "x"}}, "a1111.png").has_value());
}

TEST_CASE("damaged recipes are FormatErrors naming the file and the field", "[recipe]") {
  auto j = recipe_to_json(sample());
  j.erase("seed");
  REQUIRE_THROWS_WITH(recipe_from_json(j, "ref.png"), Catch::Contains("ref.png") && Catch::Contains("'seed'"));
  j = recipe_to_json(sample());
  j["loras"][1]["weight"] = "heavy";
  REQUIRE_THROWS_WITH(recipe_from_json(j, "ref.png"), Catch::Contains("loras[1].weight"));
  j = recipe_to_json(sample());
  j["skingen_recipe"] = kRecipeFormat + 1;
  REQUIRE_THROWS_WITH(recipe_from_json(j, "ref.png"), Catch::Contains("newer"));
  j = recipe_to_json(sample());
  j["width"] = 0;
  REQUIRE_THROWS_WITH(recipe_from_json(j, "ref.png"), Catch::Contains("'width'"));
  REQUIRE_THROWS_WITH(recipe_from_png_texts({{"skingen", "{not json"}}, "ref.png"), Catch::Contains("not valid JSON"));
  auto bad = sample();
  bad.prompt = "\xff\xfe";
  REQUIRE_THROWS_WITH(recipe_png_texts(bad), Catch::Contains("'prompt' is not valid UTF-8"));
}

TEST_CASE("a stream batch's recipe records the batch seed, size and position", "[recipe][batch_seeds]") {
  auto r = sample();
  // Increment recipes carry none of the batch fields (they read back as increment, 1, 0).
  const auto inc = recipe_to_json(r);
  CHECK_FALSE(inc.contains("batch_seeds"));
  CHECK(recipe_from_json(inc, "mem").batch_seeds == "increment");
  r.batch_seeds = "stream";
  r.batch_size = 4;
  r.batch_index = 2;
  const auto j = recipe_to_json(r);
  CHECK(j["batch_seeds"] == "stream");
  const auto back = recipe_from_json(nlohmann::ordered_json::parse(j.dump()), "mem");
  CHECK(back.batch_seeds == "stream");
  CHECK(back.batch_size == 4);
  CHECK(back.batch_index == 2);
  CHECK(back.seed == r.seed);
  // A1111's Batch size / Batch pos say which image of the batch this is.
  CHECK_THAT(format_infotext(recipe_infotext(r)),
             Catch::Contains("Seed: 4294967338, Size: 512x768, Model hash: aaaaaaaaaa, Model: sd15, Batch size: 4, "
                             "Batch pos: 2, Batch seeds: stream, Clip skip: 2"));
  auto bad = j;
  bad["batch_index"] = 4;
  CHECK_THROWS_WITH(recipe_from_json(bad, "ref.png"), Catch::Contains("ref.png") && Catch::Contains("'batch_index'"));
  bad = j;
  bad["batch_seeds"] = "comfy";
  CHECK_THROWS_WITH(recipe_from_json(bad, "ref.png"), Catch::Contains("'batch_seeds'"));
  bad = j;
  bad.erase("batch_size");
  CHECK_THROWS_WITH(recipe_from_json(bad, "ref.png"), Catch::Contains("'batch_size'"));
}
