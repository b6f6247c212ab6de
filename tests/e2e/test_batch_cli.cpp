// `skingen batch` end to end on a tiny random checkpoint (32x32, 1 step):
// three --shard processes run concurrently over one jobs file and do every
// job exactly once; a restart skips finished outputs; bad lines are reported
// by line number while the others succeed; --shard is validated.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "test_util/run_command.hpp"
#include "test_util/temp_dir.hpp"
#include "test_util/clip_vocab.hpp"

namespace fs = std::filesystem;

namespace {

const std::string kBin = SKINGEN_BINARY;
const std::string kTokenizer =
    clip_vocab_gz().string();

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> r;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) r.push_back(l);
  return r;
}

struct Batch {
  TempDir dir;
  fs::path model = dir.path() / "tiny.safetensors";
  fs::path jobs = dir.path() / "jobs.jsonl";
  fs::path out = dir.path() / "out";

  Batch() { REQUIRE(run({"fixture", "checkpoint", "--preset", "tiny", "--out", model.string()}).exit_code == 0); }
  std::string job(const std::string& fields) const {
    return R"({"model": ")" + model.string() + R"(", "tokenizer": ")" + kTokenizer +
           R"(", "size": "32x32", "steps": 1, )" + fields + "}\n";
  }
  // One thread: on a busy shared machine two OpenMP threads spin-wait and run ~30x slower.
  CommandResult run(std::initializer_list<std::string> args) const {
    std::vector<std::string> a(args);
    if (a.front() == "batch") a.insert(a.begin() + 1, {"--threads", "1"});
    return run_command(kBin, a, dir.path());
  }
};

}  // namespace

TEST_CASE("batch: three shards as separate processes do every job exactly once", "[e2e][batch]") {
  Batch b;
  {
    std::ofstream f(b.jobs);
    f << b.job(R"("prompt": "rust", "seed": 1)") << "\n"  // a blank line is not a job
      << b.job(R"("prompt": "moss", "seeds": "4-5", "out": "moss.png")")
      << b.job(R"("prompt": "stone", "seeds": [7, 9], "out": "{seed}/stone.png")")
      << b.job(R"("prompt": "sand")")  // no seed: its job number
      << b.job(R"("prompt": "ice", "seed": 3, "batch": 2, "out": "ice.png")")
      << b.job(R"("prompt": "bark", "seed": 11, "out": "sub/bark.png", "tile": "xy")")
      << b.job(R"("prompt": "clay", "seed": 12)");
  }
  // All three at once, as a scheduler would start them: no coordination needed.
  std::string cmd;
  for (int i = 0; i < 3; ++i) {
    const auto tag = b.dir.path() / ("shard" + std::to_string(i));
    cmd += "( " + shell_quote(kBin) + " batch " + shell_quote(b.jobs.string()) + " --out-dir " +
           shell_quote(b.out.string()) + " --threads 1 --quiet --shard " + std::to_string(i) + "/3 >" +
           shell_quote(tag.string() + ".out") + " 2>" + shell_quote(tag.string() + ".err") + "; echo $? >" +
           shell_quote(tag.string() + ".rc") + " ) & ";
  }
  cmd += "wait";
  REQUIRE(std::system(cmd.c_str()) == 0);

  std::map<std::string, int> written;  // path → how many shards wrote it
  std::map<int, std::size_t> per_shard;
  for (int i = 0; i < 3; ++i) {
    const auto tag = b.dir.path() / ("shard" + std::to_string(i));
    INFO("shard " << i << ": " << slurp(tag.string() + ".err"));
    CHECK(slurp(tag.string() + ".rc") == "0\n");
    for (const auto& l : lines_of(slurp(tag.string() + ".out")))
      if (l.rfind("done ", 0) != 0) ++written[l], ++per_shard[i];
  }
  const auto o = b.out.string() + "/";
  // Jobs 0..6 (the blank line is skipped); shard I owns jobs with j mod 3 == I.
  const std::map<std::string, int> expected = {{o + "job0-1.png", 1},  {o + "moss-4.png", 1},  {o + "moss-5.png", 1},
                                               {o + "7/stone.png", 1}, {o + "9/stone.png", 1}, {o + "job3-3.png", 1},
                                               {o + "ice-0.png", 1},   {o + "ice-1.png", 1},   {o + "sub/bark.png", 1},
                                               {o + "job6-12.png", 1}};
  CHECK(written == expected);
  CHECK(per_shard[0] == 3);  // jobs 0, 3, 6
  CHECK(per_shard[1] == 4);  // jobs 1 (two seeds), 4 (a batch of two)
  CHECK(per_shard[2] == 3);  // jobs 2 (two seeds), 5
  for (const auto& [path, n] : expected) CHECK(fs::exists(path));
}

