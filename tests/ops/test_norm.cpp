// group_norm and layer_norm against two-pass double references: odd channel
// counts, several statistics chunks and channel blocks, whole-batch and
// sample-by-sample passes, fused SiLU and time-embedding add, large
// means (|mean|/std ≈ 170) with and without an outlier, constant groups; the
// AVX2 and AVX-512 inner loops each in a test case of its own, the AVX-512
// ones bit-identical to AVX2 (they skip visibly where AVX-512 cannot run:
// test_util/kernel_isa.hpp).
// Tolerance: max |y - ref| ≤ 2e-6 for O(1) outputs (the UNet must match
// PyTorch to ~1e-4, so norms get ~1e-6).
#include <catch2/catch.hpp>

#include <cstring>

#include "ops/naive.hpp"
#include "ops/norm.hpp"
#include "test_util/kernel_isa.hpp"

using namespace skingen;
using engine::Tensor;

namespace {

// Against the double-precision reference with `isa`; the AVX-512 loops must
// also give the AVX2 loops' bits (lane-wise the same arithmetic in the same order).
void check_group_norm(ops::Isa isa, const char* kernel) {
  require_kernel("group_norm", ops::group_norm_kernel_name(isa), kernel);
  ops::Context ctx(2);
  engine::BufferPool pool;
  struct Case {
    engine::Shape x;
    int groups;
    bool silu, add;
  };
  std::uint32_t seed = 1;
  for (const auto& c :
       {Case{{2, 5, 7, 64}, 32, false, false}, Case{{3, 4, 4, 96}, 32, true, false},
        Case{{2, 30, 20, 48}, 8, true, true}, Case{{1, 1, 1, 32}, 32, false, true}, Case{{2, 300, 40}, 8, false, false},
        Case{{1, 17, 9, 33}, 3, true, true}, Case{{2, 16, 16, 320}, 32, true, true},
        // channel blocks in the statistics pass, normalise chunks straddling samples
        Case{{3, 3, 5, 200}, 8, true, true}, Case{{3, 8, 8, 1280}, 32, true, true},
        // sample by sample (the batch exceeds the whole-batch size): an odd group
        // count, a last chunk of 67 rows, streamed stores
        Case{{2, 64, 64, 160}, 32, true, false}, Case{{3, 40, 40, 264}, 3, true, true},
        Case{{2, 45, 47, 320}, 32, false, true}, Case{{2, 64, 72, 512}, 32, false, true}}) {
    const auto ch = c.x.back();
    const Tensor x = naive::random(c.x, seed++, -3.0f, 5.0f);
    const Tensor g = naive::random({ch}, seed++, 0.5f, 1.5f);
    const Tensor b = naive::random({ch}, seed++);
    const Tensor t = naive::random({c.x[0], ch}, seed++, -2.0f, 2.0f);
    ops::GroupNormOptions o;
    o.groups = c.groups;
    o.silu = c.silu;
    o.add_before = c.add ? &t : nullptr;
    const Tensor ref = naive::group_norm(x, g, b, c.groups, 1e-5, c.silu, c.add ? &t : nullptr);
    INFO("x " << engine::shape_str(c.x) << " groups " << c.groups << " silu " << c.silu << " add " << c.add);
    o.isa = isa;
    const Tensor y = ops::group_norm(ctx, pool, x, g, b, o);
    REQUIRE(y.shape() == ref.shape());
    CHECK(naive::max_abs_err(y, ref) < 2e-6);
    if (isa != ops::Isa::Avx2) {
      o.isa = ops::Isa::Avx2;
      const Tensor y2 = ops::group_norm(ctx, pool, x, g, b, o);
      CHECK(std::memcmp(y2.f32_data(), y.f32_data(), 4 * static_cast<std::size_t>(y.numel())) == 0);
    }
  }
}

void check_large_means(ops::Isa isa, const char* kernel) {
  require_kernel("group_norm", ops::group_norm_kernel_name(isa), kernel);
  ops::Context ctx(2);
  engine::BufferPool pool;
  const Tensor g = naive::random({64}, 8, 0.5f, 1.5f);
  const Tensor b = naive::random({64}, 9);
  ops::GroupNormOptions o;
  o.eps = 1e-6f;
  o.isa = isa;
  const Tensor x = naive::random({2, 12, 10, 64}, 7, 99.0f, 101.0f);
  // An outlier (30 standard deviations off) at the first position: the
  // statistics must not depend on where the sums are centred.
  Tensor outlier = naive::random({2, 12, 10, 64}, 7, 99.0f, 101.0f);
  for (std::int64_t i = 0; i < 64; ++i) outlier.f32_mut()[i] = 117.0f;
  // Group 0 (channels 0 and 1) constant: variance 0, output β.
  Tensor constant = naive::random({2, 12, 10, 64}, 7, 99.0f, 101.0f);
  for (std::int64_t i = 0; i < constant.numel(); i += 64) constant.f32_mut()[i] = constant.f32_mut()[i + 1] = 100.5f;
  const Tensor* const inputs[] = {&x, &outlier, &constant};
  for (const Tensor* in : inputs) {
    INFO((in == &outlier ? "outlier first row" : in == &constant ? "constant group" : "plain"));
    const Tensor y = ops::group_norm(ctx, pool, *in, g, b, o);
    CHECK(naive::max_abs_err(y, naive::group_norm(*in, g, b, 32, 1e-6, false, nullptr)) < 2e-6);
  }
}

}  // namespace

