// Grid and repeat layouts checked pixel by pixel against the coordinates
// computed by hand from the layout rule (gap, cell, gap, cell, …, gap).
#include <catch2/catch.hpp>

#include <vector>

#include "engine/image_grid.hpp"

using skingen::engine::Image8;

namespace {

// Every pixel encodes its own position and the cell's id, so a misplaced
// copy cannot go unnoticed.
Image8 coded(int w, int h, int id) {
  Image8 im(w, h, 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      auto* p = im.at(x, y);
      p[0] = static_cast<std::uint8_t>(x);
      p[1] = static_cast<std::uint8_t>(y);
      p[2] = static_cast<std::uint8_t>(id);
    }
  return im;
}

}  // namespace

TEST_CASE("repeat_image tiles the image nx by ny") {
  const Image8 a = coded(5, 3, 9);
  const Image8 r = skingen::engine::repeat_image(a, 3, 2);
  REQUIRE(r.width == 15);
  REQUIRE(r.height == 6);
  for (int y = 0; y < r.height; ++y)
    for (int x = 0; x < r.width; ++x) {
      const auto* p = r.at(x, y);
      CHECK(p[0] == x % 5);
      CHECK(p[1] == y % 3);
      CHECK(p[2] == 9);
    }
  CHECK_THROWS(skingen::engine::repeat_image(a, 0, 1));
}

TEST_CASE("image_grid places cells row by row with gaps and background") {
  std::vector<Image8> cells;
  for (int k = 0; k < 5; ++k) cells.push_back(coded(4, 2, 100 + k));
  const int gap = 3;
  const Image8 g = skingen::engine::image_grid(cells, 2, gap, 7);
  // 2 columns, 3 rows: width 3+4+3+4+3, height 3+2+3+2+3+2+3.
  REQUIRE(g.width == 17);
  REQUIRE(g.height == 18);
  int cell_pixels = 0;
  for (int y = 0; y < g.height; ++y)
    for (int x = 0; x < g.width; ++x) {
      const int cx = (x - gap) / (4 + gap), ox = (x - gap) % (4 + gap);
      const int cy = (y - gap) / (2 + gap), oy = (y - gap) % (2 + gap);
      const int k = cy * 2 + cx;
      const bool inside = x >= gap && y >= gap && ox < 4 && oy < 2 && k < 5;
      const auto* p = g.at(x, y);
      if (inside) {
        ++cell_pixels;
        CHECK(p[0] == ox);
        CHECK(p[1] == oy);
        CHECK(p[2] == 100 + k);
      } else {
        CHECK((p[0] == 7 && p[1] == 7 && p[2] == 7));
      }
    }
  CHECK(cell_pixels == 5 * 4 * 2);
}

TEST_CASE("image_grid rejects cells of different sizes") {
  std::vector<Image8> cells{coded(4, 2, 0), coded(4, 3, 1)};
  CHECK_THROWS_WITH(skingen::engine::image_grid(cells, 2, 1, 0), Catch::Contains("cell 1 is 4x3"));
}
