// `--batch-seeds stream` end to end on the tiny model of tests/data/pipeline:
// a stream batch against the PyTorch pipeline reference (Euler a, so the step
// noise counts too), image i against a run started from row i of torch's
// whole-batch draw, the difference from increment mode, the recipe that
// regress reruns, and the one-line errors. Goldens:
// tests/reference/batch_seeds_reference.py.
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>

#include "e2e/pipeline_cases.hpp"
#include "engine/png_reader.hpp"
#include "engine/png_writer.hpp"
#include "engine/recipe.hpp"
#include "engine/safetensors_writer.hpp"
#include "test_util/compare.hpp"
#include "test_util/temp_dir.hpp"

using namespace pipeline_test;
namespace fs = std::filesystem;
using skingen::engine::Shape;
using skingen::engine::Tensor;

namespace {

fs::path golden_dir() { return fs::path(SKINGEN_TEST_DATA) / "batch_seeds"; }

// Generate arguments on the pipeline model, 32x32 (latent [4, 16, 16]), from stored embeddings.
std::vector<std::string> tiny_args(const std::string& sampler, const std::string& seed) {
  const auto d = data_dir().string();
  return {"generate", "--model", d + "/model.safetensors", "--embeddings", d + "/embeddings.safetensors",
          "--steps", "4", "--cfg", "7", "--sampler", sampler, "--schedule", "karras", "--size", "32x32",
          "--seed", seed};
}

std::vector<std::string> plus(std::vector<std::string> a, std::initializer_list<std::string> more) {
  a.insert(a.end(), more);
  return a;
}

std::size_t bit_mismatches(const float* a, const float* b, std::size_t n) {
  std::size_t bad = 0;
  for (std::size_t i = 0; i < n; ++i) bad += std::memcmp(a + i, b + i, sizeof(float)) != 0;
  return bad;
}

int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

}  // namespace

TEST_CASE("batch seeds: a stream batch with Euler a matches the PyTorch reference", "[e2e][batch_seeds]") {
  TempDir tmp;
  const auto golden = skingen::engine::SafetensorsFile::open(golden_dir() / "euler_a_stream_b3.safetensors");
  std::vector<std::string> args{"generate"};
  for (const auto& a : nlohmann::json::parse(golden.metadata().at("args"))) {
    std::string s = a.get<std::string>();
    if (const auto p = s.find("{pipeline}"); p != std::string::npos) s.replace(p, 10, data_dir().string());
    args.push_back(s);
  }
  const auto latent = tmp.path() / "latent.safetensors";
  const auto r = run_skingen(plus(args, {"--out", (tmp.path() / "s.png").string(), "--save-latent", latent.string()}),
                             tmp.path());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const Tensor got = read_latent(latent), want = golden.read_f32(*golden.find("latent"));
  REQUIRE(got.shape() == Shape{3, 4, 16, 16});
  REQUIRE(want.shape() == got.shape());
  const double err = relative_l2(got, want);
  INFO("final latent relative L2 " << err);
  CHECK(err <= 1e-4);
  for (int i = 0; i < 3; ++i) CHECK(fs::exists(tmp.path() / ("s-" + std::to_string(i) + ".png")));
}

TEST_CASE("batch seeds: image i of a stream batch starts from row i of torch.randn([N,4,h,w])", "[e2e][batch_seeds]") {
  TempDir tmp;
  const auto noise = skingen::engine::SafetensorsFile::open(golden_dir() / "noise.safetensors");
  const Tensor initial = noise.read_f32(*noise.find("31/3x4x16x16/initial"));
  const std::size_t per = 4 * 16 * 16;

  // Euler adds no noise after the start, so the initial noise alone decides each image.
  const auto stream_latent = tmp.path() / "stream.safetensors", inc_latent = tmp.path() / "inc.safetensors";
  auto r = run_skingen(plus(tiny_args("euler", "31"), {"--batch", "3", "--batch-seeds", "stream", "--out",
                                                       (tmp.path() / "x-{seed}.png").string(), "--save-latent",
                                                       stream_latent.string()}),
                       tmp.path());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  r = run_skingen(plus(tiny_args("euler", "31"),
                       {"--batch", "3", "--out", (tmp.path() / "inc.png").string(), "--save-latent", inc_latent.string()}),
                  tmp.path());
  REQUIRE(r.exit_code == 0);
  const Tensor stream = read_latent(stream_latent), inc = read_latent(inc_latent);
  REQUIRE(stream.shape() == Shape{3, 4, 16, 16});

  for (int i = 0; i < 3; ++i) {
    INFO("image " << i);
    // The same sampler run from row i of the golden draw, given as --init-latent.
    Tensor row = Tensor::f32({1, 4, 16, 16});
    std::memcpy(row.f32_mut(), initial.f32_data() + i * per, per * sizeof(float));
    const auto row_file = tmp.path() / ("row" + std::to_string(i) + ".safetensors");
    skingen::engine::write_safetensors(row_file, {{"latent", row}});
    const auto one_latent = tmp.path() / ("one" + std::to_string(i) + ".safetensors");
    r = run_skingen(plus(tiny_args("euler", "999"), {"--init-latent", row_file.string(), "--out",
                                                     (tmp.path() / "one.png").string(), "--save-latent",
                                                     one_latent.string()}),
                    tmp.path());
    REQUIRE(r.exit_code == 0);
    const Tensor one = read_latent(one_latent);
    // Bit for bit: the UNet runs image by image whatever the batch.
    CHECK(bit_mismatches(stream.f32_data() + i * per, one.f32_data(), per) == 0);
    // Increment mode: image 0 is the same (64·16 values per image are whole blocks
    // of torch's 16-wide Box–Muller), images 1 and 2 come from seeds 32 and 33.
    if (i == 0) CHECK(bit_mismatches(stream.f32_data(), inc.f32_data(), per) == 0);
    else CHECK(bit_mismatches(stream.f32_data() + i * per, inc.f32_data() + i * per, per) > per / 2);

    // {seed} alone cannot tell the images of a stream batch apart: "-{i}" is added.
    const auto png = tmp.path() / ("x-31-" + std::to_string(i) + ".png");
    REQUIRE(fs::exists(png));
    const auto meta = skingen::engine::read_png(png).metadata;
    const auto recipe = skingen::engine::recipe_from_png_texts(meta.texts, png.string());
    REQUIRE(recipe);
    CHECK(recipe->seed == 31);
    CHECK(recipe->batch_seeds == "stream");
    CHECK(recipe->batch_size == 3);
    CHECK(recipe->batch_index == i);
    CHECK_THAT(skingen::engine::find_png_text(meta.texts, "parameters")->text,
               Catch::Contains("Seed: 31, Size: 32x32") &&
                   Catch::Contains("Batch size: 3, Batch pos: " + std::to_string(i) + ", Batch seeds: stream"));
  }
}

