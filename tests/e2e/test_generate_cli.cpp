// `skingen generate` as a command: determinism, batch seeds, Ctrl-C, and one
// clear line with exit code 2 for each kind of bad input. Runs the tiny model
// of tests/data/pipeline.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "e2e/pipeline_cases.hpp"
#include "engine/image_compare.hpp"
#include "engine/recipe.hpp"
#include "test_util/temp_dir.hpp"

using namespace pipeline_test;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> base_args() {
  const auto d = data_dir().string();
  return {"generate", "--model", d + "/model.safetensors", "--embeddings", d + "/embeddings.safetensors",
          "--steps", "4", "--cfg", "7", "--sampler", "euler_a", "--schedule", "karras", "--size", "32x32"};
}

// `a` with each flag of `more` (pairs flag, value) set: replaced where it is
// present (CLI11 rejects a repeated option), appended otherwise.
std::vector<std::string> with(std::vector<std::string> a, std::initializer_list<std::string> more) {
  const std::vector<std::string> m(more);
  for (std::size_t i = 0; i + 1 < m.size(); i += 2) {
    auto it = std::find(a.begin(), a.end(), m[i]);
    if (it != a.end() && it + 1 != a.end() && m[i] != "--lora") {
      *(it + 1) = m[i + 1];
    } else {
      a.push_back(m[i]);
      a.push_back(m[i + 1]);
    }
  }
  return a;
}

int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> r;
  for (const auto& e : fs::directory_iterator(dir)) r.push_back(e.path().filename().string());
  return r;
}

}  // namespace

TEST_CASE("generate: the same command twice gives byte-identical PNGs", "[e2e][generate]") {
  TempDir tmp;
  const auto cases = cases_json();
  // LoRA, tiling, an ancestral sampler and a non-square size: every part that could be nondeterministic.
  auto args = case_args(find_case(cases, "euler_a-karras-lora-xy"));
  for (const char* run : {"a", "b"}) {
    const auto r = run_skingen(with(args, {"--out", (tmp.path() / (std::string(run) + ".png")).string(), "--save-latent",
                                       (tmp.path() / (std::string(run) + ".safetensors")).string()}),
                           tmp.path());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
  const auto a = file_bytes(tmp.path() / "a.png"), b = file_bytes(tmp.path() / "b.png");
  REQUIRE(!a.empty());
  CHECK(a == b);
  CHECK(file_bytes(tmp.path() / "a.safetensors") == file_bytes(tmp.path() / "b.safetensors"));
}

TEST_CASE("generate: image i of --batch 2 equals a single run with seed + i", "[e2e][generate]") {
  TempDir tmp;
  // No --init-latent: the initial noise is drawn from the seed too, and Euler a
  // draws noise every step, so both streams must follow image i's seed.
  const auto r = run_skingen(with(base_args(), {"--seed", "41", "--batch", "2", "--out", (tmp.path() / "b-{i}.png").string(),
                                            "--save-latent", (tmp.path() / "b.safetensors").string()}),
                         tmp.path());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto batch_latent = read_latent(tmp.path() / "b.safetensors");
  REQUIRE(batch_latent.shape() == skingen::engine::Shape{2, 4, 16, 16});
  for (int i = 0; i < 2; ++i) {
    const auto s = run_skingen(with(base_args(), {"--seed", std::to_string(41 + i), "--out",
                                              (tmp.path() / ("s" + std::to_string(i) + ".png")).string(), "--save-latent",
                                              (tmp.path() / ("s" + std::to_string(i) + ".safetensors")).string()}),
                           tmp.path());
    INFO("image " << i << ": " << s.err);
    REQUIRE(s.exit_code == 0);
    const auto single = read_latent(tmp.path() / ("s" + std::to_string(i) + ".safetensors"));
    // Bit for bit: the UNet runs image by image whatever the batch, so batching changes no rounding.
    CHECK(std::memcmp(batch_latent.f32_data() + i * single.numel(), single.f32_data(), single.nbytes()) == 0);
    const auto diff = skingen::engine::compare_images(read_pixels(tmp.path() / ("b-" + std::to_string(i) + ".png")),
                                                      read_pixels(tmp.path() / ("s" + std::to_string(i) + ".png")));
    CHECK(diff.max_abs_diff == 0);
  }
  // …and the two images differ from each other.
  CHECK(skingen::engine::compare_images(read_pixels(tmp.path() / "b-0.png"), read_pixels(tmp.path() / "b-1.png"))
            .max_abs_diff > 0);
}

TEST_CASE("generate: Ctrl-C leaves no partial file and exits non-zero", "[e2e][generate]") {
  TempDir tmp;
  const auto out_dir = tmp.path() / "out";
  fs::create_directories(out_dir);
  const auto err_path = tmp.path() / "stderr.txt";
  // Long enough to be interrupted mid-sampling on a busy machine (about 0.05 s a step).
  auto args = with(base_args(), {"--steps", "1000", "--size", "64x64", "--seed", "3", "--threads", "1", "--out",
                                 (out_dir / "x.png").string(), "--save-latent", (out_dir / "x.safetensors").string()});
  args.insert(args.begin(), SKINGEN_BINARY);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    FILE* e = std::freopen(err_path.c_str(), "w", stderr);
    (void)e;
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  // Wait until sampling has started (a progress line), at most 60 s.
  bool started = false;
  for (int i = 0; i < 600 && !started; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    started = file_bytes(err_path).find("sampling: step") != std::string::npos;
  }
  REQUIRE(kill(pid, SIGINT) == 0);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  const std::string err = file_bytes(err_path);
  INFO(err);
  CHECK(started);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) != 0);
  CHECK(err.find("interrupted") != std::string::npos);
  CHECK(files_in(out_dir).empty());  // no PNG, no latent, no temporary file
}

