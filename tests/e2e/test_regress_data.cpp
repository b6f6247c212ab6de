// The project's own reference images run through `skingen regress`: every
// tests/data/*/manifest.json (the pipeline's PyTorch goldens, the demo
// model's references, whatever later branches add) is found at test time, so
// a new manifest needs no edit here. Each must pass within its own stated
// tolerances.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

#include "test_util/run_command.hpp"
#include "test_util/temp_dir.hpp"

namespace fs = std::filesystem;

TEST_CASE("regress: every tests/data/*/manifest.json passes", "[e2e][regress][data]") {
  std::vector<fs::path> manifests;
  for (const auto& e : fs::directory_iterator(SKINGEN_TEST_DATA))
    if (e.is_directory() && fs::exists(e.path() / "manifest.json")) manifests.push_back(e.path() / "manifest.json");
  std::sort(manifests.begin(), manifests.end());
  // The sets the project ships: a lost folder must fail, not shrink the test.
  for (const char* required : {"pipeline", "pipeline_features", "demo"}) {
    INFO("tests/data/" << required << "/manifest.json");
    CHECK(std::count(manifests.begin(), manifests.end(), fs::path(SKINGEN_TEST_DATA) / required / "manifest.json") == 1);
  }
  TempDir scratch;
  for (const auto& m : manifests) {
    const auto junit = scratch.path() / "report.xml";
    const auto r = run_command(SKINGEN_BINARY, {"regress", m.string(), "--junit", junit.string(), "--quiet", "--threads", "1"},
                               scratch.path());
    INFO(m.string() << "\n" << r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(fs::exists(junit));
  }
}
