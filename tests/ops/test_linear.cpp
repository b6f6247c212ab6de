// linear and matmul against naive loops: odd sizes, extra leading dims,
// fused GELU / SiLU / residual, batch broadcast, transposed operand.
// Tolerance: NMSE ≤ 1e-11; activations add their own ≤ 2e-6 relative error,
// so those cases use NMSE ≤ 1e-10.
#include <catch2/catch.hpp>

#include "ops/linear.hpp"
#include "ops/naive.hpp"

using namespace skingen;
using engine::Tensor;

TEST_CASE("linear matches the naive matrix product", "[ops][linear]") {
  ops::Context ctx(2);
  engine::BufferPool pool;
  struct Case {
    engine::Shape x;
    int out;
    bool bias;
  };
  std::uint32_t seed = 1;
  for (const auto& c : {Case{{3, 5, 7}, 11, true}, Case{{1, 13}, 1, false}, Case{{2, 77, 64}, 40, true},
                        Case{{300, 320}, 640, true}, Case{{1, 1, 1, 9}, 17, true}}) {
    const int in = static_cast<int>(c.x.back());
    const Tensor x = naive::random(c.x, seed++);
    const Tensor w = naive::random({c.out, in}, seed++);
    const Tensor b = c.bias ? naive::random({c.out}, seed++) : Tensor();
    const ops::Linear lin(ctx, w, b);
    CHECK(lin.in_features() == in);
    CHECK(lin.out_features() == c.out);
    const Tensor y = lin.forward(ctx, pool, x);
    const Tensor ref = naive::linear(x, w, b);
    REQUIRE(y.shape() == ref.shape());
    CHECK(naive::nmse(y, ref) < 1e-11);
    CHECK_FALSE(lin.impl_name().empty());
  }
}

TEST_CASE("linear fuses GELU, SiLU and a residual", "[ops][linear]") {
  ops::Context ctx(2);
  engine::BufferPool pool;
  const Tensor x = naive::random({2, 37, 24}, 5, -2.0f, 2.0f);
  const Tensor w = naive::random({48, 24}, 6);
  const Tensor b = naive::random({48}, 7);
  const Tensor r = naive::random({2, 37, 48}, 8);
  const ops::Linear lin(ctx, w, b);
  const Tensor plain = naive::linear(x, w, b);
  ops::LinearExtras ex;
  ex.activation = ops::Activation::GELU;
  CHECK(naive::nmse(lin.forward(ctx, pool, x, ex), naive::map(plain, naive::gelu)) < 1e-10);
  ex.activation = ops::Activation::SiLU;
  CHECK(naive::nmse(lin.forward(ctx, pool, x, ex), naive::map(plain, naive::silu)) < 1e-10);
  ex.activation = ops::Activation::None;
  ex.residual = &r;
  CHECK(naive::nmse(lin.forward(ctx, pool, x, ex), naive::broadcast_binary(plain, r, 0)) < 1e-11);
  ex.activation = ops::Activation::GELU;
  CHECK(naive::nmse(lin.forward(ctx, pool, x, ex), naive::broadcast_binary(naive::map(plain, naive::gelu), r, 0)) <
        1e-10);
  CHECK_THROWS_WITH(lin.forward(ctx, pool, naive::random({3, 23}, 1)), Catch::Contains("must end in 24 features"));
}

TEST_CASE("matmul handles batches, broadcasting and a transposed operand", "[ops][linear]") {
  ops::Context ctx(2);
  engine::BufferPool pool;
  struct Case {
    engine::Shape a, b;
    bool tb;
  };
  std::uint32_t seed = 40;
  for (const auto& c :
       {Case{{3, 5, 7}, {3, 7, 4}, false}, Case{{3, 5, 7}, {3, 4, 7}, true}, Case{{1, 6, 9}, {4, 9, 2}, false},
        Case{{4, 6, 9}, {1, 2, 9}, true}, Case{{33, 17}, {17, 5}, false}, Case{{2, 1, 1}, {2, 1, 3}, false}}) {
    const Tensor a = naive::random(c.a, seed++);
    const Tensor b = naive::random(c.b, seed++);
    const Tensor y = ops::matmul(ctx, pool, a, b, c.tb);
    const Tensor ref = naive::matmul(a, b, c.tb);
    REQUIRE(y.shape() == ref.shape());
    CHECK(naive::nmse(y, ref) < 1e-11);
  }
  CHECK_THROWS_WITH(ops::matmul(ctx, pool, naive::random({2, 3, 4}, 1), naive::random({2, 5, 6}, 2)),
                    Catch::Contains("inner sizes differ"));
  CHECK_THROWS_WITH(ops::matmul(ctx, pool, naive::random({2, 3, 4}, 1), naive::random({3, 4, 6}, 2)),
                    Catch::Contains("do not broadcast"));
}
