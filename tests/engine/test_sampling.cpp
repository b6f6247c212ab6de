// Schedules and samplers against tests/reference/sampling_reference.py: the
// tables must agree to the bit, the final latents to 1e-6 relative (they
// agree to the bit today; the margin is for compilers).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/guidance.hpp"
#include "engine/sampler.hpp"
#include "engine/safetensors_reader.hpp"
#include "sampling_toy_model.hpp"

using namespace skingen;
using namespace skingen::engine;

namespace {

SafetensorsFile schedules_file() {
  return SafetensorsFile::open(std::string(SKINGEN_TEST_DATA) + "/sampling/schedules.safetensors");
}
SafetensorsFile runs_file() {
  return SafetensorsFile::open(std::string(SKINGEN_TEST_DATA) + "/sampling/runs.safetensors");
}

std::vector<float> golden(const SafetensorsFile& f, const std::string& name) {
  const auto* info = f.find(name);
  if (!info) throw std::runtime_error("golden tensor missing: " + name);
  const Tensor t = f.read_f32(*info);
  return {t.f32_data(), t.f32_data() + t.numel()};
}

std::size_t bit_mismatches(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return std::max(a.size(), b.size());
  std::size_t bad = 0;
  for (std::size_t i = 0; i < a.size(); ++i) bad += std::memcmp(&a[i], &b[i], 4) != 0;
  return bad;
}

Prediction pred_of(const std::string& s) { return s == "v" ? Prediction::V : Prediction::Epsilon; }

}  // namespace

TEST_CASE("training tables match LDM and diffusers to the bit", "[sampling]") {
  const auto ldm = ldm_schedule();
  const auto dif = diffusers_schedule();
  const auto f = schedules_file();
  CHECK(bit_mismatches(ldm.alphas_cumprod, golden(f, "ldm/alphas_cumprod")) == 0);
  CHECK(bit_mismatches(ldm.sigmas, golden(f, "ldm/sigmas")) == 0);
  CHECK(bit_mismatches(ldm.log_sigmas, golden(f, "ldm/log_sigmas")) == 0);
  CHECK(bit_mismatches(dif.alphas_cumprod, golden(f, "diffusers/alphas_cumprod")) == 0);
  CHECK(bit_mismatches(dif.sigmas, golden(f, "diffusers/sigmas")) == 0);
  // In double precision σ_min ≈ 0.0291672 and σ_max ≈ 14.6146412
  // (docs/FORMATS.md, "Noise schedule"); k-diffusion's float32 (1 − ᾱ)/ᾱ from
  // the float32 buffer yields 0.0291675329 and 14.6146421 (1 − ᾱ_0 cancels in
  // float32).
  CHECK(ldm.sigma_min() == 0.0291675329f);
  CHECK(ldm.sigma_max() == 14.6146421f);
  CHECK(ldm.sigma_min() == Approx(0.0291672).epsilon(2e-5));
}

TEST_CASE("σ schedules and timestep spacings match upstream to the bit", "[sampling]") {
  const auto f = schedules_file();
  const auto steps = nlohmann::json::parse(f.metadata().at("table_steps")).get<std::vector<int>>();
  std::size_t compared = 0;
  for (int n : steps) {
    for (auto sched : {ScheduleKind::Normal, ScheduleKind::Karras, ScheduleKind::Exponential}) {
      const std::string key = "k/" + std::string(schedule_name(sched)) + "/" + std::to_string(n);
      const auto plan = make_plan(SamplerKind::Euler, sched, n);
      INFO(key);
      CHECK(bit_mismatches(plan.sigmas, golden(f, key + "/sigmas")) == 0);
      CHECK(bit_mismatches(plan.timesteps, golden(f, key + "/timesteps")) == 0);
      CHECK(plan.init_noise_sigma == plan.sigmas.front());
      compared += plan.sigmas.size() + plan.timesteps.size();
    }
    for (auto sampler : {SamplerKind::Euler, SamplerKind::DpmPP2M, SamplerKind::Ddim, SamplerKind::Lcm}) {
      for (auto sched : {ScheduleKind::Leading, ScheduleKind::Linspace, ScheduleKind::Trailing}) {
        if (sampler == SamplerKind::Lcm && (n > kLcmOriginalSteps || sched != ScheduleKind::Leading)) continue;
        const std::string key =
            "d/" + std::string(sampler_name(sampler)) + "/" + std::string(schedule_name(sched)) + "/" + std::to_string(n);
        INFO(key);
        const auto plan = make_plan(sampler, sched, n);
        CHECK(bit_mismatches(plan.timesteps, golden(f, key + "/timesteps")) == 0);
        if (f.find(key + "/sigmas")) {
          CHECK(bit_mismatches(plan.sigmas, golden(f, key + "/sigmas")) == 0);
          CHECK(bit_mismatches({plan.init_noise_sigma}, golden(f, key + "/init_noise_sigma")) == 0);
        } else {
          CHECK(plan.sigmas.empty());
          CHECK(plan.init_noise_sigma == 1.0f);
        }
        compared += plan.sigmas.size() + plan.timesteps.size();
      }
    }
  }
  CHECK(compared > 20000);
}

