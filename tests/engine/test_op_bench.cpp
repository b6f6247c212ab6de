// The op benchmark's SD 1.5 shape list against the architecture's known total:
// one UNet forward at 512×512, batch 2, is 1606 GFLOP (REFERENCE.md §9), and
// the machine-peak and timer helpers report sane numbers.
#include <catch2/catch.hpp>

#include "engine/bench_timer.hpp"
#include "engine/machine_peak.hpp"
#include "engine/op_bench.hpp"

using namespace skingen;

TEST_CASE("the SD 1.5 op list adds up to the UNet's FLOPs", "[engine][bench]") {
  double gflop = 0;
  int attention_rows = 0;
  for (const auto& c : engine::sd15_unet_op_cases(512, 2)) {
    double f = 0;
    if (c.kind == engine::OpKind::Conv) {
      const double ho = (c.h + 2 * (c.k / 2) - c.k) / c.stride + 1;
      f = 2.0 * c.n * ho * ho * c.cout * c.cin * c.k * c.k;
    } else if (c.kind == engine::OpKind::Linear) {
      f = 2.0 * static_cast<double>(c.rows) * c.cin * c.cout;
    } else if (c.kind == engine::OpKind::Attention) {
      f = 4.0 * c.n * c.h * c.w * c.cout * c.cin;
      ++attention_rows;
    }
    gflop += c.count * f * 1e-9;
  }
  CHECK(gflop == Approx(1606).epsilon(0.005));
  CHECK(attention_rows == 8);  // self and cross at 64, 32, 16, 8 px
}

TEST_CASE("bench timer keeps calls and the machine peak is positive", "[engine][bench]") {
  const engine::BenchTimer timer(1, 0.0);
  int calls = 0;
  const auto r =
      timer.run([&] { ++calls; }, {.min_calls = 3, .max_calls = 5, .min_seconds = 0.0, .min_sample_seconds = 0.0});
  CHECK(r.kept == 3);
  CHECK(r.repeats == 1);
  CHECK(calls == 3 + 1);  // plus the warm-up
  int batched = 0;
  const auto b = timer.run([&] { ++batched; }, {.min_calls = 2, .max_calls = 2, .min_seconds = 0.0});
  CHECK(b.repeats > 1);  // a call far shorter than 5 ms is repeated within each sample
  CHECK(batched == 1 + 1 + 2 * b.repeats);
  CHECK(engine::measure_triad_gbps(timer, 16) > 0.1);
  CHECK(engine::measure_fma_gflops_avx2(timer) > 1.0);
}