TEST_CASE("batch: a restart skips finished outputs", "[e2e][batch]") {
  Batch b;
  std::ofstream(b.jobs) << b.job(R"("prompt": "rust", "seeds": "1-3")") << b.job(R"("prompt": "moss", "seed": 8)");
  auto r = b.run({"batch", b.jobs.string(), "--out-dir", b.out.string(), "--quiet"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("done 4 image(s), skipped 0, failed 0; 1 model load(s)"));
  CHECK_THAT(r.out, Catch::Contains("images/hour"));
  const auto first = fs::last_write_time(b.out / "job0-1.png");

  r = b.run({"batch", b.jobs.string(), "--out-dir", b.out.string(), "--quiet"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(lines_of(r.out).size() == 1);  // the summary only: nothing written
  CHECK_THAT(r.out, Catch::Contains("done 0 image(s), skipped 4, failed 0; 0 model load(s)"));

  fs::remove(b.out / "job0-2.png");  // as if the run had been killed before this one
  r = b.run({"batch", b.jobs.string(), "--out-dir", b.out.string(), "--quiet"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(lines_of(r.out).front() == (b.out / "job0-2.png").string());
  CHECK_THAT(r.out, Catch::Contains("done 1 image(s), skipped 3, failed 0"));
  CHECK(fs::last_write_time(b.out / "job0-1.png") == first);
  // No temporary files left behind by the atomic writes.
  for (const auto& e : fs::recursive_directory_iterator(b.out)) CHECK(e.path().extension() == ".png");
}

TEST_CASE("batch: bad lines are reported with their line numbers and the rest run", "[e2e][batch]") {
  Batch b;
  {
    std::ofstream f(b.jobs);
    f << b.job(R"("prompt": "rust", "seed": 1)")    // line 1
      << "{not json\n"                              // line 2
      << b.job(R"("prompt": "moss", "seed": 2)")    // line 3
      << b.job(R"("prompt": "x", "sede": 3)")       // line 4: unknown field
      << "\n"                                       // line 5: blank
      << b.job(R"("prompt": "x", "seeds": "9-2")")  // line 6: bad range
      // line 7: parses, fails when run (a <lora:…> tag whose folder does not exist)
      << b.job(R"("prompt": "x <lora:gone:1>", "seed": 4, "lora_dir": "nowhere", "out": "l.png")")
      << b.job(R"("prompt": "stone", "seed": 5)");  // line 8
  }
  const auto r = b.run({"batch", b.jobs.string(), "--out-dir", b.out.string(), "--quiet"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  const std::string j = b.jobs.string();
  CHECK_THAT(r.err, Catch::Contains(j + ":2: not valid JSON"));
  CHECK_THAT(r.err, Catch::Contains(j + ":4: job: unknown field 'sede'"));
  CHECK_THAT(r.err, Catch::Contains(j + ":6: \"seeds\": expected \"FIRST-LAST\""));
  CHECK_THAT(r.err, Catch::Contains(j + ":7: ") && Catch::Contains("gone"));
  CHECK_THAT(r.err, Catch::Contains("batch: 4 job(s) failed"));
  CHECK_THAT(r.out, Catch::Contains("done 3 image(s), skipped 0, failed 4"));
  CHECK(fs::exists(b.out / "job0-1.png"));
  CHECK(fs::exists(b.out / "job2-2.png"));
  CHECK(fs::exists(b.out / "job6-5.png"));
}

TEST_CASE("batch: --shard must be I/N with 0 <= I < N", "[e2e][batch]") {
  Batch b;
  std::ofstream(b.jobs) << b.job(R"("prompt": "rust", "seed": 1)");
  for (const std::string bad : {"3/3", "1", "0/0", "a/b", "1/2/3", "1/-2"}) {
    INFO(bad);
    const auto r = b.run({"batch", b.jobs.string(), "--shard", bad});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("--shard: expected I/N with 0 <= I < N"));
  }
  CHECK(b.run({"batch", (b.dir.path() / "none.jsonl").string()}).exit_code == 2);
  // Shard 1/2 of a one-job file has nothing to do and succeeds.
  const auto r = b.run({"batch", b.jobs.string(), "--out-dir", b.out.string(), "--shard", "1/2"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("done 0 image(s), skipped 0, failed 0"));
}
