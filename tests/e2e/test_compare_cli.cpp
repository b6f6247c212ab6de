// `skingen compare` and `skingen info` end to end: metrics output, threshold
// exit codes (0 within, 1 outside, 2 bad input), the heat map, and the
// parameters / recipe printed back from PNGs.
#include <catch2/catch.hpp>

#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/png_reader.hpp"
#include "engine/png_writer.hpp"
#include "engine/recipe.hpp"
#include "test_util/run_command.hpp"
#include "test_util/temp_dir.hpp"

using namespace skingen::engine;

namespace {

const std::string kBin = SKINGEN_BINARY;

// The gradient pair of tests/data/image/compare_cases.json: b = a + 10
// everywhere, so MSE = 100 and PSNR = 10 log10(255^2 / 100) = 28.1308 dB.
std::pair<Image8, Image8> gradient_pair() {
  Image8 a(18, 14, 3);
  for (int y = 0; y < 14; ++y)
    for (int x = 0; x < 18; ++x) {
      auto* p = a.at(x, y);
      p[0] = static_cast<std::uint8_t>(x * 10);
      p[1] = static_cast<std::uint8_t>(y * 12);
      p[2] = static_cast<std::uint8_t>((x + y) * 5);
    }
  Image8 b = a;
  for (auto& v : b.pixels) v = static_cast<std::uint8_t>(v + 10);
  return {a, b};
}

struct Fixture {
  TempDir dir;
  std::string a, b, same;
  Fixture() {
    const auto [ia, ib] = gradient_pair();
    a = (dir.path() / "a.png").string();
    b = (dir.path() / "b.png").string();
    same = (dir.path() / "a_copy.png").string();
    write_png(a, ia);
    write_png(b, ib);
    write_png(same, ia);
  }
  CommandResult run(std::initializer_list<std::string> args) const { return run_command(kBin, args, dir.path()); }
};

}  // namespace

