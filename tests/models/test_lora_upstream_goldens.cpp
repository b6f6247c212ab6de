// LoRA merging against goldens computed by LyCORIS's own weight code and
// diffusers' UNet (tests/data/upstream/lora/<case>.safetensors, written by
// tests/reference/upstream/make_lycoris_goldens.py) on the LoRA fixtures of
// the hand-port goldens (tests/data/lora/<case>/): ΔW at multiplier 1 and the
// UNet eps with the LoRAs merged at 0.7 and 1.0.
//
// Bounds are about 10× the error measured on an AVX-512 machine (noted
// beside each). ΔW = W′ − W is formed in fp32 by the engine, so its error is
// the cancellation of W′ − W (‖W‖ / ‖ΔW‖ × 6e-8); DoRA adds LyCORIS's norm
// epsilon, that of the weight dtype (float64 in the golden, fp32 in skingen:
// ε / ‖W + ΔW‖ ≈ 1e-7 of W_DoRA, amplified the same way).
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "engine/lora_patcher.hpp"
#include "engine/safetensors_reader.hpp"
#include "models/lora_targets.hpp"
#include "models/unet_loader.hpp"
#include "ops/layout.hpp"
#include "test_util/compare.hpp"

using namespace skingen;
namespace fs = std::filesystem;

namespace {

fs::path lora_data() { return fs::path(SKINGEN_TEST_DATA) / "lora"; }

// The case's files at m × their factors (tests/data/lora/<case>/case.json `multiplier_rule`).
std::vector<engine::LoraRequest> requests(const fs::path& dir, const nlohmann::json& c, double m) {
  std::vector<engine::LoraRequest> r;
  for (const auto& f : c["files"]) {
    engine::LoraRequest q;
    q.path = dir / f["file"].get<std::string>();
    q.multipliers["unet"] = m * f["factor_unet"].get<double>();
    q.multipliers["text_encoder"] = m * f["factor_text_encoder"].get<double>();
    r.push_back(q);
  }
  return r;
}

// W' − W of every patched weight, named "<component>.<weight>".
std::map<std::string, engine::Tensor> deltas(const engine::TensorStore& store, const std::vector<engine::LoraRequest>& req) {
  ops::Context ctx(0);
  const auto det = models::detect_unet(store);
  engine::LoraPatcher p(ctx, models::lora_model_targets(store, &det, {.unet = true, .text_encoder = true}), req);
  std::map<std::string, engine::Tensor> r;
  for (const auto& pl : p.planned()) {
    const auto& comp = p.model().components[static_cast<std::size_t>(pl.component)];
    const auto& target = comp.targets[static_cast<std::size_t>(pl.target)];
    const engine::Tensor w0 = models::read_lora_target(store, target, pl.weight.ends_with(".bias"));
    engine::Tensor w = w0.clone();
    p.patch(comp.name, pl.weight, w);
    engine::Tensor d = engine::Tensor::f32(w.shape());
    for (std::int64_t i = 0; i < w.numel(); ++i) d.f32_mut()[i] = w.f32_data()[i] - w0.f32_data()[i];
    r.emplace(comp.name + "." + pl.weight, d);
  }
  return r;
}

engine::Tensor eps_with(const engine::TensorStore& store, const std::vector<engine::LoraRequest>& req) {
  ops::Context ctx(0);
  engine::BufferPool pool;
  models::UNetLoadOptions o;
  const auto det = models::detect_unet(store);
  auto patcher = std::make_unique<engine::LoraPatcher>(
      ctx, models::lora_model_targets(store, &det, {.unet = true, .text_encoder = false}), req);
  o.patcher = patcher.get();
  auto loaded = models::load_unet(ctx, store, o);
  const auto io = engine::SafetensorsFile::open(lora_data() / "io.safetensors");
  auto get = [&](const std::string& n) { return io.read_f32(*io.find(n)); };
  models::RunContext rc{ctx, pool, ops::Tiling::None, {}};
  const auto x = ops::nchw_to_nhwc(ctx, pool, get("x"));
  return ops::nhwc_to_nchw(ctx, pool, loaded.model->forward(rc, x, get("t"), get("context"))).clone();
}

}  // namespace

