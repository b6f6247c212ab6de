#pragma once
// Does an image tile without a seam? The wrap-around neighbour pair (last
// column next to the first, last row next to the first) is compared with the
// ordinary neighbour pairs, in 8-bit units (tools/demo/seam.py defines it and
// calibrated the threshold on seamless and seamed textures):
//   dx[j] = mean over rows and channels of |I[i, (j+1) mod W, c] − I[i, j, c]|,
//   j = 0 … W−1; j = W−1 is the wrap pair (the seam);
//   m, s = mean and population standard deviation of dx[0 … W−2];
//   z = (dx[W−1] − m) / max(s, 0.1),  ratio = (dx[W−1] + 0.5) / (m + 0.5).
// Rows likewise. An axis tiles when z ≤ kSeamThreshold. For a seamless image
// the wrap pair is one more neighbour pair and z a draw from their spread;
// across a seam the edges are unrelated and the step stands out.
#include "engine/image.hpp"

namespace skingen::engine {

// tools/demo/seam.py THRESHOLD (its `calibrate` command: every seamless
// generator texture, also blurred, stays below; most seams land far above).
constexpr double kSeamThreshold = 5.0;

struct SeamAxis {
  double z = 0;           // the criterion
  double ratio = 0;       // reported only
  double seam_step = 0;   // dx at the wrap pair
  double mean_step = 0;   // m
  double std_step = 0;    // s
  bool tiles() const { return z <= kSeamThreshold; }
};

struct SeamStats {
  SeamAxis x;  // across the left/right edge
  SeamAxis y;  // across the top/bottom edge
};

// Needs at least 2 columns and 2 rows (FormatError otherwise).
SeamStats seam_stats(const Image8& image);

}  // namespace skingen::engine