TEST_CASE("batch seeds: regress reruns each image of a stream batch alone, Euler a included", "[e2e][batch_seeds]") {
  TempDir tmp;
  const auto refs = tmp.path() / "refs";
  fs::create_directories(refs);
  auto r = run_skingen(plus(tiny_args("euler_a", "12"),
                            {"--batch", "3", "--batch-seeds", "stream", "--out", (refs / "b-{i}.png").string()}),
                       tmp.path());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  r = run_skingen({"regress", refs.string(), "--max-diff", "0"}, tmp.path());
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("3 case(s): 3 passed, 0 failed"));
  // A recipe that claims another position in the batch is another image.
  const auto png = refs / "b-1.png";
  auto decoded = skingen::engine::read_png(png);
  auto recipe = *skingen::engine::recipe_from_png_texts(decoded.metadata.texts, png.string());
  recipe.batch_index = 2;
  skingen::engine::write_png(png, decoded.image, skingen::engine::recipe_png_texts(recipe));
  r = run_skingen({"regress", refs.string(), "--max-diff", "0"}, tmp.path());
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("3 case(s): 2 passed, 1 failed"));
}

TEST_CASE("batch seeds: batch JSON and eval noise take the mode too", "[e2e][batch_seeds]") {
  TempDir tmp;
  const auto d = data_dir().string();
  const auto jobs = tmp.path() / "jobs.jsonl";
  std::ofstream(jobs) << R"({"model": ")" << d << R"(/model.safetensors", "embeddings": ")" << d
                      << R"(/embeddings.safetensors", "steps": 1, "size": "32x32", "seed": 31, "batch": 2, )"
                      << R"("batch_seeds": "stream", "out": "j-{i}.png"})" << "\n";
  auto r = run_skingen({"batch", jobs.string(), "--out-dir", tmp.path().string()}, tmp.path());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto png = tmp.path() / "j-1.png";
  const auto recipe = skingen::engine::recipe_from_png_texts(skingen::engine::read_png(png).metadata.texts, "j-1.png");
  REQUIRE(recipe);
  CHECK(recipe->batch_seeds == "stream");
  CHECK(recipe->batch_index == 1);

  // eval noise: the whole shape as one torch.randn; increment draws image i from seed + i.
  const auto golden = skingen::engine::SafetensorsFile::open(golden_dir() / "noise.safetensors");
  const Tensor want = golden.read_f32(*golden.find("4294967301/3x4x3x5/initial"));
  for (const std::string mode : {"stream", "increment"}) {
    const auto out = tmp.path() / (mode + ".safetensors");
    r = run_command(SKINGEN_BINARY,
                    {"eval", "noise", "--seed", "4294967301", "--batch-seeds", mode, "--shape", "3,4,3,5", "--output",
                     out.string()},
                    tmp.path());
    INFO(mode << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    const auto f = skingen::engine::SafetensorsFile::open(out);
    const Tensor got = f.read_f32(*f.find("noise"));
    REQUIRE(got.shape() == want.shape());
    if (mode == "stream") CHECK(bit_mismatches(got.f32_data(), want.f32_data(), 180) == 0);
    else CHECK(bit_mismatches(got.f32_data() + 60, want.f32_data() + 60, 120) > 60);
  }
}

TEST_CASE("batch seeds: a bad value is one line naming the flag, exit 2", "[e2e][batch_seeds]") {
  TempDir tmp;
  const auto out = (tmp.path() / "x.png").string();
  for (const auto& extra : std::vector<std::vector<std::string>>{
           {"--batch-seeds", "comfy"}, {"--batch-seeds", "stream", "--rng", "philox"}, {"--batch-seeds", ""}}) {
    auto args = tiny_args("euler", "1");
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"--out", out});
    const auto r = run_skingen(args, tmp.path());
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(count_lines(r.err) == 1);
    CHECK_THAT(r.err, Catch::StartsWith("skingen: error: --batch-seeds: "));
    CHECK_FALSE(fs::exists(out));
  }
  const auto r = run_command(SKINGEN_BINARY,
                             {"eval", "noise", "--batch-seeds", "stream", "--rng", "philox", "--output",
                              (tmp.path() / "n.safetensors").string()},
                             tmp.path());
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::StartsWith("skingen: error: --batch-seeds: "));
}
