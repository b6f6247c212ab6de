// `skingen regress` end to end on a tiny random checkpoint (32x32, 2 steps):
// pass, pixel failure, missing model, hash mismatch, engine version change,
// --update, manifests with relative paths, and the JUnit XML.
//
// The references here are made by skingen itself: these tests check the
// regression machinery (statuses, thresholds, exit codes, reports), not the
// numerical correctness of the images, which the pipeline's PyTorch goldens
// (tests/data/*/manifest.json, test_regress_data.cpp) cover.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/png_reader.hpp"
#include "engine/png_writer.hpp"
#include "engine/recipe.hpp"
#include "test_util/run_command.hpp"
#include "test_util/temp_dir.hpp"
#include "test_util/xml_check.hpp"
#include "test_util/clip_vocab.hpp"

namespace fs = std::filesystem;
using namespace skingen::engine;

namespace {

const std::string kBin = SKINGEN_BINARY;
const std::string kTokenizer =
    clip_vocab_gz().string();

// The table row of a case: its line of stdout.
std::string row(const std::string& out, const std::string& name) {
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(name + " ", 0) == 0) return line;
  return "(no row for " + name + ")";
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

struct Suite {
  TempDir dir;
  fs::path model = dir.path() / "tiny.safetensors";
  fs::path refs = dir.path() / "refs";
  fs::path scratch = dir.path() / "scratch";

  Suite() {
    fs::create_directories(refs);
    fs::create_directories(scratch);
    make_model(0);
    for (const char* seed : {"1", "2"}) {
      const auto r = run({"generate", "--quiet", "--model", model.string(), "--tokenizer", kTokenizer, "--steps", "2",
                          "--size", "32x32", "--seed", seed, "--prompt", std::string("rust ") + seed, "--out",
                          (refs / (std::string("s") + seed + ".png")).string()});
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
    }
  }
  void make_model(int seed) {
    REQUIRE(run({"fixture", "checkpoint", "--preset", "tiny", "--seed", std::to_string(seed), "--out", model.string()})
                .exit_code == 0);
  }
  // One thread: on a busy shared machine two OpenMP threads spin-wait and run ~30x slower.
  CommandResult run(std::initializer_list<std::string> args) const {
    std::vector<std::string> a(args);
    if (a.front() == "generate" || a.front() == "regress") a.insert(a.begin() + 1, {"--threads", "1"});
    return run_command(kBin, a, scratch);
  }
  // Rewrites a reference with its recipe kept, letting `edit` change pixels or recipe.
  template <class F>
  void edit_reference(const fs::path& png, F edit) {
    auto decoded = read_png(png);
    auto recipe = *recipe_from_png_texts(decoded.metadata.texts, png.string());
    edit(decoded.image, recipe);
    write_png(png, decoded.image, recipe_png_texts(recipe));
  }
};

}  // namespace

