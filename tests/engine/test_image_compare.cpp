// Image metrics against tests/reference/image_metrics.py (numpy, written from
// Wang et al. 2004 with a direct 2-D window) and hand-computed values.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/image_compare.hpp"

using namespace skingen;
using namespace skingen::engine;

namespace {

Image8 from_json(const nlohmann::json& pixels, int w, int h) {
  Image8 img(w, h, 3);
  img.pixels = pixels.get<std::vector<std::uint8_t>>();
  REQUIRE(img.pixels.size() == img.pixel_count() * 3);
  return img;
}

Image8 constant(int w, int h, std::uint8_t v) {
  Image8 img(w, h, 3);
  std::fill(img.pixels.begin(), img.pixels.end(), v);
  return img;
}

}  // namespace

TEST_CASE("image metrics match the numpy reference", "[compare]") {
  std::ifstream f(std::string(SKINGEN_TEST_DATA) + "/image/compare_cases.json");
  REQUIRE(f.good());
  const auto ref = nlohmann::json::parse(f);
  REQUIRE(ref["cases"].size() == 9);
  for (const auto& c : ref["cases"]) {
    const std::string name = c["name"];
    CAPTURE(name);
    const int w = c["width"], h = c["height"];
    const auto d = compare_images(from_json(c["a"], w, h), from_json(c["b"], w, h));
    const auto& e = c["expect"];
    REQUIRE(d.width == w);
    REQUIRE(d.height == h);
    REQUIRE(d.max_abs_diff == e["max_abs_diff"].get<int>());
    REQUIRE(d.differing_pixels == e["differing_pixels"].get<std::size_t>());
    REQUIRE(d.differing_fraction == Approx(e["differing_pixels"].get<double>() / (w * h)));
    REQUIRE(d.mse == Approx(e["mse"].get<double>()).epsilon(1e-12));
    if (e["psnr"].is_null())
      REQUIRE(std::isinf(d.psnr));
    else
      REQUIRE(d.psnr == Approx(e["psnr"].get<double>()).epsilon(1e-12));
    if (e["ssim"].is_null()) {
      REQUIRE_FALSE(d.ssim.has_value());
    } else {
      REQUIRE(d.ssim.has_value());
      REQUIRE(std::abs(*d.ssim - e["ssim"].get<double>()) < 1e-12);
    }
  }
}

TEST_CASE("image metrics match hand-computed values", "[compare]") {
  // Constant images: sigma = 0, so SSIM = (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1), C1 = 2.55^2.
  const auto d = compare_images(constant(12, 12, 100), constant(12, 12, 150));
  const double c1 = 2.55 * 2.55;
  REQUIRE(*d.ssim == Approx((2 * 100.0 * 150 + c1) / (100.0 * 100 + 150.0 * 150 + c1)).epsilon(1e-12));
  REQUIRE(d.psnr == Approx(10 * std::log10(255.0 * 255.0 / 2500.0)).epsilon(1e-14));
  REQUIRE(d.max_abs_diff == 50);
  REQUIRE(d.differing_fraction == 1.0);
  // Identical: PSNR infinite, SSIM exactly 1, nothing differs.
  const auto same = compare_images(constant(20, 11, 7), constant(20, 11, 7));
  REQUIRE(std::isinf(same.psnr));
  REQUIRE(same.psnr > 0);
  REQUIRE(*same.ssim == 1.0);
  REQUIRE(same.differing_pixels == 0);
  // One channel of one pixel off by 3 in a 4x4 image: MSE = 9 / 48.
  Image8 a = constant(4, 4, 10), b = a;
  b.at(2, 1)[2] = 13;
  const auto one = compare_images(a, b);
  REQUIRE(one.mse == Approx(9.0 / 48.0));
  REQUIRE(one.differing_pixels == 1);
  REQUIRE_FALSE(one.ssim.has_value());  // smaller than the 11x11 window
  REQUIRE_THROWS_AS(compare_images(constant(4, 4, 0), constant(4, 5, 0)), FormatError);
}

TEST_CASE("the difference heat map marks exactly the differing pixels", "[compare]") {
  Image8 a = constant(6, 5, 200), b = a;
  b.at(1, 1)[0] = 199;  // difference 1
  b.at(4, 3)[1] = 100;  // difference 100, the largest
  const Image8 map = diff_heatmap(a, b);
  REQUIRE(map.channels == 3);
  const auto px = [&](int x, int y) { return std::array<int, 3>{map.at(x, y)[0], map.at(x, y)[1], map.at(x, y)[2]}; };
  REQUIRE(px(0, 0) == std::array<int, 3>{50, 50, 50});        // identical: a's luma / 4
  REQUIRE(px(4, 3) == std::array<int, 3>{255, 255, 255});     // the largest difference: white
  const auto small = px(1, 1);                                 // t = 0.25 + 0.75/100: red, visible
  REQUIRE(small[0] == std::lround(std::min(1.0, 3 * (0.25 + 0.0075)) * 255));
  REQUIRE(small[1] == 0);
  REQUIRE(diff_heatmap(a, b, 255.0 / 100).at(4, 3)[2] == 255);  // gain: d * G / 255 = 1 → white
}
