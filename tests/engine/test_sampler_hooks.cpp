// Sampler hooks: progress per step, cancellation, and no allocation inside
// the step loop (counted with a replaced global operator new, which every
// heap allocation of this test binary goes through, Tensor's control blocks
// included).
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "engine/core/error.hpp"
#include "engine/guidance.hpp"
#include "engine/sampler.hpp"
#include "sampling_toy_model.hpp"

namespace {
std::atomic<long> g_new_calls{0};
}  // namespace

void* operator new(std::size_t n) {
  g_new_calls.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

using namespace skingen;
using namespace skingen::engine;

namespace {

// Counts allocations made between the first model call and the last
// progress report, outside the model itself.
struct AllocationWatch {
  long outside = 0;
  long last = -1;
  void enter() {
    const long now = g_new_calls.load();
    if (last >= 0) outside += now - last;
  }
  void leave() { last = g_new_calls.load(); }
};

}  // namespace

TEST_CASE("samplers report progress and allocate nothing inside the step loop", "[sampling]") {
  const Shape shape = {1, 4, 8, 8};
  for (auto sampler : {SamplerKind::Euler, SamplerKind::EulerAncestral, SamplerKind::Heun, SamplerKind::DpmPP2M,
                       SamplerKind::Ddim, SamplerKind::Lcm}) {
    for (auto schedule : {ScheduleKind::Karras, ScheduleKind::Leading}) {
      for (bool img2img : {false, true}) {
        INFO(sampler_name(sampler) << " " << schedule_name(schedule) << (img2img ? " img2img" : ""));
        Sampler s(sampler, schedule, 6, Prediction::V, shape);
        BatchNoise noise(RngKind::Cpu, 1, 1);
        AllocationWatch watch;
        const void* in_ptr = nullptr;
        int calls = 0;
        ModelFn inner = [&](const Tensor& x2, float t, Tensor& out2) {
          watch.enter();
          if (!in_ptr) in_ptr = x2.raw();
          CHECK(x2.raw() == in_ptr);  // the same pre-allocated buffer every time
          sampling_test::toy_model(x2.f32_data(), t, out2.f32_mut(), 2, 4, 8, 8);
          ++calls;
          watch.leave();
        };
        GuidedModel guided(inner, 5.0f, shape);
        std::vector<std::pair<int, int>> progress;
        SamplerHooks hooks;
        hooks.progress = [&](int done, int total) {
          watch.enter();
          progress.emplace_back(done, total);
          watch.leave();
        };
        progress.reserve(64);
        const Tensor z = noise.draw(shape);
        const Tensor x0 = Tensor::zeros(DType::F32, shape);
        const Tensor out = img2img ? s.img2img(x0, z, 0.7, &noise, guided.fn(), hooks)
                                   : s.txt2img(z, &noise, guided.fn(), hooks);
        CHECK(watch.outside == 0);
        const int total = img2img ? s.img2img_steps(0.7) : s.plan().steps;
        REQUIRE(static_cast<int>(progress.size()) == total);
        for (int i = 0; i < total; ++i) CHECK(progress[static_cast<std::size_t>(i)] == std::make_pair(i + 1, total));
        const int second_order = sampler == SamplerKind::Heun ? total - 1 : 0;  // Heun: 2 calls per step but the last
        CHECK(calls == total + second_order);
        CHECK(out.shape() == shape);
      }
    }
  }
}

TEST_CASE("a set cancel flag stops the sampler at the next step", "[sampling]") {
  const Shape shape = {1, 4, 8, 8};
  Sampler s(SamplerKind::Euler, ScheduleKind::Normal, 10, Prediction::Epsilon, shape);
  std::atomic<bool> cancel{false};
  int calls = 0;
  ModelFn model = [&](const Tensor& x, float t, Tensor& out) {
    sampling_test::toy_model(x.f32_data(), t, out.f32_mut(), 1, 4, 8, 8);
    ++calls;
  };
  SamplerHooks hooks;
  hooks.cancel = &cancel;
  hooks.progress = [&](int done, int) {
    if (done == 3) cancel = true;
  };
  const Tensor z = Tensor::zeros(DType::F32, shape);
  CHECK_THROWS_AS(s.txt2img(z, nullptr, model, hooks), Cancelled);
  CHECK(calls == 3);
  calls = 0;
  CHECK_THROWS_AS(s.txt2img(z, nullptr, model, hooks), Cancelled);  // still set: no model call at all
  CHECK(calls == 0);
}