TEST_CASE("leading spacing with 8 steps is 876, 751, …, 1 (SD 1.5 diffusers default)", "[sampling]") {
  const std::vector<float> want = {876, 751, 626, 501, 376, 251, 126, 1};
  for (auto s : {SamplerKind::Euler, SamplerKind::EulerAncestral, SamplerKind::Heun, SamplerKind::Ddim})
    CHECK(make_plan(s, ScheduleKind::Leading, 8).timesteps == want);
  // √(σ_max² + 1) with σ_max the schedule's largest σ (at t = 876).
  const auto p = make_plan(SamplerKind::Euler, ScheduleKind::Leading, 8);
  CHECK(p.init_noise_sigma == std::sqrt(p.sigmas.front() * p.sigmas.front() + 1.0f));
  // trailing can be one step longer than asked (np.arange overshoot), as in diffusers.
  CHECK(make_plan(SamplerKind::Euler, ScheduleKind::Trailing, 61).steps == 62);
}

TEST_CASE("every sampler × schedule × prediction reproduces the reference latents", "[sampling]") {
  const auto f = runs_file();
  const auto cases = nlohmann::json::parse(f.metadata().at("cases"));
  REQUIRE(cases.size() > 90);
  double worst = 0;
  std::size_t exact = 0, total = 0;
  for (const auto& c : cases) {
    const std::string name = c.at("name");
    INFO(name);
    const Shape shape = c.at("shape").get<Shape>();
    const auto sampler = parse_sampler(c.at("sampler").get<std::string>());
    const auto schedule = parse_schedule(c.at("schedule").get<std::string>());
    REQUIRE(sampler);
    REQUIRE(schedule);
    Sampler s(*sampler, *schedule, c.at("steps").get<int>(), pred_of(c.at("prediction")), shape);
    BatchNoise noise(*parse_rng_kind(c.at("rng").get<std::string>()), c.at("seed").get<std::uint64_t>(), shape[0]);

    ModelFn toy = [&](const Tensor& x, float t, Tensor& out) {
      sampling_test::toy_model(x.f32_data(), t, out.f32_mut(), x.dim(0), x.dim(1), x.dim(2), x.dim(3));
    };
    const float cfg = c.at("cfg").get<float>();
    ModelFn inner = [&](const Tensor& x2, float t, Tensor& out2) {  // [uncond; cond]
      const std::int64_t b = x2.dim(0) / 2, per = x2.numel() / 2;
      sampling_test::toy_model(x2.f32_data(), t, out2.f32_mut(), b, x2.dim(1), x2.dim(2), x2.dim(3));
      sampling_test::toy_model(x2.f32_data() + per, t, out2.f32_mut() + per, b, x2.dim(1), x2.dim(2), x2.dim(3),
                               1.25f, 0.01f, true);
    };
    ModelFn cond_only = [&](const Tensor& x, float t, Tensor& out) {
      sampling_test::toy_model(x.f32_data(), t, out.f32_mut(), x.dim(0), x.dim(1), x.dim(2), x.dim(3), 1.25f, 0.01f,
                               true);
    };
    GuidanceInterval interval;
    if (c.contains("cfg_interval"))
      interval = {c.at("cfg_interval").at(0).get<float>(), c.at("cfg_interval").at(1).get<float>()};
    GuidedModel guided(inner, cond_only, cfg, interval, shape);
    const ModelFn model = cfg != 0 ? guided.fn() : toy;

    const Tensor z = noise.draw(shape);
    Tensor got;
    if (c.contains("strength")) {
      const auto x0v = golden(f, "x0/" + std::to_string(shape[0]));
      const Tensor x0 = Tensor::from_values(shape, x0v);
      got = s.img2img(x0, z, c.at("strength").get<double>(), &noise, model);
    } else {
      got = s.txt2img(z, &noise, model);
    }
    const auto want = golden(f, name + "/latent");
    REQUIRE(static_cast<std::size_t>(got.numel()) == want.size());
    double max_diff = 0, max_ref = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
      max_diff = std::max(max_diff, std::abs(static_cast<double>(got.f32_data()[i]) - want[i]));
      max_ref = std::max(max_ref, std::abs(static_cast<double>(want[i])));
    }
    const double rel = max_diff / max_ref;
    CHECK(rel <= 1e-6);
    worst = std::max(worst, rel);
    const std::vector<float> gv(got.f32_data(), got.f32_data() + got.numel());
    exact += bit_mismatches(gv, want) == 0;
    ++total;
  }
  WARN("sampler runs: " << exact << " of " << total << " bit-identical to the reference; worst relative error "
                        << worst);
}