TEST_CASE("regress: a folder of references regenerated from their recipes passes", "[e2e][regress]") {
  Suite s;
  const auto junit = s.dir.path() / "report.xml";
  const auto r = s.run({"regress", s.refs.string(), "--junit", junit.string(), "--min-ssim", "0.999"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("case    status               PSNR      SSIM max diff     time"));
  CHECK_THAT(r.out, Catch::Contains("s1.png  pass                  inf   1.00000        0"));
  CHECK_THAT(r.out, Catch::Contains("s2.png  pass"));
  CHECK_THAT(r.out, Catch::Contains("2 case(s): 2 passed, 0 failed; 1 model load(s)"));
  const auto xml = slurp(junit);
  CHECK(xml_well_formed(xml) == "");
  CHECK_THAT(xml, Catch::Contains("<testsuite name=\"" + s.refs.string() + "\" tests=\"2\" failures=\"0\""));
  CHECK(count_occurrences(xml, "<testcase ") == 2);
  CHECK(count_occurrences(xml, "<failure") == 0);
}

TEST_CASE("regress: a tampered reference is a pixel failure with a JUnit failure", "[e2e][regress]") {
  Suite s;
  s.edit_reference(s.refs / "s2.png", [](Image8& img, GenerationRecipe&) {
    auto* p = img.at(5, 7);
    p[0] = static_cast<std::uint8_t>(p[0] < 128 ? p[0] + 60 : p[0] - 60);
  });
  const auto junit = s.dir.path() / "report.xml";
  const auto diffs = s.dir.path() / "diffs";
  const auto r = s.run({"regress", s.refs.string(), "--junit", junit.string(), "--diff-dir", diffs.string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("s1.png  pass"));
  // The heat map of the failing case only: the one changed pixel at full strength.
  CHECK_FALSE(fs::exists(diffs / "s1.diff.png"));
  const auto map = read_png(diffs / "s2.diff.png").image;
  CHECK(map.at(5, 7)[0] == 255);
  CHECK(map.at(5, 7)[2] == 255);
  CHECK(map.at(6, 7)[0] == map.at(6, 7)[2]);
  CHECK_THAT(r.out, Catch::Contains("s2.png  fail") && Catch::Contains("       60 "));
  CHECK_THAT(r.out, Catch::Contains("max diff 60 > 1"));
  CHECK_THAT(r.err, Catch::Contains("regress: 1 of 2 case(s) failed"));
  const auto xml = slurp(junit);
  CHECK(xml_well_formed(xml) == "");
  CHECK_THAT(xml, Catch::Contains("tests=\"2\" failures=\"1\""));
  CHECK_THAT(xml, Catch::Contains("<failure type=\"fail\" message=\"fail: max diff 60 &gt; 1; heat map " +
                                  (diffs / "s2.diff.png").string() + "\">"));
  // Thresholds: a generous --max-diff and --min-psnr accept the one changed value.
  CHECK(s.run({"regress", s.refs.string(), "--max-diff", "60", "--min-psnr", "40"}).exit_code == 0);
  CHECK(s.run({"regress", s.refs.string(), "--filter", "s1"}).exit_code == 0);
}

TEST_CASE("regress: a missing model and another model file are reported as such", "[e2e][regress]") {
  Suite s;
  fs::rename(s.model, s.dir.path() / "elsewhere.safetensors");
  auto r = s.run({"regress", s.refs.string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("s1.png  missing-file"));
  CHECK_THAT(r.out, Catch::Contains("model '" + s.model.string() + "' does not exist"));
  CHECK_THAT(r.out, Catch::Contains("0 model load(s)"));

  // A suite moved with its model: the recorded absolute path is gone, the file
  // name next to the references is found (and its hash checked).
  fs::copy_file(s.dir.path() / "elsewhere.safetensors", s.refs / "tiny.safetensors");
  r = s.run({"regress", s.refs.string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  fs::remove(s.refs / "tiny.safetensors");

  s.make_model(1);  // same name, other weights
  r = s.run({"regress", s.refs.string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("s1.png  hash-mismatch") && Catch::Contains("s2.png  hash-mismatch"));
  CHECK_THAT(r.out, Catch::Contains("is not the file the reference was made with"));
  CHECK_THAT(r.out, Catch::Contains("0 model load(s)"));  // nothing generated

  // --update accepts the new model: the references are rewritten with its images and hashes.
  const auto before = slurp(s.refs / "s1.png");
  r = s.run({"regress", s.refs.string(), "--update"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("2 reference(s) changed:"));
  CHECK(slurp(s.refs / "s1.png") != before);
  CHECK(s.run({"regress", s.refs.string()}).exit_code == 0);
}

TEST_CASE("regress --update rewrites only the changed references and lists them", "[e2e][regress]") {
  Suite s;
  s.edit_reference(s.refs / "s1.png", [](Image8& img, GenerationRecipe&) { img.at(0, 0)[1] ^= 0x40; });
  const auto untouched = slurp(s.refs / "s2.png");
  const auto r = s.run({"regress", s.refs.string(), "--update"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("s1.png  updated") && Catch::Contains("s2.png  unchanged"));
  CHECK_THAT(r.out, Catch::Contains("1 reference(s) changed:\n  " + (s.refs / "s1.png").string() + "\n"));
  CHECK(slurp(s.refs / "s2.png") == untouched);
  const auto again = s.run({"regress", s.refs.string(), "--max-diff", "0"});
  INFO(again.out);
  CHECK(again.exit_code == 0);
}

TEST_CASE("regress: a reference from another engine version is reported as a version change", "[e2e][regress]") {
  Suite s;
  s.edit_reference(s.refs / "s1.png", [](Image8& img, GenerationRecipe& r) {
    r.engine_version = "0.0.1-old";
    img.at(3, 3)[2] ^= 0x80;
  });
  s.edit_reference(s.refs / "s2.png", [](Image8&, GenerationRecipe& r) { r.engine_version = "0.0.1-old"; });
  const auto r = s.run({"regress", s.refs.string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("s1.png  version-changed"));
  CHECK_THAT(r.out, Catch::Contains("reference made by skingen 0.0.1-old, this is " SKINGEN_VERSION));
  CHECK_THAT(r.out, Catch::Contains("s2.png  pass"));  // same pixels: a version change alone is no failure
}

TEST_CASE("regress: manifest cases with paths relative to the manifest", "[e2e][regress]") {
  Suite s;
  // Manifest in the temp dir; the test runs from the build folder, so only
  // paths resolved against the manifest's folder can work.
  fs::copy_file(s.refs / "s1.png", s.dir.path() / "ref1.png");
  const auto manifest = s.dir.path() / "manifest.json";
  const std::string common = R"("--model", "tiny.safetensors", "--tokenizer", ")" + kTokenizer +
                             R"(", "--steps", "2", "--size", "32x32", "--prompt", "rust 1")";
  std::ofstream(manifest) << R"({"cases": [
    {"name": "same <seed> & \"quotes\"", "args": [)" << common << R"(, "--seed", "1"],
     "reference": "ref1.png", "max_diff": 0, "min_ssim": 0.999},
    {"name": "other seed", "args": [)" << common << R"(, "--seed", "9"], "reference": "ref1.png", "max_diff": 1},
    {"name": "no lora", "args": [)" << common << R"(, "--seed", "1", "--lora", "gone.safetensors"],
     "reference": "ref1.png"}]})";
  const auto junit = s.dir.path() / "manifest.xml";
  const auto r = s.run({"regress", manifest.string(), "--junit", junit.string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK_THAT(row(r.out, "same <seed> & \"quotes\""), Catch::Contains(" pass "));
  CHECK_THAT(row(r.out, "other seed"), Catch::Contains(" fail "));
  CHECK_THAT(row(r.out, "no lora"), Catch::Contains(" missing-file "));
  CHECK_THAT(r.out, Catch::Contains("LoRA '" + (s.dir.path() / "gone.safetensors").string() + "' does not exist"));
  const auto xml = slurp(junit);
  CHECK(xml_well_formed(xml) == "");
  CHECK_THAT(xml, Catch::Contains("name=\"same &lt;seed&gt; &amp; &quot;quotes&quot;\""));
  CHECK_THAT(xml, Catch::Contains("<failure type=\"missing-file\""));
  CHECK_THAT(xml, Catch::Contains("tests=\"3\" failures=\"2\""));

  std::ofstream(s.dir.path() / "bad.json")
      << R"({"cases": [{"name": "x", "args": ["--out", "y.png"], "reference": "r.png"}]})";
  const auto bad = s.run({"regress", (s.dir.path() / "bad.json").string()});
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Catch::Contains("case 0 (x): args:"));
}

TEST_CASE("xml_well_formed catches broken XML", "[e2e][regress]") {
  CHECK(xml_well_formed("<a><b x=\"1\"/>t &amp; u</a>") == "");
  CHECK(xml_well_formed("<a><b></a>") != "");
  CHECK(xml_well_formed("<a>x & y</a>") != "");
  CHECK(xml_well_formed("<a x=\"<\"></a>") != "");
  CHECK(xml_well_formed("<a></a><b></b>") != "");
}
