// `skingen generate` features beyond txt2img from stored embeddings, against
// the PyTorch reference (tests/reference/make_feature_goldens.py,
// sdref/pipeline_features.py) on the tiny SD 1.x and SD 2.x checkpoints of
// tests/data/pipeline_features/: prompts through the text encoder (A1111
// emphasis, BREAK, more than 75 tokens), --clip-skip, --rng philox, --tile x
// and --tile y, --vae (and its hash in the recipe), img2img, SD 2.x
// (OpenCLIP, v-prediction, linear projections), and `batch` against
// `generate`. Each case's final latent must be within cases.json's relative
// L2 tolerance of the float64 reference and its PNG within the max abs
// difference; cases.json also says how far the same run lands with the
// feature left out, and each test checks that this is far outside the
// tolerance (the test can fail when the feature is ignored).
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "e2e/pipeline_cases.hpp"
#include "engine/image_compare.hpp"
#include "test_util/compare.hpp"
#include "test_util/temp_dir.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using pipeline_test::read_latent;
using pipeline_test::read_pixels;
using pipeline_test::run_skingen;

namespace {

fs::path features_dir() { return fs::path(SKINGEN_TEST_DATA) / "pipeline_features"; }

const json& features_json() {
  static const json j = [] {
    std::ifstream f(features_dir() / "cases.json");
    if (!f) throw std::runtime_error("cannot open " + (features_dir() / "cases.json").string());
    return json::parse(f);
  }();
  return j;
}

// A case's `skingen generate` arguments, {dir} replaced by the data folder.
std::vector<std::string> case_args(const json& c) {
  std::vector<std::string> r{"generate"};
  for (const auto& a : c.at("args")) {
    std::string s = a.get<std::string>();
    for (auto p = s.find("{dir}"); p != std::string::npos; p = s.find("{dir}")) s.replace(p, 5, features_dir().string());
    r.push_back(s);
  }
  return r;
}

std::vector<json> cases_of(const std::string& feature) {
  std::vector<json> r;
  for (const auto& c : features_json().at("cases"))
    if (c.at("feature") == feature) r.push_back(c);
  return r;
}

const json& find_case(const std::string& name) {
  for (const auto& c : features_json().at("cases"))
    if (c.at("name") == name) return c;
  throw std::runtime_error("no feature case " + name);
}

struct Outcome {
  double latent_err = 0;
  int pixel_diff = 0;
  fs::path png;
};

// Generates case `c` into `dir` and compares it with its golden.
Outcome run_and_compare(const json& c, const fs::path& dir) {
  const std::string name = c.at("name").get<std::string>();
  auto args = case_args(c);
  Outcome o;
  o.png = dir / (name + ".png");
  const auto latent = dir / (name + ".safetensors");
  args.insert(args.end(), {"--out", o.png.string(), "--save-latent", latent.string()});
  const auto r = run_skingen(args, dir);
  INFO("case " << name << "\nstderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  const auto got = read_latent(latent), want = read_latent(features_dir() / c.at("latent").get<std::string>());
  REQUIRE(got.shape() == want.shape());
  o.latent_err = relative_l2(got, want);
  const auto diff = skingen::engine::compare_images(read_pixels(o.png),
                                                    read_pixels(features_dir() / c.at("png").get<std::string>()));
  REQUIRE(diff.width > 0);
  o.pixel_diff = diff.max_abs_diff;
  return o;
}

// Runs every case of `feature`: within the tolerances, and leaving the
// feature out would have been caught (cases.json "if_ignored", from the reference).
std::vector<Outcome> check_feature(const std::string& feature, std::size_t min_cases) {
  const int pixel_tol = features_json().at("tolerances").at("png_max_abs_diff").get<int>();
  const auto cases = cases_of(feature);
  REQUIRE(cases.size() >= min_cases);
  TempDir tmp;
  std::vector<Outcome> out;
  for (const auto& c : cases) {
    const std::string name = c.at("name").get<std::string>();
    const double latent_tol = c.at("latent_rel_l2_tolerance").get<double>();  // per model, see cases.json
    const auto o = run_and_compare(c, tmp.path());
    INFO("case " << name << ": latent relative L2 " << o.latent_err << " (tolerance " << latent_tol
                 << "), PNG max abs diff " << o.pixel_diff << " (tolerance " << pixel_tol << ")");
    CHECK(o.latent_err <= latent_tol);
    CHECK(o.pixel_diff <= pixel_tol);
    std::printf("feature %s: %s latent relative L2 %.2e, PNG max abs diff %d\n", feature.c_str(), name.c_str(),
                o.latent_err, o.pixel_diff);
    REQUIRE(!c.at("if_ignored").empty());
    for (const auto& [variant, d] : c.at("if_ignored").items()) {
      INFO("without the feature (" << variant << "): latent relative L2 " << d.at("latent_rel_l2").get<double>()
                                   << ", PNG max abs diff " << d.at("png_max_abs_diff").get<int>());
      CHECK((d.at("latent_rel_l2").get<double>() >= 100 * latent_tol ||
             d.at("png_max_abs_diff").get<int>() >= 10 * pixel_tol));
    }
    out.push_back(o);
  }
  return out;
}

std::string run_out(const std::vector<std::string>& args, const fs::path& dir) {
  const auto r = run_command(SKINGEN_BINARY, args, dir);
  INFO(args.front() << ": " << r.err);
  REQUIRE(r.exit_code == 0);
  return r.out;
}

}  // namespace

TEST_CASE("generate: A1111 emphasis, BREAK and prompts over 75 tokens through the text encoder match the reference",
          "[e2e][generate][features]") {
  // One case with a 3-chunk prompt against a 1-chunk negative (separate UNet
  // passes), one with short prompts (one doubled batch).
  check_feature("prompt", 2);
}

TEST_CASE("generate --clip-skip 2 matches the reference", "[e2e][generate][features]") { check_feature("clip_skip", 1); }

TEST_CASE("generate --rng philox matches the reference", "[e2e][generate][features]") { check_feature("rng_philox", 1); }

TEST_CASE("generate --tile x and --tile y match the reference, one axis circular and the other zero-padded",
          "[e2e][generate][features]") {
  const auto cases = cases_of("tile");
  std::set<std::string> axes;
  for (const auto& c : cases)
    for (std::size_t i = 0; i + 1 < c.at("args").size(); ++i)
      if (c.at("args")[i] == "--tile") axes.insert(c.at("args")[i + 1].get<std::string>());
  CHECK(axes == std::set<std::string>{"x", "y"});
  check_feature("tile", 2);
}

TEST_CASE("generate img2img with --init-image and --strength matches the reference", "[e2e][generate][features]") {
  // σ schedules start where A1111 does, timestep spacings where diffusers does
  // (sdref/pipeline_features.py); "img2img starting one step later" in
  // cases.json shows that the start step is pinned.
  check_feature("img2img", 4);
}

TEST_CASE("generate on an SD 2.x checkpoint (OpenCLIP, v-prediction, linear projections) matches the reference",
          "[e2e][generate][features]") {
  check_feature("sd2", 3);
}

TEST_CASE("generate --vae replaces the checkpoint's VAE and the recipe records its hash", "[e2e][generate][features]") {
  check_feature("vae", 2);
  TempDir tmp;
  const auto& c = find_case("sd1-vae-euler-normal");
  const std::string sha = c.at("vae_sha256").get<std::string>();  // hashlib's, from the generator
  REQUIRE(sha.size() == 64);
  // A copy of the VAE, so that the regress check below can change it.
  const auto vae = tmp.path() / "my_vae.safetensors";
  fs::copy_file(features_dir() / "vae_alt.safetensors", vae);
  auto args = case_args(c);
  for (std::size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "--vae") args[i + 1] = vae.string();
  const auto refs = tmp.path() / "refs";
  fs::create_directories(refs);
  const auto png = refs / "v.png";
  args.insert(args.end(), {"--out", png.string()});
  const auto r = run_skingen(args, tmp.path());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(skingen::engine::compare_images(read_pixels(png), read_pixels(features_dir() / c.at("png").get<std::string>()))
            .max_abs_diff <= features_json().at("tolerances").at("png_max_abs_diff").get<int>());

  const auto recipe = json::parse(run_out({"info", png.string(), "--json"}, tmp.path()));
  INFO(recipe.dump(2));
  REQUIRE(recipe.at("vae").is_object());
  CHECK(recipe.at("vae").at("sha256") == sha);
  CHECK(recipe.at("vae").at("file") == vae.string());
  CHECK_THAT(run_out({"info", png.string()}, tmp.path()), Catch::Contains("VAE hash: " + sha.substr(0, 10)));

  // `regress` reruns the recipe with the same VAE; another file under the
  // VAE's name is a hash mismatch, not a silent pass or pixel failure.
  auto rr = run_command(SKINGEN_BINARY, {"regress", refs.string(), "--quiet", "--threads", "1"}, tmp.path());
  INFO(rr.out << rr.err);
  CHECK(rr.exit_code == 0);
  fs::copy_file(features_dir() / "sd1.safetensors", vae, fs::copy_options::overwrite_existing);
  rr = run_command(SKINGEN_BINARY, {"regress", refs.string(), "--threads", "1"}, tmp.path());
  INFO(rr.out << rr.err);
  CHECK(rr.exit_code == 1);
  CHECK_THAT(rr.out, Catch::Contains("v.png  hash-mismatch"));
}

TEST_CASE("batch: a job line gives the pixels of generate with the same settings", "[e2e][batch][features]") {
  // generate flag -> batch field (README "Batch generation"); numbers stay JSON numbers.
  static const std::map<std::string, std::string> kField = {
      {"--model", "model"},     {"--prompt", "prompt"},         {"--negative", "negative"},
      {"--seed", "seed"},       {"--steps", "steps"},           {"--cfg", "cfg"},
      {"--sampler", "sampler"}, {"--schedule", "schedule"},     {"--size", "size"},
      {"--tile", "tile"},       {"--clip-skip", "clip_skip"},   {"--rng", "rng"},
      {"--vae", "vae"},         {"--init-image", "init_image"}, {"--strength", "strength"},
      {"--prediction", "prediction"}, {"--unet-config", "unet_config"}};
  static const std::set<std::string> kNumbers = {"seed", "steps", "cfg", "clip_skip", "strength"};
  TempDir tmp;
  // Every feature a job line can carry: tiling, philox, clip skip, the VAE,
  // img2img, SD 2.x with its overrides.
  const std::vector<std::string> names = {"sd1-tile_x-euler-karras", "sd1-philox-euler_a-karras",
                                          "sd1-clip_skip_2-heun-karras", "sd1-vae-img2img-dpmpp_2m-karras",
                                          "sd2-vpred-img2img-euler_a-normal"};
  std::ofstream jobs(tmp.path() / "jobs.jsonl");
  for (std::size_t k = 0; k < names.size(); ++k) {
    const auto args = case_args(find_case(names[k]));
    json line = {{"out", "job" + std::to_string(k) + ".png"}};
    for (std::size_t i = 1; i + 1 < args.size(); i += 2) {
      const auto& field = kField.at(args[i]);
      if (kNumbers.count(field)) line[field] = json::parse(args[i + 1]);
      else line[field] = args[i + 1];
    }
    jobs << line.dump() << "\n";
  }
  jobs.close();
  const auto out_dir = tmp.path() / "out";
  const auto r = run_command(SKINGEN_BINARY,
                             {"batch", (tmp.path() / "jobs.jsonl").string(), "--out-dir", out_dir.string(), "--threads", "1"},
                             tmp.path());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  for (std::size_t k = 0; k < names.size(); ++k) {
    const auto& c = find_case(names[k]);
    const auto o = run_and_compare(c, tmp.path());
    const auto batch_png = out_dir / ("job" + std::to_string(k) + ".png");
    INFO(names[k]);
    REQUIRE(fs::exists(batch_png));
    const auto same = skingen::engine::compare_images(read_pixels(batch_png), read_pixels(o.png));
    CHECK(same.width > 0);
    CHECK(same.max_abs_diff == 0);  // same engine, same settings, same thread count: bit-identical
    CHECK(o.pixel_diff <= features_json().at("tolerances").at("png_max_abs_diff").get<int>());
  }
}