TEST_CASE("batch image i equals a single-image run with seed + i", "[sampling]") {
  const Shape one = {1, 4, 8, 8}, two = {2, 4, 8, 8};
  ModelFn toy = [](const Tensor& x, float t, Tensor& out) {
    sampling_test::toy_model(x.f32_data(), t, out.f32_mut(), x.dim(0), x.dim(1), x.dim(2), x.dim(3));
  };
  for (auto sched : {ScheduleKind::Karras, ScheduleKind::Trailing}) {
    for (auto kind : {SamplerKind::EulerAncestral, SamplerKind::Lcm}) {
      Sampler batch(kind, sched, 5, Prediction::Epsilon, two);
      BatchNoise bn(RngKind::Cpu, 9, 2);
      const Tensor both = batch.txt2img(bn.draw(two), &bn, toy);
      for (int i = 0; i < 2; ++i) {
        Sampler single(kind, sched, 5, Prediction::Epsilon, one);
        BatchNoise sn(RngKind::Cpu, 9 + static_cast<std::uint64_t>(i), 1);
        const Tensor img = single.txt2img(sn.draw(one), &sn, toy);
        CHECK(std::memcmp(both.f32_data() + i * 256, img.f32_data(), 256 * 4) == 0);
      }
    }
  }
}

TEST_CASE("sampler arguments are checked", "[sampling]") {
  CHECK_THROWS_AS(make_plan(SamplerKind::Euler, ScheduleKind::Normal, 0), UsageError);
  CHECK_THROWS_AS(make_plan(SamplerKind::Lcm, ScheduleKind::Leading, 51), UsageError);
  CHECK_THROWS_AS(Sampler(SamplerKind::Euler, ScheduleKind::Normal, 4, Prediction::Epsilon, {4, 8, 8}), UsageError);
  Sampler s(SamplerKind::EulerAncestral, ScheduleKind::Normal, 4, Prediction::Epsilon, {1, 4, 8, 8});
  ModelFn zero = [](const Tensor&, float, Tensor& out) { std::fill_n(out.f32_mut(), out.numel(), 0.0f); };
  const Tensor z = Tensor::zeros(DType::F32, {1, 4, 8, 8});
  CHECK_THROWS_AS(s.txt2img(z, nullptr, zero), UsageError);  // ancestral steps need a noise source
  CHECK_THROWS_AS(s.txt2img(Tensor::zeros(DType::F32, {1, 4, 8, 9}), nullptr, zero), UsageError);
  CHECK_THROWS_AS(s.img2img(z, z, 1.5, nullptr, zero), UsageError);
  Sampler d(SamplerKind::Euler, ScheduleKind::Leading, 4, Prediction::Epsilon, {1, 4, 8, 8});
  CHECK_THROWS_AS(d.img2img(z, z, 0.2, nullptr, zero), UsageError);  // ⌊4·0.2⌋ = 0 steps
  CHECK(d.img2img_steps(0.5) == 2);
  CHECK(s.img2img_steps(0.5) == 3);  // A1111: t_enc + 1
  CHECK(parse_sampler("k_euler") == std::nullopt);
  CHECK(parse_schedule("simple") == std::nullopt);
  for (auto k : {SamplerKind::Euler, SamplerKind::EulerAncestral, SamplerKind::Heun, SamplerKind::DpmPP2M,
                 SamplerKind::Ddim, SamplerKind::Lcm})
    CHECK(parse_sampler(sampler_name(k)) == k);
}