TEST_CASE("compare: identical images pass with PSNR inf and SSIM 1", "[e2e][compare]") {
  Fixture f;
  const auto r = f.run({"compare", f.a, f.same, "--max-diff", "0", "--min-psnr", "100", "--min-ssim", "1"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE_THAT(r.out, Catch::Contains("max abs diff      0"));
  REQUIRE_THAT(r.out, Catch::Contains("differing pixels  0.000000 (0 of 252)"));
  REQUIRE_THAT(r.out, Catch::Contains("PSNR              inf dB"));
  REQUIRE_THAT(r.out, Catch::Contains("SSIM              1.000000"));
  REQUIRE_THAT(r.out, Catch::Contains("within thresholds"));
  const auto j = f.run({"compare", f.a, f.same, "--json"});
  REQUIRE(j.exit_code == 0);
  const auto parsed = nlohmann::json::parse(j.out);
  REQUIRE(parsed["psnr"] == "inf");
  REQUIRE(parsed["ssim"] == 1.0);
  REQUIRE(parsed["pass"] == true);
}

TEST_CASE("compare: thresholds decide the exit code", "[e2e][compare]") {
  Fixture f;
  const auto plain = f.run({"compare", f.a, f.b});
  REQUIRE(plain.exit_code == 0);  // no thresholds given
  REQUIRE_THAT(plain.out, Catch::Contains("max abs diff      10"));
  REQUIRE_THAT(plain.out, Catch::Contains("PSNR              28.13 dB"));

  const auto psnr_fail = f.run({"compare", f.a, f.b, "--min-psnr", "30"});
  INFO(psnr_fail.out << psnr_fail.err);
  REQUIRE(psnr_fail.exit_code == 1);
  REQUIRE_THAT(psnr_fail.out, Catch::Contains("NOT within thresholds"));
  REQUIRE_THAT(psnr_fail.err, Catch::Contains("not within thresholds: PSNR 28.13 dB < 30 dB"));
  REQUIRE(f.run({"compare", f.a, f.b, "--min-psnr", "28"}).exit_code == 0);
  REQUIRE(f.run({"compare", f.a, f.b, "--max-diff", "9"}).exit_code == 1);
  REQUIRE(f.run({"compare", f.a, f.b, "--max-diff", "10"}).exit_code == 0);
  // SSIM of this pair is 0.99263 (tests/data/image/compare_cases.json).
  REQUIRE(f.run({"compare", f.a, f.b, "--min-ssim", "0.999"}).exit_code == 1);
  REQUIRE(f.run({"compare", f.a, f.b, "--min-ssim", "0.99"}).exit_code == 0);
  const auto all = f.run({"compare", f.a, f.b, "--max-diff", "1", "--min-psnr", "40", "--min-ssim", "0.999", "--json"});
  REQUIRE(all.exit_code == 1);
  REQUIRE(nlohmann::json::parse(all.out)["pass"] == false);
  REQUIRE_THAT(all.err, Catch::Contains("max abs diff 10 > 1") && Catch::Contains("PSNR") && Catch::Contains("SSIM 0.99"));
}

TEST_CASE("compare: bad input exits 2 with one clear message", "[e2e][compare]") {
  Fixture f;
  write_png(f.dir.path() / "small.png", Image8(9, 9, 3));
  const auto size = f.run({"compare", f.a, (f.dir.path() / "small.png").string()});
  REQUIRE(size.exit_code == 2);
  REQUIRE_THAT(size.err, Catch::Contains("the sizes differ") && Catch::Contains("18x14") && Catch::Contains("9x9"));

  const auto missing = f.run({"compare", f.a, (f.dir.path() / "nope.png").string()});
  REQUIRE(missing.exit_code == 2);
  REQUIRE_THAT(missing.err, Catch::Contains("nope.png"));

  std::ifstream in(f.b, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  bytes[bytes.size() - 20] ^= 0x55;  // inside the last IDAT: its CRC no longer matches
  std::ofstream(f.dir.path() / "corrupt.png", std::ios::binary) << bytes;
  const auto corrupt = f.run({"compare", f.a, (f.dir.path() / "corrupt.png").string()});
  REQUIRE(corrupt.exit_code == 2);
  REQUIRE_THAT(corrupt.err, Catch::Contains("corrupt.png: corrupt PNG: CRC mismatch"));
  REQUIRE(std::count(corrupt.err.begin(), corrupt.err.end(), '\n') == 1);  // one line

  std::ofstream(f.dir.path() / "text.png") << "not a png";
  REQUIRE(f.run({"compare", (f.dir.path() / "text.png").string(), f.a}).exit_code == 2);
  REQUIRE(f.run({"compare", f.a, f.b, "--max-diff", "300"}).exit_code == 2);
  REQUIRE(f.run({"compare", f.a, f.b, "--min-psnr", "nan"}).exit_code == 2);
  REQUIRE(f.run({"compare", f.a}).exit_code == 2);
  const auto tiny = f.run({"compare", (f.dir.path() / "small.png").string(), (f.dir.path() / "small.png").string(),
                           "--min-ssim", "0.5"});
  REQUIRE(tiny.exit_code == 2);
  REQUIRE_THAT(tiny.err, Catch::Contains("11x11"));
}

TEST_CASE("compare --diff writes a heat map of the differences", "[e2e][compare]") {
  Fixture f;
  auto [ia, ib] = gradient_pair();
  ib = ia;
  ib.at(3, 4)[1] ^= 1;
  write_png(f.b, ib);
  const auto out = (f.dir.path() / "diff.png").string();
  const auto r = f.run({"compare", f.a, f.b, "--diff", out, "--max-diff", "0"});
  REQUIRE(r.exit_code == 1);  // the map is written even when the check fails
  const auto map = read_png(out).image;
  REQUIRE(map.width == 18);
  REQUIRE(map.height == 14);
  REQUIRE(map.at(3, 4)[0] == 255);  // the one differing pixel: at full strength (white)
  REQUIRE(map.at(3, 4)[2] == 255);
  for (int y = 0; y < 14; ++y)
    for (int x = 0; x < 18; ++x)
      if (x != 3 || y != 4) REQUIRE((map.at(x, y)[0] == map.at(x, y)[1] && map.at(x, y)[1] == map.at(x, y)[2]));
  REQUIRE(f.run({"compare", f.a, f.b, "--diff", (f.dir.path() / "no" / "d.png").string()}).exit_code == 2);
}

TEST_CASE("info prints the parameters back, --json the recipe", "[e2e][info]") {
  TempDir dir;
  GenerationRecipe r;
  r.prompt = "weathered copper, seamless";
  r.negative = "text";
  r.model = {"sd15", "sd15.safetensors", std::string(64, '1')};
  r.seed = 77;
  r.tiling = "xy";
  const auto png = (dir.path() / "gen.png").string();
  write_png(png, Image8(8, 8, 3), recipe_png_texts(r));

  const auto info = run_command(kBin, {"info", png}, dir.path());
  REQUIRE(info.exit_code == 0);
  REQUIRE(info.out == format_infotext(recipe_infotext(r)) + "\n");
  REQUIRE_THAT(info.out, Catch::StartsWith("weathered copper, seamless\nNegative prompt: text\nSteps: 20, Sampler: Euler,"));

  const auto json = run_command(kBin, {"info", png, "--json"}, dir.path());
  REQUIRE(json.exit_code == 0);
  const auto back = recipe_from_json(nlohmann::ordered_json::parse(json.out), "stdout");
  REQUIRE(back.seed == 77);
  REQUIRE(recipe_to_json(back) == recipe_to_json(r));

  // A PIL-written A1111-style file: parameters yes, recipe no.
  const std::string pil = std::string(SKINGEN_TEST_DATA) + "/image/pil_rgb8_texts.png";
  const auto a1111 = run_command(kBin, {"info", pil}, dir.path());
  REQUIRE(a1111.exit_code == 0);
  REQUIRE_THAT(a1111.out, Catch::Contains("Lora hashes: \"skin_4-000015: 0123456789ab\""));
  const auto no_recipe = run_command(kBin, {"info", pil, "--json"}, dir.path());
  REQUIRE(no_recipe.exit_code == 1);
  REQUIRE_THAT(no_recipe.err, Catch::Contains("no skingen recipe"));
  write_png(dir.path() / "bare.png", Image8(4, 4, 3));
  const auto bare = run_command(kBin, {"info", (dir.path() / "bare.png").string()}, dir.path());
  REQUIRE(bare.exit_code == 1);
  REQUIRE_THAT(bare.err, Catch::Contains("no 'parameters' text chunk"));
  REQUIRE(run_command(kBin, {"info", (dir.path() / "missing.png").string()}, dir.path()).exit_code == 1);
}
