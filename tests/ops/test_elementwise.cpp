// Bandwidth-bound ops against naive loops. Exact ops (add, mul, copies,
// layout changes) must match bit for bit; transcendental ones state a max
// relative error (denominator max(|ref|, 1e-6)): SiLU ≤ 1e-6, quick-GELU
// ≤ 2e-6, softmax ≤ 1e-6; GELU |err| ≤ 1e-6·max(1, |ref|) (erf by A&S
// 7.1.26 as PyTorch's CPU kernel, absolute error 1.5e-7), GEGLU ≤ 3e-6 on the
// same scale (the gate multiplies GELU's error), GELU and GEGLU on AVX2 and
// AVX-512 each in a test case of its own, AVX-512 bit-identical to AVX2 (and
// skipped visibly where it cannot run: test_util/kernel_isa.hpp); the timestep
// embedding ≤ 1e-6 absolute against torch's fp32 steps.
#include <catch2/catch.hpp>
#include <cmath>

#include "ops/elementwise.hpp"
#include "ops/naive.hpp"
#include "test_util/kernel_isa.hpp"

using namespace skingen;
using engine::Tensor;

namespace {

// Odd length (masked tail), range covering both tails.
Tensor activation_input() {
  Tensor x = naive::random({3, 7001}, 1, -12.0f, 12.0f);
  x.f32_mut()[0] = 0.0f;
  x.f32_mut()[1] = -90.0f;
  x.f32_mut()[2] = 90.0f;
  return x;
}

// GELU with `isa` against the exact function; AVX-512 must also give the AVX2
// bits (the same lane-wise arithmetic).
void check_gelu(ops::Isa isa, const char* kernel) {
  require_kernel("gelu", ops::gelu_kernel_name(isa), kernel);
  ops::Context ctx(2);
  engine::BufferPool pool;
  const Tensor x = activation_input();
  const Tensor y = ops::gelu(ctx, pool, x, isa);
  CHECK(naive::max_rel_err(y, naive::map(x, naive::gelu), 1.0) < 1e-6);
  if (isa != ops::Isa::Avx2) CHECK(naive::bit_identical(y, ops::gelu(ctx, pool, x, ops::Isa::Avx2)));
}

void check_geglu(ops::Isa isa, const char* kernel) {
  require_kernel("geglu", ops::gelu_kernel_name(isa), kernel);
  ops::Context ctx(2);
  engine::BufferPool pool;
  // The last shape's output (8.5 MB) is written with non-temporal stores.
  for (const auto& s : {engine::Shape{2, 5, 2 * 37}, engine::Shape{300, 2 * 1280}, engine::Shape{1, 2},
                        engine::Shape{2, 832, 2 * 1280}}) {
    const Tensor x = naive::random(s, 2, -5.0f, 5.0f);
    const Tensor ref = naive::geglu(x);
    const Tensor y = ops::geglu(ctx, pool, x, isa);
    REQUIRE(y.shape() == ref.shape());
    CHECK(naive::max_rel_err(y, ref, 1.0) < 3e-6);  // the gate (|a| ≤ 5) scales GELU's error
    if (isa != ops::Isa::Avx2) CHECK(naive::bit_identical(y, ops::geglu(ctx, pool, x, ops::Isa::Avx2)));
  }
}

}  // namespace

TEST_CASE("SiLU and quick-GELU match the exact functions", "[ops][elementwise]") {
  ops::Context ctx(2);
  engine::BufferPool pool;
  const Tensor x = activation_input();
  CHECK(naive::max_rel_err(ops::silu(ctx, pool, x), naive::map(x, naive::silu), 1e-6) < 1e-6);
  CHECK(naive::max_rel_err(ops::quick_gelu(ctx, pool, x), naive::map(x, naive::quick_gelu), 1e-6) < 2e-6);
}

TEST_CASE("GELU matches the exact function (AVX2 kernel)", "[ops][elementwise]") { check_gelu(ops::Isa::Avx2, "avx2"); }

TEST_CASE("GELU matches the exact function and the AVX2 bits (AVX-512 kernel)", "[ops][elementwise][avx512]") {
  if (skip_without_avx512()) return;
  check_gelu(ops::Isa::Avx512, "avx512");
}

TEST_CASE("GEGLU gates the first half with GELU of the second (AVX2 kernel)", "[ops][elementwise]") {
  check_geglu(ops::Isa::Avx2, "avx2");
}

TEST_CASE("GEGLU gates the first half with GELU of the second and gives the AVX2 bits (AVX-512 kernel)",
          "[ops][elementwise][avx512]") {
  if (skip_without_avx512()) return;
  check_geglu(ops::Isa::Avx512, "avx512");
}

TEST_CASE("GEGLU rejects an odd last axis", "[ops][elementwise]") {
  ops::Context ctx(2);
  engine::BufferPool pool;
  CHECK_THROWS_WITH(ops::geglu(ctx, pool, naive::random({2, 5}, 1)), Catch::Contains("must be even"));
}