TEST_CASE("guidance combines uncond first as diffusers does", "[sampling]") {
  const std::vector<float> u = {1.0f, -2.0f, 0.5f}, c = {3.0f, 1.0f, 0.25f};
  std::vector<float> out(3);
  combine_guidance(u.data(), c.data(), 7.5f, out.data(), 3);
  for (int i = 0; i < 3; ++i) CHECK(out[static_cast<std::size_t>(i)] == u[static_cast<std::size_t>(i)] + 7.5f * (c[static_cast<std::size_t>(i)] - u[static_cast<std::size_t>(i)]));
}

TEST_CASE("a guidance interval guides exactly the calls whose sigma lies in it", "[sampling]") {
  const Shape shape = {1, 4, 8, 8};
  int guided_calls = 0, cond_calls = 0;
  ModelFn inner = [&](const Tensor&, float, Tensor& out2) {
    ++guided_calls;
    std::fill_n(out2.f32_mut(), out2.numel(), 0.0f);
  };
  ModelFn cond_only = [&](const Tensor&, float, Tensor& out) {
    ++cond_calls;
    std::fill_n(out.f32_mut(), out.numel(), 0.0f);
  };
  // 15 karras steps: sigma 14.6, 10.8, 7.9, 5.7, 4.0, 2.8, ... (the bounds sit between two of them).
  const auto plan = make_plan(SamplerKind::DpmPP2M, ScheduleKind::Karras, 15);
  for (const auto& [lo, hi, want_guided] : {std::tuple{0.0f, 3.3f, 10}, std::tuple{2.0f, 6.5f, 3},
                                            std::tuple{0.0f, INFINITY, 15}, std::tuple{20.0f, INFINITY, 0}}) {
    guided_calls = cond_calls = 0;
    GuidedModel g(inner, cond_only, 7.0f, GuidanceInterval{lo, hi}, shape);
    const Tensor x = Tensor::zeros(DType::F32, shape);
    Tensor out = Tensor::zeros(DType::F32, shape);
    int expect = 0;
    for (std::size_t k = 0; k + 1 < plan.sigmas.size(); ++k) {
      g(x, plan.timesteps[k], out);
      expect += plan.sigmas[k] > lo && plan.sigmas[k] <= hi;
    }
    INFO("interval " << lo << ", " << hi);
    CHECK(guided_calls == expect);
    CHECK(guided_calls == want_guided);
    CHECK(guided_calls + cond_calls == 15);
  }
  CHECK_THROWS_AS(GuidedModel(inner, nullptr, 7.0f, GuidanceInterval{0.0f, 3.0f}, shape), UsageError);
}

TEST_CASE("guidance intervals parse as LO,HI and print back", "[sampling]") {
  const auto g = parse_guidance_interval("0,3.3");
  REQUIRE(g);
  CHECK(g->sigma_lo == 0.0f);
  CHECK(g->sigma_hi == 3.3f);
  CHECK(!g->everywhere());
  CHECK(guidance_interval_str(*g) == "0,3.3");
  const auto open = parse_guidance_interval("0.5,inf");
  REQUIRE(open);
  CHECK(guidance_interval_str(*open) == "0.5,inf");
  CHECK(parse_guidance_interval("0,inf")->everywhere());
  CHECK(GuidanceInterval{}.everywhere());
  for (const char* bad : {"", "3", "3,1", "1,1", "-1,2", "nan,2", "0,nan", "inf,inf", "0,3,4", " 0,3", "0,3 ", "a,b",
                          "0;3", ",3", "0,"})
    CHECK_FALSE(parse_guidance_interval(bad));
}
