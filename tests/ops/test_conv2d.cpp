// conv2d against the naive loop: odd sizes, batch > 1, non-square images,
// strides 1 and 2, asymmetric padding, kernels 1×1 to 5×5 and non-square,
// circular padding per axis against an explicitly wrap-padded input, fused
// residual. Tolerance: NMSE ≤ 1e-11 (fp32 accumulation of ≤ 600 products
// against double gives ~1e-13).
#include <catch2/catch.hpp>

#include "ops/conv2d.hpp"
#include "ops/naive.hpp"

using namespace skingen;
using engine::Tensor;

namespace {

constexpr double kNmse = 1e-11;

struct Case {
  int n, h, w, ci, co, kh, kw, stride;
  ops::Padding2d pad;
  bool bias;
};

Tensor run(const Case& c, ops::Tiling tiling, std::uint32_t seed, Tensor* expected) {
  ops::Context ctx(2);
  engine::BufferPool pool;
  const Tensor x = naive::random({c.n, c.h, c.w, c.ci}, seed);
  const Tensor w = naive::random({c.co, c.ci, c.kh, c.kw}, seed + 1);
  const Tensor b = c.bias ? naive::random({c.co}, seed + 2) : Tensor();
  const ops::Conv2d conv(ctx, w, b, c.stride, c.pad);
  ops::Conv2dExtras ex;
  ex.tiling = tiling;
  // Reference: wrap-pad the tiled axes explicitly, zero-pad the others.
  const bool wy = tiling == ops::Tiling::Y || tiling == ops::Tiling::XY;
  const bool wx = tiling == ops::Tiling::X || tiling == ops::Tiling::XY;
  const Tensor xp =
      naive::wrap_pad(x, wy ? c.pad.top : 0, wy ? c.pad.bottom : 0, wx ? c.pad.left : 0, wx ? c.pad.right : 0);
  *expected = naive::conv2d(xp, w, b, c.stride, wy ? 0 : c.pad.top, wy ? 0 : c.pad.bottom, wx ? 0 : c.pad.left,
                            wx ? 0 : c.pad.right);
  return conv.forward(ctx, pool, x, ex);
}

const Case kCases[] = {
    {2, 7, 5, 3, 5, 3, 3, 1, ops::Padding2d::same(1), true},
    {1, 9, 6, 8, 16, 3, 3, 2, ops::Padding2d::same(1), true},
    {3, 5, 8, 4, 6, 1, 1, 1, ops::Padding2d::same(0), false},
    {2, 6, 7, 5, 7, 3, 3, 2, ops::Padding2d{0, 1, 0, 1}, true},  // VAE encoder downsampler: pad right/bottom
    {1, 11, 9, 6, 4, 5, 5, 1, ops::Padding2d::same(2), true},
    {2, 8, 6, 3, 4, 2, 2, 2, ops::Padding2d::same(0), true},
    {1, 7, 9, 5, 3, 3, 1, 1, ops::Padding2d{1, 1, 0, 0}, false},
    {2, 4, 13, 17, 33, 3, 3, 1, ops::Padding2d::same(1), true},
};

}  // namespace

TEST_CASE("conv2d matches the naive convolution", "[ops][conv2d]") {
  std::uint32_t seed = 10;
  for (const auto& c : kCases) {
    Tensor ref;
    const Tensor y = run(c, ops::Tiling::None, seed += 3, &ref);
    INFO("case n" << c.n << " " << c.h << "x" << c.w << " " << c.ci << "->" << c.co << " k" << c.kh << "x" << c.kw
                  << " s" << c.stride);
    REQUIRE(y.shape() == ref.shape());
    CHECK(naive::nmse(y, ref) < kNmse);
  }
}

TEST_CASE("conv2d circular padding equals the conv of an explicitly wrap-padded input", "[ops][conv2d]") {
  std::uint32_t seed = 100;
  for (const auto tiling : {ops::Tiling::X, ops::Tiling::Y, ops::Tiling::XY}) {
    for (const auto& c : kCases) {
      Tensor ref;
      const Tensor y = run(c, tiling, seed += 3, &ref);
      INFO("tiling " << static_cast<int>(tiling) << " case " << c.h << "x" << c.w << " k" << c.kh << "x" << c.kw << " s"
                     << c.stride);
      REQUIRE(y.shape() == ref.shape());
      CHECK(naive::nmse(y, ref) < kNmse);
    }
  }
}

TEST_CASE("conv2d circular padding differs from zero padding at the border only", "[ops][conv2d]") {
  ops::Context ctx(2);
  engine::BufferPool pool;
  const Tensor x = naive::random({1, 6, 8, 3}, 7);
  const Tensor w = naive::random({2, 3, 3, 3}, 8);
  const ops::Conv2d conv(ctx, w, Tensor(), 1, 1);
  ops::Conv2dExtras ex;
  ex.tiling = ops::Tiling::X;
  const Tensor zero = conv.forward(ctx, pool, x);
  const Tensor wrap = conv.forward(ctx, pool, x, ex);
  for (int y = 0; y < 6; ++y)
    for (int xx = 0; xx < 8; ++xx)
      for (int o = 0; o < 2; ++o) {
        const auto i = (y * 8 + xx) * 2 + o;
        if (xx == 0 || xx == 7)
          CHECK(zero.f32_data()[i] != wrap.f32_data()[i]);
        else
          CHECK(zero.f32_data()[i] == wrap.f32_data()[i]);
      }
}

