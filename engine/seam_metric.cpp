#include "engine/seam_metric.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/core/error.hpp"

namespace skingen::engine {
namespace {

// tools/demo/seam.py STD_FLOOR and DELTA.
constexpr double kStdFloor = 0.1;
constexpr double kRatioDelta = 0.5;

SeamAxis axis_from_steps(const std::vector<double>& d) {
  const std::size_t n = d.size() - 1;  // ordinary pairs; d.back() is the wrap pair
  double mean = 0;
  for (std::size_t j = 0; j < n; ++j) mean += d[j];
  mean /= static_cast<double>(n);
  double var = 0;
  for (std::size_t j = 0; j < n; ++j) var += (d[j] - mean) * (d[j] - mean);
  const double sd = std::sqrt(var / static_cast<double>(n));
  SeamAxis a;
  a.seam_step = d.back();
  a.mean_step = mean;
  a.std_step = sd;
  a.z = (a.seam_step - mean) / std::max(sd, kStdFloor);
  a.ratio = (a.seam_step + kRatioDelta) / (mean + kRatioDelta);
  return a;
}

}  // namespace

SeamStats seam_stats(const Image8& img) {
  if (img.width < 2 || img.height < 2 || img.channels < 1 || img.pixels.size() != img.pixel_count() * img.channels)
    throw FormatError("seam statistics need an image of at least 2x2 pixels, got " + std::to_string(img.width) + "x" +
                      std::to_string(img.height));
  const int W = img.width, H = img.height, C = img.channels;
  std::vector<double> dx(static_cast<std::size_t>(W), 0.0), dy(static_cast<std::size_t>(H), 0.0);
  for (int i = 0; i < H; ++i) {
    const std::uint8_t* row = img.at(0, i);
    const std::uint8_t* below = img.at(0, (i + 1) % H);
    double sum_y = 0;
    for (int j = 0; j < W; ++j) {
      const std::uint8_t* p = row + static_cast<std::ptrdiff_t>(j) * C;
      const std::uint8_t* right = row + static_cast<std::ptrdiff_t>((j + 1) % W) * C;
      const std::uint8_t* down = below + static_cast<std::ptrdiff_t>(j) * C;
      int sx = 0;
      for (int c = 0; c < C; ++c) {
        sx += std::abs(int(right[c]) - int(p[c]));
        sum_y += std::abs(int(down[c]) - int(p[c]));
      }
      dx[static_cast<std::size_t>(j)] += sx;
    }
    dy[static_cast<std::size_t>(i)] = sum_y / (static_cast<double>(W) * C);
  }
  for (auto& v : dx) v /= static_cast<double>(H) * C;
  return SeamStats{axis_from_steps(dx), axis_from_steps(dy)};
}

}  // namespace skingen::engine