TEST_CASE("group_norm matches the double-precision reference (AVX2 kernel)", "[ops][norm]") {
  check_group_norm(ops::Isa::Avx2, "avx2");
}

TEST_CASE("group_norm matches the double-precision reference and the AVX2 bits (AVX-512 kernel)",
          "[ops][norm][avx512]") {
  if (skip_without_avx512()) return;
  check_group_norm(ops::Isa::Avx512, "avx512");
}

TEST_CASE("group_norm keeps its accuracy for large means (AVX2 kernel)", "[ops][norm]") {
  check_large_means(ops::Isa::Avx2, "avx2");
}

TEST_CASE("group_norm keeps its accuracy for large means (AVX-512 kernel)", "[ops][norm][avx512]") {
  if (skip_without_avx512()) return;
  check_large_means(ops::Isa::Avx512, "avx512");
}

TEST_CASE("group_norm rejects bad arguments", "[ops][norm]") {
  ops::Context ctx(1);
  engine::BufferPool pool;
  const Tensor g = naive::random({48}, 1), b = naive::random({48}, 2);
  ops::GroupNormOptions o;
  CHECK_THROWS_WITH(ops::group_norm(ctx, pool, naive::random({1, 4, 48}, 3), g, b, o),
                    Catch::Contains("do not split into 32 groups"));
  o.groups = 8;
  const Tensor t = naive::random({2, 48}, 4);
  o.add_before = &t;
  CHECK_THROWS_WITH(ops::group_norm(ctx, pool, naive::random({1, 4, 48}, 3), g, b, o),
                    Catch::Contains("add_before must be [1, 48]"));
}

TEST_CASE("layer_norm matches the double-precision reference", "[ops][norm]") {
  ops::Context ctx(2);
  engine::BufferPool pool;
  std::uint32_t seed = 50;
  for (const auto& s : {engine::Shape{5, 7, 320}, engine::Shape{3, 33}, engine::Shape{1, 1, 1},
                        engine::Shape{2, 77, 768}, engine::Shape{4, 1280}}) {
    const Tensor x = naive::random(s, seed++, -4.0f, 6.0f);
    const Tensor g = naive::random({s.back()}, seed++, 0.5f, 1.5f);
    const Tensor b = naive::random({s.back()}, seed++);
    const Tensor y = ops::layer_norm(ctx, pool, x, g, b, 1e-5f);
    INFO("x " << engine::shape_str(s));
    CHECK(naive::max_abs_err(y, naive::layer_norm(x, g, b, 1e-5)) < 2e-6);
  }
  const Tensor x = naive::random({6, 96}, 9, 99.0f, 101.0f);
  const Tensor g = naive::random({96}, 10, 0.5f, 1.5f), b = naive::random({96}, 11);
  CHECK(naive::max_abs_err(ops::layer_norm(ctx, pool, x, g, b, 1e-5f), naive::layer_norm(x, g, b, 1e-5)) < 2e-6);
}
