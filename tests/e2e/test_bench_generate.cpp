// `skingen bench generate --json` on the tiny fixture checkpoint: the run
// happens (Euler: one guided UNet call per step), the phases add up to the
// total, and each phase's rate is its FLOPs over its timed call, as a
// fraction of the peak measured in the same run.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "test_util/run_command.hpp"
#include "test_util/temp_dir.hpp"
#include "test_util/clip_vocab.hpp"

namespace fs = std::filesystem;

TEST_CASE("bench generate reports load, text, sampling and VAE decode against the peak", "[e2e][bench]") {
  TempDir tmp;
  const auto model = (tmp.path() / "tiny.safetensors").string();
  const auto tok = clip_vocab_gz().string();
  REQUIRE(run_command(SKINGEN_BINARY, {"fixture", "checkpoint", "--preset", "tiny", "--out", model}, tmp.path())
              .exit_code == 0);
  const auto r = run_command(SKINGEN_BINARY,
                             {"bench", "generate", "--model", model, "--tokenizer", tok, "--size", "64", "--steps", "3",
                              "--runs", "1", "--threads", "1", "--json"},
                             tmp.path());
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j.at("steps") == 3);
  CHECK(j.at("sampling").at("unet_calls") == 3);  // Euler: one call (batch 2 under CFG) per step
  const double peak = j.at("peak_gflops").get<double>();
  CHECK(peak > 0);
  double sum = j.at("load").at("s").get<double>();
  for (const char* phase : {"text", "sampling", "vae_decode"}) {
    INFO(phase);
    const auto& p = j.at(phase);
    sum += p.at("s").get<double>();
    CHECK(p.at("gflop").get<double>() > 0);
    CHECK(p.at("timed_call_ms").get<double>() > 0);
    const double rate = p.at("timed_call_gflop").get<double>() / (p.at("timed_call_ms").get<double>() * 1e-3);
    CHECK(p.at("gflops").get<double>() == Approx(rate).epsilon(1e-9));
    CHECK(p.at("peak_fraction").get<double>() == Approx(rate / peak).epsilon(1e-9));
  }
  CHECK(j.at("sampling").at("gflop").get<double>() ==
        Approx(3 * j.at("sampling").at("timed_call_gflop").get<double>()).epsilon(1e-12));
  CHECK(j.at("total_s").get<double>() == Approx(sum).epsilon(1e-9));
}