TEST_CASE("generate: bad input is one clear line and exit code 2", "[e2e][generate]") {
  TempDir tmp;
  const auto d = data_dir().string();
  const auto out = (tmp.path() / "o.png").string();
  struct Bad {
    const char* what;
    std::vector<std::string> args;
    const char* names;  // the flag the message must name
  };
  const std::vector<Bad> bad = {
      {"size not a multiple of 8", with(base_args(), {"--size", "36x32"}), "--size"},
      {"zero steps", with(base_args(), {"--steps", "0"}), "--steps"},
      {"cfg nan", with(base_args(), {"--cfg", "nan"}), "--cfg"},
      {"cfg inf", with(base_args(), {"--cfg", "inf"}), "--cfg"},
      {"cfg interval reversed", with(base_args(), {"--cfg-interval", "3,1"}), "--cfg-interval"},
      {"cfg interval without a comma", with(base_args(), {"--cfg-interval", "3"}), "--cfg-interval"},
      {"cfg interval below zero", with(base_args(), {"--cfg-interval", "-1,3"}), "--cfg-interval"},
      {"missing model", with(base_args(), {"--model", d + "/no_such_model.safetensors"}), "--model"},
      {"missing LoRA", with(base_args(), {"--lora", d + "/no_such_lora.safetensors:0.7"}), "--lora"},
      {"missing init latent", with(base_args(), {"--init-latent", d + "/no_such_latent.safetensors"}), "--init-latent"},
      {"latent of the wrong shape", with(base_args(), {"--init-latent", d + "/latent_48x32.safetensors"}),
       "--init-latent"},
      {"invalid UTF-8 prompt", with(base_args(), {"--prompt", "stone \xff\xfe wall"}), "prompt"},
  };
  for (const auto& b : bad) {
    const auto r = run_skingen(with(b.args, {"--out", out}), tmp.path());
    INFO(b.what << ": exit " << r.exit_code << ", stderr:\n" << r.err);
    CHECK(r.exit_code == 2);
    CHECK(count_lines(r.err) == 1);
    CHECK(r.err.rfind("skingen: error: ", 0) == 0);
    CHECK(r.err.find(b.names) != std::string::npos);
    CHECK(!fs::exists(out));
  }
}

