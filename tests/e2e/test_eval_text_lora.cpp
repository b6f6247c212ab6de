// `skingen eval text --lora` against the float64 PyTorch golden of
// tests/reference/make_text_lora_golden.py: the tiny checkpoint's text encoder
// with the kohya LoRA's lora_te_ modules merged at 0.7, clip skip 1 and 2,
// and without the LoRA (the LoRA moves the output by 14 %, far beyond the
// tolerance, so a LoRA that is not applied fails).
#include <catch2/catch.hpp>

#include "engine/safetensors_reader.hpp"
#include "test_util/compare.hpp"
#include "test_util/run_command.hpp"
#include "test_util/temp_dir.hpp"

namespace fs = std::filesystem;

TEST_CASE("eval text --lora matches the PyTorch text encoder with a merged text-encoder LoRA", "[e2e][lora][text]") {
  const fs::path dir = fs::path(SKINGEN_TEST_DATA) / "lora";
  const auto golden_path = dir / "text_encoder_lora.safetensors";
  const auto golden = skingen::engine::SafetensorsFile::open(golden_path);
  TempDir tmp;
  struct Case {
    std::string expected;
    std::vector<std::string> extra;
  };
  const std::string lora = (dir / "kohya_lora" / "kohya_lora.safetensors").string() + ":0.7:0.7";
  for (const Case& c : {Case{"hidden.m0", {}}, Case{"hidden.m0.7", {"--lora", lora}},
                        Case{"hidden.m0.7.clip_skip_2", {"--lora", lora, "--clip-skip", "2"}}}) {
    INFO(c.expected);
    const auto out = tmp.path() / (c.expected + ".safetensors");
    std::vector<std::string> args{"eval", "text", "--model", (dir / "model.safetensors").string(), "--input",
                                  golden_path.string(), "--output", out.string(), "--threads", "1",
                                  // Heads are not in the weights: the tiny encoder's 2 (sdref/golden_lora.py TINY_TE).
                                  "--text-encoder-config", R"({"num_attention_heads": 2})"};
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    const auto r = run_command(SKINGEN_BINARY, args, tmp.path());
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    if (!c.extra.empty()) CHECK(r.err.find("(text encoder 12)") != std::string::npos);
    const auto got_file = skingen::engine::SafetensorsFile::open(out);
    const auto got = got_file.read_f32(*got_file.find("hidden"));
    const auto want = golden.read_f32(*golden.find(c.expected));
    REQUIRE(got.shape() == want.shape());
    CHECK(relative_l2(got, want) <= 1e-5);
  }
}
