// `skingen generate --tile xy`:
// - on the tiny random model of tests/data/pipeline, whose images are
//   noise-like (a seam metric cannot tell tiled from untiled there: every
//   no-tile golden has z < 1.3), circular padding everywhere makes the whole
//   pipeline commute with a circular shift: shifting the initial latent by 2
//   latent pixels (the UNet's one stride-2 level keeps even shifts exact)
//   shifts the image by 2 * 2 pixels (the 2x VAE). With zero padding the
//   borders break this, and the test checks that they do;
// - on the built-in demo model, whose textures have structure, the PNG tiles
//   by the seam metric (engine/seam_metric, the rule of tools/demo/seam.py:
//   z <= 5 on both axes), and the same model, prompt and seed without
//   --tile fails that metric (measured: z 10.76 across the top/bottom edge
//   untiled, 1.87 tiled; the same with the kernels capped to AVX2).
#include <catch2/catch.hpp>

#include "e2e/pipeline_cases.hpp"
#include "engine/safetensors_writer.hpp"
#include "engine/seam_metric.hpp"
#include "test_util/temp_dir.hpp"

using namespace pipeline_test;
namespace fs = std::filesystem;
using skingen::engine::Image8;
using skingen::engine::Tensor;

namespace {

// latent [1, C, H, W] rolled by (dy, dx): out[y][x] = in[(y - dy) mod H][(x - dx) mod W] (numpy.roll).
Tensor roll_latent(const Tensor& in, int dy, int dx) {
  const auto& s = in.shape();
  const int C = static_cast<int>(s[1]), H = static_cast<int>(s[2]), W = static_cast<int>(s[3]);
  Tensor out = Tensor::f32(s);
  for (int c = 0; c < C; ++c)
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x)
        out.f32_mut()[(c * H + y) * W + x] = in.f32_data()[(c * H + (y - dy + H) % H) * W + (x - dx + W) % W];
  return out;
}

// Largest |a[y][x] - b[(y - dy) mod H][(x - dx) mod W]| over all pixels and channels.
int max_diff_rolled(const Image8& a, const Image8& b, int dy, int dx) {
  int worst = 0;
  for (int y = 0; y < a.height; ++y)
    for (int x = 0; x < a.width; ++x)
      for (int c = 0; c < a.channels; ++c) {
        const int u = a.at(x, y)[c];
        const int v = b.at((x - dx + b.width) % b.width, (y - dy + b.height) % b.height)[c];
        worst = std::max(worst, std::abs(u - v));
      }
  return worst;
}

std::vector<std::string> run_args(const std::string& latent, const std::string& tile, const fs::path& out) {
  const auto d = data_dir().string();
  return {"generate", "--model", d + "/model.safetensors", "--embeddings", d + "/embeddings.safetensors",
          "--init-latent", latent, "--seed", "5", "--steps", "4", "--cfg", "7", "--sampler", "euler",
          "--schedule", "karras", "--size", "32x32", "--tile", tile, "--out", out.string()};
}

}  // namespace

TEST_CASE("generate --tile xy: the pipeline commutes with circular shifts", "[e2e][generate][seam]") {
  TempDir tmp;
  const auto latent_path = data_dir() / "latent_32x32.safetensors";
  const Tensor latent = read_latent(latent_path);
  REQUIRE(latent.shape() == skingen::engine::Shape{1, 4, 16, 16});
  const int dy = 2, dx = 4;  // latent pixels, even: the UNet's downsampler keeps its phase
  const auto rolled_path = tmp.path() / "rolled.safetensors";
  skingen::engine::write_safetensors(rolled_path, {{"latent", roll_latent(latent, dy, dx)}});
  const int scale = 32 / 16;  // the VAE's upsampling

  int worst_tiled = -1, worst_plain = -1;
  for (const std::string tile : {"xy", "none"}) {
    const auto a = tmp.path() / (tile + "-a.png"), b = tmp.path() / (tile + "-b.png");
    for (const auto& [lat, out] : {std::pair{latent_path, a}, std::pair{rolled_path, b}}) {
      const auto r = run_skingen(run_args(lat.string(), tile, out), tmp.path());
      INFO("tile " << tile << ": " << r.err);
      REQUIRE(r.exit_code == 0);
    }
    const Image8 ia = read_pixels(a), ib = read_pixels(b);
    (tile == "xy" ? worst_tiled : worst_plain) = max_diff_rolled(ib, ia, dy * scale, dx * scale);
  }
  INFO("rolled-latent image vs rolled image: max diff " << worst_tiled << " tiled, " << worst_plain << " zero padding");
  CHECK(worst_tiled <= 1);  // fp32 sums in a different order may move a value by one step
  CHECK(worst_plain > 8);   // the check has teeth: zero padding breaks the symmetry at the borders
}

TEST_CASE("generate --tile xy: the demo model's texture tiles, and the same seed untiled fails the seam check",
          "[e2e][generate][seam]") {
  TempDir tmp;
  const auto model = std::string(SKINGEN_SOURCE_DIR) + "/models/demo/skingen-demo.safetensors";
  skingen::engine::SeamStats stats[2];
  for (const int tiled : {0, 1}) {
    const auto out = tmp.path() / (tiled ? "xy.png" : "none.png");
    const auto r = run_skingen({"generate", "--model", model, "--prompt", "tree bark, seamless texture", "--seed", "104",
                                "--sampler", "dpmpp_2m", "--schedule", "karras", "--steps", "15", "--cfg", "7",
                                "--size", "64x64", "--tile", tiled ? "xy" : "none", "--out", out.string()},
                               tmp.path());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    stats[tiled] = skingen::engine::seam_stats(read_pixels(out));
  }
  const auto& plain = stats[0];
  const auto& tiled = stats[1];
  INFO("seam z tiled: x " << tiled.x.z << ", y " << tiled.y.z << "; untiled: x " << plain.x.z << ", y " << plain.y.z);
  CHECK(tiled.x.tiles());
  CHECK(tiled.y.tiles());
  CHECK_FALSE((plain.x.tiles() && plain.y.tiles()));  // the check has teeth on this seed: it sees the seam
}
