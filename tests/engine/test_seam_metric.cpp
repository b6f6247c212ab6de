// engine/seam_metric against tools/demo/seam.py's goldens (tests/data/demo/seam:
// generator textures with and without a seam, a non-square crop and a flat
// image that hits the 0.1 floor; z and ratio computed by numpy).
#include <catch2/catch.hpp>

#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/png_reader.hpp"
#include "engine/seam_metric.hpp"

using namespace skingen::engine;

TEST_CASE("seam metric matches tools/demo/seam.py", "[seam]") {
  const std::string dir = std::string(SKINGEN_TEST_DATA) + "/demo/seam/";
  std::ifstream f(dir + "expected.json");
  REQUIRE(f);
  const auto j = nlohmann::json::parse(f);
  REQUIRE(j.at("threshold").get<double>() == kSeamThreshold);
  int seams = 0;
  for (const auto& c : j.at("cases")) {
    const std::string file = c.at("file").get<std::string>();
    INFO(file);
    const SeamStats s = seam_stats(read_png(dir + file).image);
    // The goldens are rounded to 6 decimals.
    CHECK(s.x.z == Approx(c.at("z_x").get<double>()).margin(1e-6));
    CHECK(s.y.z == Approx(c.at("z_y").get<double>()).margin(1e-6));
    CHECK(s.x.ratio == Approx(c.at("ratio_x").get<double>()).margin(1e-6));
    CHECK(s.y.ratio == Approx(c.at("ratio_y").get<double>()).margin(1e-6));
    CHECK((s.x.tiles() && s.y.tiles()) == c.at("tiles_xy").get<bool>());
    seams += !c.at("tiles_xy").get<bool>();
  }
  CHECK(seams >= 3);  // the goldens do exercise the failing side
}

TEST_CASE("seam metric: a periodic pattern tiles, its shifted crop does not", "[seam]") {
  // Independent known answers: a horizontal ramp 0, 17, …, 255 is seamless
  // along y (every row step is 0) and, along x, has ordinary steps of 17 (std
  // 0, so the 0.1 floor applies) and a wrap step of 255: z = (255 − 17) / 0.1.
  const int W = 16, H = 8;
  Image8 ramp(W, H, 1);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) ramp.at(x, y)[0] = static_cast<std::uint8_t>(x * 17);  // 0 … 255
  const SeamStats s = seam_stats(ramp);
  CHECK(s.y.z == 0.0);
  CHECK(s.y.tiles());
  CHECK(s.x.mean_step == Approx(17.0));
  CHECK(s.x.seam_step == Approx(255.0));
  CHECK(s.x.z == Approx((255.0 - 17.0) / 0.1));
  CHECK_FALSE(s.x.tiles());

  Image8 tiny(1, 4, 3);
  CHECK_THROWS(seam_stats(tiny));
}
