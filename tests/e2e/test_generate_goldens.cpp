// `skingen generate` against the PyTorch txt2img reference
// (tests/reference/make_pipeline_goldens.py, sdref/pipeline.py): every sampler
// x (normal, karras) x (no LoRA, LoRA 0.7) x (tiling none, xy), and every sampler
// x (exponential, leading, linspace, trailing), on a tiny SD 1.x
// checkpoint, from stored initial latents and embeddings. The final latent
// must be within cases.json's relative L2 tolerance of the float64 reference,
// and the PNG's pixels within its max abs difference (identical 8-bit values,
// or 1 step where fp32 rounding lands on the other side of a boundary).
#include <catch2/catch.hpp>

#include <cstdio>
#include <set>

#include "e2e/pipeline_cases.hpp"
#include "engine/image_compare.hpp"
#include "engine/sampling_plan.hpp"
#include "test_util/compare.hpp"
#include "test_util/temp_dir.hpp"

using namespace pipeline_test;

TEST_CASE("generate reproduces the PyTorch txt2img goldens", "[e2e][generate]") {
  const auto cases = cases_json();
  const double latent_tol = cases.at("tolerances").at("latent_rel_l2").get<double>();
  const int pixel_tol = cases.at("tolerances").at("png_max_abs_diff").get<int>();
  TempDir tmp;
  double worst_latent = 0;
  int worst_pixel = 0, count = 0;
  std::size_t differing = 0, values = 0;
  for (const auto& c : cases.at("cases")) {
    const std::string name = c.at("name").get<std::string>();
    auto args = case_args(c);
    const auto png = tmp.path() / (name + ".png"), latent = tmp.path() / (name + ".safetensors");
    args.insert(args.end(), {"--out", png.string(), "--save-latent", latent.string()});
    const auto r = run_skingen(args, tmp.path());
    INFO("case " << name << "\nstderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    const auto got = read_latent(latent), want = read_latent(data_dir() / c.at("latent").get<std::string>());
    REQUIRE(got.shape() == want.shape());
    const double err = relative_l2(got, want);
    const auto diff = skingen::engine::compare_images(read_pixels(png), read_pixels(data_dir() / c.at("png").get<std::string>()));
    INFO("latent relative L2 " << err << " (tolerance " << latent_tol << "), PNG max abs diff " << diff.max_abs_diff
                               << " (tolerance " << pixel_tol << "), " << diff.differing_pixels << " pixels differ");
    CHECK(err <= latent_tol);
    CHECK(diff.max_abs_diff <= pixel_tol);
    worst_latent = std::max(worst_latent, err);
    worst_pixel = std::max(worst_pixel, diff.max_abs_diff);
    differing += diff.differing_pixels;
    values += static_cast<std::size_t>(diff.width) * diff.height;
    ++count;
  }
  CHECK(count >= 77);
  std::printf("pipeline goldens: %d cases, worst latent relative L2 %.2e, worst PNG difference %d, %zu of %zu pixels "
              "differ\n",
              count, worst_latent, worst_pixel, differing, values);
}

TEST_CASE("the pipeline goldens cover every sampler x schedule", "[e2e][generate]") {
  // README's claim, kept true: every --sampler with every --schedule the CLI accepts.
  const std::vector<std::string> samplers = {"euler", "euler_a", "heun", "dpmpp_2m", "ddim", "lcm"};
  const std::vector<std::string> schedules = {"normal", "karras", "exponential", "leading", "linspace", "trailing"};
  std::set<std::pair<std::string, std::string>> covered;
  const auto cases = cases_json();
  for (const auto& c : cases.at("cases")) {
    std::string sampler, schedule;
    const auto& a = c.at("args");
    for (std::size_t i = 0; i + 1 < a.size(); ++i) {
      if (a[i] == "--sampler") sampler = a[i + 1].get<std::string>();
      if (a[i] == "--schedule") schedule = a[i + 1].get<std::string>();
    }
    covered.insert({sampler, schedule});
  }
  for (const auto& sampler : samplers) {
    REQUIRE(skingen::engine::parse_sampler(sampler));
    for (const auto& schedule : schedules) {
      REQUIRE(skingen::engine::parse_schedule(schedule));
      INFO(sampler << " x " << schedule);
      CHECK(covered.count({sampler, schedule}) == 1);
    }
  }
}
