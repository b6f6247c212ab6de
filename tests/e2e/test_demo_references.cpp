// The demo model's reference images (issue 7 "Proof"): every case of
// tests/data/demo/manifest.json is run through the skingen binary and its
// PNG compared pixel by pixel with the reference that the PyTorch pipeline
// of tools/demo/render_references.py rendered from the same exported F16
// weights and the same stored initial latent (max abs difference <= the
// case's max_diff, 1). Skipped (with a message) when the demo model is absent.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/png_reader.hpp"
#include "test_util/run_command.hpp"
#include "test_util/temp_dir.hpp"

namespace fs = std::filesystem;
using skingen::engine::read_png;

namespace {

const fs::path kDemoDir = fs::path(SKINGEN_TEST_DATA) / "demo";

// Runs skingen with `args` from `cwd` (the manifest's relative paths are
// relative to its folder); stdout/stderr captured under `scratch`.
CommandResult run_in(const fs::path& cwd, const std::vector<std::string>& args, const fs::path& scratch) {
  // Appended piecewise: GCC 12 warns falsely (-Wrestrict) on "literal" + std::string&&.
  std::string cmd = "cd ";
  cmd += shell_quote(cwd.string());
  cmd += " && ";
  cmd += shell_quote(SKINGEN_BINARY);
  for (const auto& a : args) {
    cmd += ' ';
    cmd += shell_quote(a);
  }
  cmd += " >";
  cmd += shell_quote((scratch / "cmd.out").string());
  cmd += " 2>";
  cmd += shell_quote((scratch / "cmd.err").string());
  const int status = std::system(cmd.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream err(scratch / "cmd.err");
  r.err.assign(std::istreambuf_iterator<char>(err), std::istreambuf_iterator<char>());
  return r;
}

}  // namespace

TEST_CASE("skingen reproduces the demo model's PyTorch reference images", "[e2e][demo]") {
  const fs::path manifest = kDemoDir / "manifest.json";
  if (!fs::exists(manifest) || !fs::exists(fs::path(SKINGEN_SOURCE_DIR) / "models/demo/skingen-demo.safetensors")) {
    WARN("demo model or its references absent: skipped");
    return;
  }
  std::ifstream f(manifest);
  const auto doc = nlohmann::json::parse(f);
  const auto& cases = doc.at("cases");
  REQUIRE(cases.size() >= 8);
  TempDir dir;
  for (const auto& c : cases) {
    const std::string name = c.at("name").get<std::string>();
    INFO("case " << name);
    std::vector<std::string> args{"generate"};
    for (const auto& a : c.at("args")) args.push_back(a.get<std::string>());
    const fs::path out = dir.path() / (name + ".png");
    args.insert(args.end(), {"--quiet", "--out", out.string()});
    const CommandResult r = run_in(kDemoDir, args, dir.path());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto got = read_png(out).image;
    const auto want = read_png(kDemoDir / c.at("reference").get<std::string>()).image;
    REQUIRE(got.width == want.width);
    REQUIRE(got.height == want.height);
    int max_diff = 0;
    for (std::size_t i = 0; i < got.pixels.size(); ++i)
      max_diff = std::max(max_diff, std::abs(int(got.pixels[i]) - int(want.pixels[i])));
    INFO("max pixel difference " << max_diff);
    CHECK(max_diff <= c.at("max_diff").get<int>());
  }
}
