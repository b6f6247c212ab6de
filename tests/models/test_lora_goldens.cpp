// LoRA merging against the PyTorch reference (tests/reference/sdref/lora.py,
// goldens in tests/data/lora/<case>/ written by make_lora_goldens.py): for
// every format, the set of patched weights, the ΔW of a representative
// subset, and the UNet eps at multipliers 0.7 and 1.0, each to 1e-4 relative
// L2; plus order independence of stacked LoRAs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

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

std::vector<fs::path> lora_cases() {
  std::vector<fs::path> r;
  for (const auto& e : fs::directory_iterator(lora_data()))
    if (fs::exists(e.path() / "case.json")) r.push_back(e.path());
  std::sort(r.begin(), r.end());
  return r;
}

nlohmann::json read_case(const fs::path& dir) {
  nlohmann::json c;
  std::ifstream(dir / "case.json") >> c;
  return c;
}

std::vector<engine::LoraRequest> requests(const fs::path& dir, const nlohmann::json& c, double m, bool reversed = false) {
  std::vector<engine::LoraRequest> r;
  for (const auto& f : c["files"]) {
    engine::LoraRequest q;
    q.path = dir / f["file"].get<std::string>();
    q.multipliers["unet"] = m * f["factor_unet"].get<double>();
    q.multipliers["text_encoder"] = m * f["factor_text_encoder"].get<double>();
    r.push_back(q);
  }
  if (reversed) std::reverse(r.begin(), r.end());
  return r;
}

// W' − W for every weight the LoRAs patch, merged into the stored weights as lora-check does.
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
  for (const auto& l : patcher->loras())
    for (const auto& m : l.modules)
      if (m.resolution.match == engine::LoraMatch::Matched) REQUIRE(m.applied());
  const auto io = engine::SafetensorsFile::open(lora_data() / "io.safetensors");
  auto get = [&](const std::string& n) { return io.read_f32(*io.find(n)); };
  models::RunContext rc{ctx, pool, ops::Tiling::None, {}};
  const auto x = ops::nchw_to_nhwc(ctx, pool, get("x"));
  return ops::nhwc_to_nchw(ctx, pool, loaded.model->forward(rc, x, get("t"), get("context"))).clone();
}

}  // namespace

TEST_CASE("LoRA merge matches the PyTorch reference for every format", "[lora][golden]") {
  const auto cases = lora_cases();
  REQUIRE(cases.size() >= 15);
  const auto store = engine::TensorStore::open(lora_data() / "model.safetensors");
  const auto io = engine::SafetensorsFile::open(lora_data() / "io.safetensors");
  const auto base_eps = io.read_f32(*io.find("eps"));
  for (const auto& dir : cases) {
    DYNAMIC_SECTION(dir.filename().string()) {
      const auto c = read_case(dir);
      const double tol = c["check"]["tolerance"].get<double>();
      const auto golden = engine::SafetensorsFile::open(dir / "golden.safetensors");

      // Coverage: exactly the weights the reference patched.
      const auto d = deltas(store, requests(dir, c, 1.0));
      std::set<std::string> want, got;
      for (const auto& [comp, names] : c["patched"].items())
        for (const auto& n : names) want.insert(comp + "." + n.get<std::string>());
      for (const auto& [name, t] : d) got.insert(name);
      CHECK(got == want);

      double worst_delta = 0;
      int compared = 0;
      for (const auto& t : golden.tensors()) {
        if (!t.name.starts_with("delta.")) continue;
        const std::string name = t.name.substr(6);
        INFO(name);
        REQUIRE(d.count(name));
        const auto g = golden.read_f32(t);
        REQUIRE(d.at(name).numel() == g.numel());
        const double err = relative_l2(d.at(name), g);
        worst_delta = std::max(worst_delta, err);
        ++compared;
        CHECK(err <= tol);
      }
      CHECK(compared > 0);

      double worst_eps = 0;
      for (const double m : c["multipliers"]) {
        char key[32];
        std::snprintf(key, sizeof key, "eps.m%.1f", m);
        const auto g = golden.read_f32(*golden.find(key));
        const auto eps = eps_with(store, requests(dir, c, m));
        const double err = relative_l2(eps, g);
        INFO(key << " relative L2 " << err);
        CHECK(err <= tol);
        CHECK(relative_l2(g, base_eps) > 100 * tol);  // the LoRA visibly changes the output
        worst_eps = std::max(worst_eps, err);
      }
      std::printf("lora golden %-18s ΔW max rel L2 %.2e over %d tensors, eps max rel L2 %.2e\n",
                  dir.filename().c_str(), worst_delta, compared, worst_eps);
    }
  }
}

TEST_CASE("Stacked LoRAs merge independently of their order", "[lora]") {
  const auto dir = lora_data() / "stacked";
  const auto c = read_case(dir);
  REQUIRE(c["files"].size() >= 3);
  const auto store = engine::TensorStore::open(lora_data() / "model.safetensors");
  const auto a = deltas(store, requests(dir, c, 1.0));
  const auto b = deltas(store, requests(dir, c, 1.0, true));
  REQUIRE(a.size() == b.size());
  for (const auto& [name, t] : a) {
    INFO(name);
    REQUIRE(b.count(name));
    CHECK(relative_l2(b.at(name), t) <= 1e-6);  // fp32 rounding only
  }
  const auto ea = eps_with(store, requests(dir, c, 0.7));
  const auto eb = eps_with(store, requests(dir, c, 0.7, true));
  // The weights differ by fp32 rounding (above); the UNet amplifies that a little.
  CHECK(relative_l2(eb, ea) <= 1e-5);
}
