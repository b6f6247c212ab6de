#include "engine/image_compare.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

#include "engine/core/error.hpp"

namespace skingen::engine {

namespace {

void require_same_shape(const Image8& a, const Image8& b) {
  if (a.width != b.width || a.height != b.height || a.channels != b.channels)
    throw FormatError("cannot compare a " + std::to_string(a.width) + "x" + std::to_string(a.height) + "x" +
                      std::to_string(a.channels) + " image with a " + std::to_string(b.width) + "x" +
                      std::to_string(b.height) + "x" + std::to_string(b.channels) + " one");
  if (a.pixels.size() != a.pixel_count() * a.channels || b.pixels.size() != b.pixel_count() * b.channels)
    throw FormatError("image pixel buffer does not match its size");
}

double luma(const std::uint8_t* p, int channels) {
  if (channels < 3) return p[0];
  return 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
}

constexpr int kWindow = 11;
constexpr int kRadius = kWindow / 2;
constexpr double kSigma = 1.5;

std::array<double, kWindow> gaussian_window() {
  std::array<double, kWindow> g{};
  double sum = 0;
  for (int i = 0; i < kWindow; ++i) {
    const double d = i - kRadius;
    g[i] = std::exp(-d * d / (2 * kSigma * kSigma));
    sum += g[i];
  }
  for (double& v : g) v /= sum;  // the 2-D window g_i g_j then sums to 1 too
  return g;
}

}  // namespace

std::optional<double> ssim_luma(const Image8& a, const Image8& b) {
  require_same_shape(a, b);
  const int w = a.width, h = a.height;
  if (w < kWindow || h < kWindow) return std::nullopt;
  // Mathematically 1; computed, rounding (and FMA contraction) could give 1 - 1e-16.
  if (a.pixels == b.pixels) return 1.0;
  const auto g = gaussian_window();
  const double c1 = (0.01 * 255) * (0.01 * 255), c2 = (0.03 * 255) * (0.03 * 255);
  const int ow = w - 2 * kRadius, oh = h - 2 * kRadius;

  // Horizontally filtered rows of x, y, x², y², xy, kept in a ring of 11 rows;
  // each output row combines them vertically.
  constexpr int kQ = 5;
  std::vector<double> ring(static_cast<std::size_t>(kWindow) * kQ * ow);
  const auto slot = [&](int row, int q) { return ring.data() + (static_cast<std::size_t>(row % kWindow) * kQ + q) * ow; };
  std::vector<double> lx(w), ly(w);
  double total = 0;
  for (int r = 0; r < h; ++r) {
    for (int x = 0; x < w; ++x) {
      lx[x] = luma(a.at(x, r), a.channels);
      ly[x] = luma(b.at(x, r), b.channels);
    }
    double* hx = slot(r, 0); double* hy = slot(r, 1);
    double* hxx = slot(r, 2); double* hyy = slot(r, 3); double* hxy = slot(r, 4);
    for (int x = 0; x < ow; ++x) {
      double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
      for (int k = 0; k < kWindow; ++k) {
        const double vx = lx[x + k], vy = ly[x + k], gk = g[k];
        sx += gk * vx; sy += gk * vy;
        sxx += gk * vx * vx; syy += gk * vy * vy; sxy += gk * vx * vy;
      }
      hx[x] = sx; hy[x] = sy; hxx[x] = sxx; hyy[x] = syy; hxy[x] = sxy;
    }
    if (r < kWindow - 1) continue;
    const int top = r - (kWindow - 1);
    for (int x = 0; x < ow; ++x) {
      double m[kQ] = {};
      for (int k = 0; k < kWindow; ++k)
        for (int q = 0; q < kQ; ++q) m[q] += g[k] * slot(top + k, q)[x];
      const double mx = m[0], my = m[1];
      const double vx = m[2] - mx * mx, vy = m[3] - my * my, cxy = m[4] - mx * my;
      total += ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
    }
  }
  return total / (static_cast<double>(ow) * oh);
}

ImageDiff compare_images(const Image8& a, const Image8& b) {
  require_same_shape(a, b);
  ImageDiff d;
  d.width = a.width;
  d.height = a.height;
  const int c = a.channels;
  std::uint64_t sq = 0;
  for (std::size_t i = 0; i < a.pixel_count(); ++i) {
    bool differs = false;
    for (int k = 0; k < c; ++k) {
      const int diff = std::abs(int(a.pixels[i * c + k]) - int(b.pixels[i * c + k]));
      d.max_abs_diff = std::max(d.max_abs_diff, diff);
      sq += static_cast<std::uint64_t>(diff * diff);
      differs |= diff != 0;
    }
    d.differing_pixels += differs;
  }
  d.differing_fraction = a.pixel_count() ? double(d.differing_pixels) / double(a.pixel_count()) : 0.0;
  d.mse = a.pixels.empty() ? 0.0 : double(sq) / double(a.pixels.size());
  d.psnr = d.mse == 0 ? std::numeric_limits<double>::infinity() : 10.0 * std::log10(255.0 * 255.0 / d.mse);
  d.ssim = ssim_luma(a, b);
  return d;
}

Image8 diff_heatmap(const Image8& a, const Image8& b, double gain) {
  require_same_shape(a, b);
  const int c = a.channels;
  std::vector<int> dmax(a.pixel_count());
  int peak = 0;
  for (std::size_t i = 0; i < dmax.size(); ++i) {
    int m = 0;
    for (int k = 0; k < c; ++k) m = std::max(m, std::abs(int(a.pixels[i * c + k]) - int(b.pixels[i * c + k])));
    dmax[i] = m;
    peak = std::max(peak, m);
  }
  Image8 out(a.width, a.height, 3);
  const auto to_u8 = [](double v) { return static_cast<std::uint8_t>(std::lround(std::clamp(v, 0.0, 1.0) * 255.0)); };
  for (std::size_t i = 0; i < dmax.size(); ++i) {
    std::uint8_t* o = out.pixels.data() + i * 3;
    if (dmax[i] == 0) {
      const auto gray = static_cast<std::uint8_t>(std::lround(0.25 * luma(a.pixels.data() + i * c, c)));
      o[0] = o[1] = o[2] = gray;
      continue;
    }
    const double t = gain > 0 ? std::min(1.0, dmax[i] * gain / 255.0) : 0.25 + 0.75 * double(dmax[i]) / peak;
    o[0] = to_u8(3 * t);
    o[1] = to_u8(3 * t - 1);
    o[2] = to_u8(3 * t - 2);
  }
  return out;
}

}  // namespace skingen::engine
