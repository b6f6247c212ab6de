#pragma once
// Metrics between two 8-bit images of the same size, for regression tests
// against reference images (`skingen compare`, `skingen regress`).
//
//   max_abs_diff     max over every channel value of |a - b| (0..255)
//   differing        pixels where any channel differs, and their fraction
//   psnr             10 log10(255^2 / MSE), MSE over every channel value;
//                    +infinity for identical images
//   ssim             Wang, Bovik, Sheikh, Simoncelli, "Image quality
//                    assessment: from error visibility to structural
//                    similarity", IEEE TIP 13(4), 2004, eq. (13) with the
//                    Gaussian window of §III-C, on luma:
//                      Y = 0.299 R + 0.587 G + 0.114 B  (ITU-R BT.601, unrounded,
//                      range 0..255; gray images use their single channel)
//                      window 11x11, Gaussian sigma 1.5, normalised to sum 1
//                      K1 = 0.01, K2 = 0.03, L = 255, C1 = (K1 L)^2, C2 = (K2 L)^2
//                      mu = sum w x, sigma^2 = sum w x^2 - mu^2, sigma_xy = sum w x y - mu_x mu_y
//                      SSIM = (2 mu_x mu_y + C1)(2 sigma_xy + C2) /
//                             ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 + C2))
//                    averaged over every window position fully inside the
//                    image — the authors' ssim_index.m (filter2(window, img,
//                    'valid'), mean2) and scikit-image's structural_similarity
//                    with gaussian_weights=True, sigma=1.5,
//                    use_sample_covariance=False, data_range=255 (which crops
//                    the same 5-pixel border). No downsampling.
//                    Undefined for images smaller than 11x11 (nullopt).
#include <cstddef>
#include <optional>

#include "engine/image.hpp"

namespace skingen::engine {

struct ImageDiff {
  int width = 0;
  int height = 0;
  int max_abs_diff = 0;
  std::size_t differing_pixels = 0;
  double differing_fraction = 0.0;
  double mse = 0.0;
  double psnr = 0.0;  // +inf when mse == 0
  std::optional<double> ssim;
};

// a and b must have the same width, height and channel count (FormatError otherwise).
ImageDiff compare_images(const Image8& a, const Image8& b);
std::optional<double> ssim_luma(const Image8& a, const Image8& b);

// An RGB heat map of where and how much a and b differ. Identical pixels are
// a's luma at a quarter brightness (context); differing pixels are coloured
// black → red → yellow → white by t = 0.25 + 0.75 d / max_d, d = max channel
// difference, so that even a difference of 1 is plainly visible. With
// gain > 0, t = min(1, d * gain / 255) instead.
Image8 diff_heatmap(const Image8& a, const Image8& b, double gain = 0.0);

}  // namespace skingen::engine
