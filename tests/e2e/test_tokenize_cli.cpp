// `skingen tokenize` end to end: the binary's JSON against upstream's known ids.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>
#include "test_util/clip_vocab.hpp"

namespace fs = std::filesystem;

namespace {

struct Run {
  int status;
  std::string out;
};

// Runs the skingen binary with `args` (already shell-quoted), capturing stdout.
Run run(const std::string& args) {
  const std::string cmd = std::string("'") + SKINGEN_BINARY + "' " + args + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  std::string out;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

}  // namespace

TEST_CASE("skingen tokenize prints the ids as JSON", "[cli][tokenizer]") {
  const fs::path gz = clip_vocab_gz();
  REQUIRE(fs::exists(gz));
  const std::string tok = "--tokenizer '" + gz.string() + "' ";
  auto r = run("tokenize " + tok + "'a photo of a cat'");
  CHECK(r.status == 0);
  CHECK(nlohmann::json::parse(r.out) == nlohmann::json({49406, 320, 1125, 539, 320, 2368, 49407}));

  r = run("tokenize " + tok + "--chunks '(cat:1.5) <lora:skin_4-000015:0.7> BREAK dog'");
  CHECK(r.status == 0);
  const auto j = nlohmann::json::parse(r.out);
  REQUIRE(j["chunks"].size() == 2);
  CHECK(j["chunks"][0]["ids"].size() == 77);
  CHECK(j["chunks"][0]["ids"][1] == 2368);
  CHECK(j["chunks"][0]["weights"][1] == 1.5);
  CHECK(j["chunks"][1]["ids"][1] == 1929);  // "dog</w>"
  CHECK(j["loras"][0]["name"] == "skin_4-000015");
  CHECK(j["loras"][0]["unet"] == 0.7);

  CHECK(run("tokenize 'a cat'").status == 2);                                 // no tokenizer given
  CHECK(run("tokenize --tokenizer /nonexistent/vocab 'a cat'").status == 2);  // missing file
  CHECK(run("tokenize " + tok + "--chunks '(a:1.2.3)'").status == 2);         // bad weight
}