TEST_CASE("generate: --cfg-interval guides only inside it, is recorded and reruns from the PNG", "[e2e][generate]") {
  TempDir tmp;
  auto run = [&](const std::string& name, std::initializer_list<std::string> more) {
    auto args = with(base_args(), {"--seed", "5", "--out", (tmp.path() / (name + ".png")).string(), "--save-latent",
                                   (tmp.path() / (name + ".safetensors")).string()});
    for (auto it = more.begin(); it != more.end(); it += 2) args = with(args, {*it, *(it + 1)});
    const auto r = run_skingen(args, tmp.path());
    INFO(name << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    return file_bytes(tmp.path() / (name + ".safetensors"));
  };
  // 4 karras steps at sigma 14.6, 3.17, 0.45, 0.03, so (0, 3] guides the last two;
  // (0, inf] guides all four, as without the flag; (20, inf] none, as --cfg 1.
  const auto plain = run("plain", {});
  CHECK(run("all", {"--cfg-interval", "0,inf"}) == plain);
  CHECK(file_bytes(tmp.path() / "all.png") == file_bytes(tmp.path() / "plain.png"));
  CHECK(run("none", {"--cfg-interval", "20,inf"}) == run("cfg1", {"--cfg", "1"}));
  const auto some = run("some", {"--cfg-interval", "0,3"});
  CHECK(some != plain);
  CHECK(some != file_bytes(tmp.path() / "cfg1.safetensors"));

  const auto meta = skingen::engine::read_png_metadata(tmp.path() / "some.png");
  const auto recipe = skingen::engine::recipe_from_png_texts(meta.texts, "some.png");
  REQUIRE(recipe);
  CHECK(recipe->extra.at("cfg_interval") == "0,3");
  CHECK(skingen::engine::format_infotext(skingen::engine::recipe_infotext(*recipe)).find("CFG interval: \"0,3\"") !=
        std::string::npos);
  const auto plain_recipe =
      skingen::engine::recipe_from_png_texts(skingen::engine::read_png_metadata(tmp.path() / "plain.png").texts, "p");
  REQUIRE(plain_recipe);
  CHECK(!plain_recipe->extra.contains("cfg_interval"));

  // `regress` reruns the recipe, interval included (a run guided everywhere would not match).
  const fs::path refs = tmp.path() / "refs";
  fs::create_directories(refs);
  fs::copy_file(tmp.path() / "some.png", refs / "some.png");
  const auto r = run_skingen({"regress", refs.string()}, tmp.path());
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("1 case(s): 1 passed, 0 failed"));
}

TEST_CASE("generate: without --model the demo model runs with its own guidance interval and says so",
          "[e2e][generate]") {
  TempDir tmp;
  const auto out = tmp.path() / "d.png";
  // Not run_skingen: that passes --quiet, and the lines are what is checked.
  auto r = run_command(SKINGEN_BINARY,
                       {"generate", "--prompt", "moss", "--seed", "3", "--steps", "2", "--threads", "1", "--out",
                        out.string()},
                       tmp.path());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("no --model given: using the built-in demo model"));
  CHECK_THAT(r.err, Catch::Contains("demo model: --cfg-interval 0,3.3 by default"));
  const auto recipe = skingen::engine::recipe_from_png_texts(skingen::engine::read_png_metadata(out).texts, "d.png");
  REQUIRE(recipe);
  CHECK(recipe->extra.at("cfg_interval") == "0,3.3");
  CHECK(recipe->width == 64);
  // An explicit interval wins and is not announced.
  r = run_command(SKINGEN_BINARY,
                  {"generate", "--prompt", "moss", "--seed", "3", "--steps", "2", "--threads", "1", "--cfg-interval",
                   "0,inf", "--out", (tmp.path() / "e.png").string()},
                  tmp.path());
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, !Catch::Contains("--cfg-interval"));
  const auto all = skingen::engine::recipe_from_png_texts(
      skingen::engine::read_png_metadata(tmp.path() / "e.png").texts, "e.png");
  REQUIRE(all);
  CHECK(!all->extra.contains("cfg_interval"));
}
