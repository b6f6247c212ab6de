// skingen demo end to end on a tiny random fixture and LoRA (the real demo
// model is exercised by the reference-image tests): every single image is
// written, the LoRA changes the images, and the grid holds each image
// repeated 2x2 at the layout's positions (columns: prompts; rows: without,
// with the LoRA).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "engine/png_reader.hpp"
#include "test_util/run_command.hpp"
#include "test_util/temp_dir.hpp"
#include "test_util/clip_vocab.hpp"

namespace fs = std::filesystem;

namespace {

CommandResult run_skingen(std::initializer_list<std::string> args, const TempDir& dir) {
  return run_command(SKINGEN_BINARY, args, dir.path());
}

}  // namespace

TEST_CASE("demo renders every prompt without and with the LoRA and a 2x2-repeat grid", "[e2e][demo]") {
  TempDir dir;
  const fs::path d = dir.path();
  REQUIRE(run_skingen({"fixture", "checkpoint", "--preset", "tiny", "--out", (d / "m.safetensors").string()}, dir).exit_code == 0);
  REQUIRE(run_skingen({"fixture", "lora", "--for", "tiny", "--preset", "kohya-locon", "--out",
                   (d / "skin_x-000002.safetensors").string()},
                  dir)
              .exit_code == 0);
  const auto tok = clip_vocab_gz().string();
  {
    std::ofstream spec(d / "demo.json");
    spec << R"({"settings": {"seed": 5, "steps": 1, "sampler": "euler_a", "cfg": 3, "tile": "xy", "size": "32x32", )"
         << R"("tokenizer": ")" << tok << R"("}, "lora": "skin_x-000002.safetensors", "lora_weight": 1.0, )"
         << R"("prompts": ["red scales", "grey bark"]})";
  }
  const auto r = run_skingen({"demo", "--spec", (d / "demo.json").string(), "--model", (d / "m.safetensors").string(),
                          "--out-dir", (d / "out").string()},
                         dir);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("skin_x-000002: 127/127 modules applied"));
  const fs::path singles = d / "out" / "demo";
  // In grid order: the top row without the LoRA, the bottom row with it.
  const std::vector<fs::path> files{singles / "01-red-scales.png", singles / "02-grey-bark.png",
                                    singles / "01-red-scales-skin.png", singles / "02-grey-bark-skin.png"};
  std::vector<skingen::engine::Image8> images;
  for (const auto& f : files) {
    INFO(f);
    REQUIRE(fs::exists(f));
    images.push_back(skingen::engine::read_png(f).image);
    REQUIRE(images.back().width == 32);
  }
  CHECK(images[0].pixels != images[2].pixels);
  CHECK(images[1].pixels != images[3].pixels);

  const auto grid = skingen::engine::read_png(d / "out" / "demo.png").image;
  // 4-pixel gaps, cells of 64 (32 repeated twice): 4 + 2 * (64 + 4).
  REQUIRE(grid.width == 140);
  REQUIRE(grid.height == 140);
  int mismatches = 0;
  for (int k = 0; k < 4; ++k) {
    const int x0 = 4 + (k % 2) * 68, y0 = 4 + (k / 2) * 68;
    for (int y = 0; y < 64; ++y)
      for (int x = 0; x < 64; ++x)
        for (int c = 0; c < 3; ++c)
          mismatches += grid.at(x0 + x, y0 + y)[c] != images[static_cast<std::size_t>(k)].at(x % 32, y % 32)[c];
  }
  CHECK(mismatches == 0);
  CHECK(grid.at(0, 0)[0] == 255);  // background
}

TEST_CASE("demo with a spec without prompts is a usage error naming the file", "[e2e][demo]") {
  TempDir dir;
  std::ofstream(dir.path() / "bad.json") << R"({"lora": "x.safetensors"})";
  const auto r = run_skingen({"demo", "--spec", (dir.path() / "bad.json").string(), "--model", "/nonexistent.safetensors",
                          "--out-dir", (dir.path() / "out").string()},
                         dir);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("bad.json") && Catch::Contains("prompts"));
  CHECK_FALSE(fs::exists(dir.path() / "out" / "demo.png"));
}