TEST_CASE("LoRA merge matches LyCORIS and diffusers for every LyCORIS format", "[lora][golden][upstream]") {
  struct Bound {
    const char* name;
    double delta, eps;  // bounds, about 10× the errors measured on AVX-512 (ΔW, eps) noted beside each
  };
  const std::vector<Bound> cases = {
      {"kohya_lora", 8.5e-6, 1.2e-5},        // 8.43e-7, 1.20e-6
      {"kohya_locon", 1e-5, 1.3e-5},         // 9.84e-7, 1.27e-6
      {"locon_cp", 3.4e-6, 1.1e-5},          // 3.34e-7, 1.03e-6
      {"loha", 3.7e-6, 1.2e-5},              // 3.68e-7, 1.19e-6
      {"lokr", 4.2e-5, 1.1e-5},              // 4.18e-6 (conv1: ‖W‖ = 165 ‖ΔW‖, so W′ − W cancels most digits), 1.06e-6
      {"dora_output_axis", 7.7e-6, 1.4e-5},  // 7.70e-7, 1.39e-6
      {"dora_input_axis", 9.4e-6, 1.5e-5},   // 9.35e-7, 1.44e-6
      {"alpha_missing", 1.9e-6, 1.4e-5},     // 1.89e-7, 1.39e-6
      {"alpha_zero", 1.9e-6, 1.2e-5},        // 1.90e-7, 1.17e-6
      {"stacked", 8.1e-6, 1.5e-5},           // 8.02e-7, 1.44e-6
  };
  const auto store = engine::TensorStore::open(lora_data() / "model.safetensors");
  const auto io = engine::SafetensorsFile::open(lora_data() / "io.safetensors");
  const auto base_eps = io.read_f32(*io.find("eps"));
  for (const auto& b : cases) {
    DYNAMIC_SECTION(b.name) {
      const auto dir = lora_data() / b.name;
      nlohmann::json c;
      std::ifstream(dir / "case.json") >> c;
      const auto golden =
          engine::SafetensorsFile::open(fs::path(SKINGEN_TEST_DATA) / "upstream" / "lora" / (std::string(b.name) + ".safetensors"));
      const auto d = deltas(store, requests(dir, c, 1.0));
      double worst_delta = 0, worst_eps = 0;
      int n_delta = 0, n_eps = 0;
      for (const auto& t : golden.tensors()) {
        INFO(t.name);
        const auto g = golden.read_f32(t);
        if (t.name.starts_with("delta.")) {
          const std::string name = t.name.substr(6);
          REQUIRE(d.count(name));
          REQUIRE(d.at(name).numel() == g.numel());
          const double err = relative_l2(d.at(name), g);
          worst_delta = std::max(worst_delta, err);
          ++n_delta;
          CHECK(err <= b.delta);
        } else {
          REQUIRE(t.name.starts_with("eps.m"));
          const double m = std::stod(t.name.substr(5));
          const auto eps = eps_with(store, requests(dir, c, m));
          REQUIRE(eps.shape() == g.shape());
          const double err = relative_l2(eps, g);
          worst_eps = std::max(worst_eps, err);
          ++n_eps;
          CHECK(err <= b.eps);
          CHECK(relative_l2(g, base_eps) > 1000 * b.eps);  // the LoRA visibly changes the output
        }
      }
      CHECK(n_delta > 0);
      CHECK(n_eps == 2);
      std::printf("upstream lora golden %-18s ΔW max rel L2 %.2e over %d tensors (bound %.0e), eps %.2e (bound %.0e)\n",
                  b.name, worst_delta, n_delta, b.delta, worst_eps, b.eps);
    }
  }
}
