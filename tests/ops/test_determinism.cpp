// Every op gives bit-identical results when run twice on the same inputs;
// our own kernels (attention, norms) also across thread counts, because their
// work split and summation order do not depend on the threads.
#include <catch2/catch.hpp>

#include "ops/attention.hpp"
#include "ops/conv2d.hpp"
#include "ops/elementwise.hpp"
#include "ops/linear.hpp"
#include "ops/naive.hpp"
#include "ops/norm.hpp"

using namespace skingen;
using engine::Tensor;

TEST_CASE("ops are bit-identical run to run", "[ops][determinism]") {
  ops::Context ctx(2);
  engine::BufferPool pool;
  const Tensor x = naive::random({2, 24, 20, 64}, 1);
  const Tensor r = naive::random({2, 24, 20, 64}, 2);
  const ops::Conv2d conv(ctx, naive::random({64, 64, 3, 3}, 3), naive::random({64}, 4), 1, 1);
  ops::Conv2dExtras ex;
  ex.tiling = ops::Tiling::XY;
  ex.residual = &r;
  CHECK(naive::bit_identical(conv.forward(ctx, pool, x, ex), conv.forward(ctx, pool, x, ex)));

  const Tensor tokens = x.reshaped({2, 480, 64});
  const ops::Linear lin(ctx, naive::random({256, 64}, 5), naive::random({256}, 6));
  ops::LinearExtras lex;
  lex.activation = ops::Activation::GELU;
  CHECK(naive::bit_identical(lin.forward(ctx, pool, tokens, lex), lin.forward(ctx, pool, tokens, lex)));

  const Tensor g = naive::random({64}, 7), b = naive::random({64}, 8), t = naive::random({2, 64}, 9);
  ops::GroupNormOptions go;
  go.silu = true;
  go.add_before = &t;
  CHECK(naive::bit_identical(ops::group_norm(ctx, pool, x, g, b, go), ops::group_norm(ctx, pool, x, g, b, go)));
  CHECK(naive::bit_identical(ops::layer_norm(ctx, pool, tokens, g, b, 1e-5f),
                             ops::layer_norm(ctx, pool, tokens, g, b, 1e-5f)));
  CHECK(naive::bit_identical(ops::geglu(ctx, pool, tokens), ops::geglu(ctx, pool, tokens)));

  ops::AttentionOptions ao;
  ao.heads = 4;
  const Tensor ctx_tokens = naive::random({2, 77, 64}, 10);
  CHECK(naive::bit_identical(ops::attention(ctx, pool, tokens, ctx_tokens, ctx_tokens, ao),
                             ops::attention(ctx, pool, tokens, ctx_tokens, ctx_tokens, ao)));
}

TEST_CASE("attention and norms do not depend on the thread count", "[ops][determinism]") {
  ops::Context one(1), two(2);
  engine::BufferPool pool;
  const Tensor q = naive::random({2, 300, 80}, 1);
  const Tensor k = naive::random({2, 500, 80}, 2);
  const Tensor v = naive::random({2, 500, 80}, 3);
  for (const bool causal : {false, true}) {
    ops::AttentionOptions ao;
    ao.heads = 2;
    ao.causal = causal;
    const Tensor kk = causal ? q : k, vv = causal ? q : v;
    CHECK(naive::bit_identical(ops::attention(one, pool, q, kk, vv, ao), ops::attention(two, pool, q, kk, vv, ao)));
  }
  const Tensor x = naive::random({2, 40, 30, 96}, 4);
  const Tensor g = naive::random({96}, 5), b = naive::random({96}, 6);
  CHECK(naive::bit_identical(ops::group_norm(one, pool, x, g, b, {}), ops::group_norm(two, pool, x, g, b, {})));
  // 8×8 positions: the statistics are split by channel blocks
  const Tensor wide = naive::random({2, 8, 8, 640}, 7);
  const Tensor gw = naive::random({640}, 8), bw = naive::random({640}, 9);
  CHECK(naive::bit_identical(ops::group_norm(one, pool, wide, gw, bw, {}),
                             ops::group_norm(two, pool, wide, gw, bw, {})));
  // 5.9 MB: sample by sample
  const Tensor big = naive::random({2, 48, 48, 320}, 10);
  const Tensor gb = naive::random({320}, 11), bb = naive::random({320}, 12), tb = naive::random({2, 320}, 13);
  ops::GroupNormOptions go;
  go.silu = true;
  go.add_before = &tb;
  CHECK(naive::bit_identical(ops::group_norm(one, pool, big, gb, bb, go), ops::group_norm(two, pool, big, gb, bb, go)));
  CHECK(naive::bit_identical(ops::layer_norm(one, pool, x, g, b, 1e-5f), ops::layer_norm(two, pool, x, g, b, 1e-5f)));
}