TEST_CASE("softmax over the last axis", "[ops][elementwise]") {
  ops::Context ctx(2);
  engine::BufferPool pool;
  for (const auto& s : {engine::Shape{4, 77}, engine::Shape{2, 3, 1}, engine::Shape{5, 1000}}) {
    const Tensor x = naive::random(s, 3, -30.0f, 30.0f);
    CHECK(naive::max_rel_err(ops::softmax(ctx, pool, x), naive::softmax(x), 1e-6) < 1e-6);
  }
}

TEST_CASE("add and mul broadcast numpy-style, exactly", "[ops][elementwise]") {
  ops::Context ctx(2);
  engine::BufferPool pool;
  struct Case {
    engine::Shape a, b;
  };
  std::uint32_t seed = 10;
  for (const auto& c :
       {Case{{2, 3, 4, 5}, {5}}, Case{{2, 3, 4, 5}, {2, 1, 1, 5}}, Case{{2, 3, 4, 5}, {1}}, Case{{4, 1}, {1, 3}},
        Case{{2, 64, 64, 33}, {2, 64, 64, 33}}, Case{{7}, {3, 1, 7}}, Case{{2, 9, 1, 5}, {9, 4, 1}}}) {
    const Tensor a = naive::random(c.a, seed++);
    const Tensor b = naive::random(c.b, seed++);
    INFO(engine::shape_str(c.a) << " with " << engine::shape_str(c.b));
    const Tensor s = ops::add(ctx, pool, a, b);
    const Tensor p = ops::mul(ctx, pool, a, b);
    const Tensor rs = naive::broadcast_binary(a, b, 0);
    REQUIRE(s.shape() == rs.shape());
    CHECK(naive::bit_identical(s, rs));
    CHECK(naive::bit_identical(p, naive::broadcast_binary(a, b, 1)));
  }
  CHECK_THROWS_WITH(ops::add(ctx, pool, naive::random({2, 3}, 1), naive::random({4}, 2)),
                    Catch::Contains("do not broadcast"));
}

TEST_CASE("add_in_place and scale_in_place", "[ops][elementwise]") {
  ops::Context ctx(2);
  engine::BufferPool pool;
  Tensor a = naive::random({2, 8, 8, 40}, 20);
  const Tensor b = naive::random({2, 1, 1, 40}, 21);
  const Tensor ref = naive::broadcast_binary(a, b, 0);
  ops::add_in_place(ctx, a, b);
  CHECK(naive::bit_identical(a, ref));
  ops::scale_in_place(ctx, a, 0.5f);
  CHECK(naive::bit_identical(a, naive::broadcast_binary(ref, Tensor::from_values({1}, {0.5f}), 1)));
  Tensor small = naive::random({3}, 1);
  CHECK_THROWS_WITH(ops::add_in_place(ctx, small, naive::random({2, 3}, 2)),
                    Catch::Contains("does not broadcast onto"));
}

TEST_CASE("upsample, concat and layout changes are exact copies", "[ops][elementwise]") {
  ops::Context ctx(2);
  engine::BufferPool pool;
  const Tensor x = naive::random({2, 5, 3, 7}, 30);
  CHECK(naive::bit_identical(ops::upsample_nearest2x(ctx, pool, x), naive::upsample_nearest2x(x)));
  const Tensor y = naive::random({2, 5, 3, 4}, 31);
  CHECK(naive::bit_identical(ops::concat_channels(ctx, pool, x, y), naive::concat_last(x, y)));
  CHECK_THROWS_WITH(ops::concat_channels(ctx, pool, x, naive::random({2, 5, 4, 4}, 1)),
                    Catch::Contains("differ outside the last axis"));
  const Tensor nchw = naive::random({3, 37, 41, 45}, 32);
  const Tensor nhwc = ops::nchw_to_nhwc(ctx, pool, nchw);
  CHECK(naive::bit_identical(nhwc, naive::nchw_to_nhwc(nchw)));
  CHECK(naive::bit_identical(ops::nhwc_to_nchw(ctx, pool, nhwc), nchw));
}

TEST_CASE("timestep embedding follows torch's fp32 steps, cos half first", "[ops][elementwise]") {
  ops::Context ctx(1);
  engine::BufferPool pool;
  const Tensor t = Tensor::from_values({4}, {0.0f, 1.0f, 500.5f, 999.0f});
  for (const int dim : {320, 7, 1}) {
    const Tensor y = ops::timestep_embedding(ctx, pool, t, dim);
    CHECK(naive::max_abs_err(y, naive::timestep_embedding(t, dim, 10000.0)) < 1e-6);
  }
  const Tensor y = ops::timestep_embedding(ctx, pool, t, 8);
  CHECK(y.f32_data()[0] == 1.0f);  // cos(0)
  CHECK(y.f32_data()[4] == 0.0f);  // sin(0)
}
