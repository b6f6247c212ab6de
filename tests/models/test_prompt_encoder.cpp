// Prompt → conditioning (models/prompt_encoder.cpp through SdPipeline::encode_text)
// against the PyTorch reference of tests/reference/make_feature_goldens.py:
// A1111's 75-token chunks (BREAK, long prompts) each through the text
// encoder, then the "Original" emphasis (z·w, mean restored), chunks
// concatenated; CLIP-L-style (clip skip 1 and 2) and SD 2.x OpenCLIP-style
// (penultimate layer, pad id 0) on tests/data/pipeline_features/.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "engine/safetensors_reader.hpp"
#include "models/prompt_encoder.hpp"
#include "models/sd_loader.hpp"
#include "test_util/compare.hpp"

using namespace skingen;
namespace fs = std::filesystem;

namespace {

fs::path data_dir() { return fs::path(SKINGEN_TEST_DATA) / "pipeline_features"; }

}  // namespace

TEST_CASE("prompt conditioning with A1111 emphasis and chunks matches the PyTorch reference", "[clip][prompt][golden]") {
  nlohmann::json cases;
  std::ifstream(data_dir() / "cases.json") >> cases;
  const double tol = cases.at("tolerances").at("conditioning_rel_l2").get<double>();
  const auto golden = engine::SafetensorsFile::open(data_dir() / "conditioning.safetensors");
  ops::Context ctx(0);
  std::map<std::string, std::unique_ptr<models::SdPipeline>> pipelines;
  int multi_chunk = 0, weighted = 0, count = 0;
  for (const auto& c : cases.at("conditioning")) {
    const std::string name = c.at("name").get<std::string>(), model = c.at("model").get<std::string>();
    const std::string prompt = c.at("prompt").get<std::string>();
    const int clip_skip = c.at("clip_skip").get<int>();
    if (!pipelines.count(model)) {
      models::SdLoadOptions o;
      o.model = data_dir() / model;  // the tokenizer is the tokenizer/ folder next to it
      if (model == "sd2.safetensors") o.unet.config_override = nlohmann::json{{"head_dim", 16}};  // its narrow heads
      pipelines[model] = std::make_unique<models::SdPipeline>(ctx, models::load_sd(ctx, o));
    }
    auto& pipe = *pipelines[model];
    INFO(name << ": '" << prompt << "', clip skip " << clip_skip);

    // The chunk ids (A1111 tokenize_line, with the pad id of the model family).
    const auto& comps = pipe.components();
    auto tokenizer = *comps.tokenizer;
    const auto chunks = models::PromptEncoder(tokenizer, *comps.text_encoder->model).chunks(prompt);
    const auto ids = golden.read_f32(*golden.find(name + ".ids"));
    REQUIRE(ids.shape() == engine::Shape{static_cast<std::int64_t>(chunks.size()), 77});
    for (std::size_t k = 0; k < chunks.size(); ++k)
      for (std::size_t t = 0; t < 77; ++t)
        REQUIRE(chunks[k].ids[t] == static_cast<std::int32_t>(ids.f32_data()[k * 77 + t]));

    const auto z = pipe.encode_text(prompt, clip_skip);
    const auto want = golden.read_f32(*golden.find(name + ".cond"));
    REQUIRE(z.shape() == want.shape());
    const double err = relative_l2(z, want);
    const double ignored = c.at("if_ignored").at("emphasis ignored (every weight 1)").get<double>();
    INFO("relative L2 " << err << " (tolerance " << tol << "); emphasis ignored would be " << ignored);
    CHECK(err <= tol);
    std::printf("conditioning %s: %zu chunk(s), relative L2 %.2e\n", name.c_str(), chunks.size(), err);
    multi_chunk += chunks.size() > 1;
    if (c.at("weights").size() > 1) {
      ++weighted;
      CHECK(ignored >= 100 * tol);  // a weighted prompt: skipping the emphasis would fail the check
    }
    ++count;
  }
  CHECK(count >= 8);
  CHECK(multi_chunk >= 3);  // SD 1.x long prompt (both clip skips) and the SD 2.x BREAK prompt
  CHECK(weighted >= 5);
}

TEST_CASE("apply_emphasis multiplies each token and restores the chunk mean", "[clip][prompt]") {
  // Two tokens of two channels: z = [[1, 3], [2, -2]], mean 1; weights 2 and 0.5
  // give [[2, 6], [1, -1]] (mean 2), then × 1/2: [[1, 3], [0.5, -0.5]].
  float z[] = {1, 3, 2, -2};
  models::apply_emphasis(z, 2, 2, {2.0, 0.5});
  CHECK(z[0] == 1.0f);
  CHECK(z[1] == 3.0f);
  CHECK(z[2] == 0.5f);
  CHECK(z[3] == -0.5f);
  const float before[] = {1, 3, 2, -2};
  float same[] = {1, 3, 2, -2};
  models::apply_emphasis(same, 2, 2, {1.0, 1.0});
  CHECK(std::memcmp(same, before, sizeof before) == 0);  // weights of 1 change nothing
}