TEST_CASE("conv2d fuses a residual add, copied or in place", "[ops][conv2d]") {
  ops::Context ctx(2);
  engine::BufferPool pool;
  const Tensor x = naive::random({2, 9, 7, 12}, 21);
  const Tensor w = naive::random({10, 12, 3, 3}, 22);
  const Tensor b = naive::random({10}, 23);
  const Tensor r = naive::random({2, 9, 7, 10}, 24);
  const ops::Conv2d conv(ctx, w, b, 1, 1);
  const Tensor ref = naive::broadcast_binary(naive::conv2d(x, w, b, 1, 1, 1, 1, 1), r, 0);
  ops::Conv2dExtras ex;
  ex.residual = &r;
  const Tensor y = conv.forward(ctx, pool, x, ex);
  CHECK(naive::nmse(y, ref) < kNmse);
  ex.tiling = ops::Tiling::XY;
  const Tensor ref_wrap =
      naive::broadcast_binary(naive::conv2d(naive::wrap_pad(x, 1, 1, 1, 1), w, b, 1, 0, 0, 0, 0), r, 0);
  CHECK(naive::nmse(conv.forward(ctx, pool, x, ex), ref_wrap) < kNmse);

  Tensor acc = r.clone();
  ops::Conv2dExtras in_place;
  in_place.accumulate = &acc;
  const Tensor z = conv.forward(ctx, pool, x, in_place);
  CHECK(z.raw() == acc.raw());
  CHECK(naive::nmse(acc, ref) < kNmse);
}

TEST_CASE("conv2d stays exact when one op sees several input sizes", "[ops][conv2d]") {
  // A 1×1 convolution's preferred weight layout depends on the input size in
  // oneDNN 2.6; the op keeps one reordered copy per layout.
  ops::Context ctx(2);
  engine::BufferPool pool;
  const Tensor w = naive::random({320, 320, 1, 1}, 31);
  const ops::Conv2d conv(ctx, w, Tensor(), 1, 0);
  for (const auto& s : {engine::Shape{1, 1, 1, 320}, engine::Shape{2, 16, 16, 320}, engine::Shape{1, 5, 3, 320},
                        engine::Shape{1, 1, 1, 320}}) {
    const Tensor x = naive::random(s, 32);
    CHECK(naive::nmse(conv.forward(ctx, pool, x), naive::conv2d(x, w, Tensor(), 1, 0, 0, 0, 0)) < kNmse);
  }
}

TEST_CASE("conv2d reports its implementation and FLOPs, and rejects bad inputs", "[ops][conv2d]") {
  ops::Context ctx(2);
  engine::BufferPool pool;
  const ops::Conv2d conv(ctx, naive::random({8, 4, 3, 3}, 1), naive::random({8}, 2), 2, 1);
  CHECK(conv.in_channels() == 4);
  CHECK(conv.out_channels() == 8);
  CHECK(conv.kernel_size() == 3);
  CHECK(conv.flops({2, 10, 10, 4}) == 2.0 * 2 * 5 * 5 * 8 * 4 * 9);
  (void)conv.forward(ctx, pool, naive::random({2, 10, 10, 4}, 3));
  CHECK_FALSE(conv.impl_name().empty());
  CHECK_THROWS_WITH(conv.forward(ctx, pool, naive::random({2, 10, 10, 5}, 3)),
                    Catch::Contains("5 channels, expected 4"));
  const Tensor bad = naive::random({2, 5, 5, 7}, 4);
  ops::Conv2dExtras ex;
  ex.residual = &bad;
  CHECK_THROWS_WITH(conv.forward(ctx, pool, naive::random({2, 10, 10, 4}, 3), ex),
                    Catch::Contains("must be the output shape"));
  CHECK_THROWS(ops::Conv2d(ctx, naive::random({8, 4, 3}, 1), Tensor(), 1, 1));
  CHECK_THROWS(ops::Conv2d(ctx, naive::random({8, 4, 3, 3}, 1), Tensor(), 3, 1));
}

TEST_CASE("conv2d allocates nothing once warm", "[ops][conv2d]") {
  ops::Context ctx(2);
  engine::BufferPool pool;
  const ops::Conv2d conv(ctx, naive::random({6, 5, 3, 3}, 1), naive::random({6}, 2), 1, 1);
  const Tensor x = naive::random({2, 9, 11, 5}, 3);
  const Tensor r = naive::random({2, 9, 11, 6}, 4);
  ops::Conv2dExtras ex;
  ex.tiling = ops::Tiling::XY;
  ex.residual = &r;
  (void)conv.forward(ctx, pool, x, ex);
  const auto before = pool.stats().allocations;
  for (int i = 0; i < 3; ++i) (void)conv.forward(ctx, pool, x, ex);
  CHECK(pool.stats().allocations == before);
}
