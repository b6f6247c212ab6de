// Flash attention against the naive softmax(QKᵀ·scale)V, on each microkernel
// in a test case of its own (the AVX-512 cases skip visibly where AVX-512
// cannot run: test_util/kernel_isa.hpp): head dims 1–512, query and key counts
// from 1 up to several key blocks, causal masks, batch > 1.
// Tolerance: NMSE ≤ 1e-10 (measured ~1e-12 at 4096 keys).
#include <catch2/catch.hpp>
#include <cmath>

#include "ops/attention.hpp"
#include "ops/naive.hpp"
#include "test_util/kernel_isa.hpp"

using namespace skingen;
using engine::Tensor;

namespace {

struct Case {
  int n, tq, tk, heads, d;
  bool causal;
};

void check(const Case& c, ops::Isa isa, float scale, std::uint32_t seed) {
  ops::Context ctx(2);
  engine::BufferPool pool;
  const int ch = c.heads * c.d;
  const Tensor q = naive::random({c.n, c.tq, ch}, seed, -2.0f, 2.0f);
  const Tensor k = naive::random({c.n, c.tk, ch}, seed + 1, -2.0f, 2.0f);
  const Tensor v = naive::random({c.n, c.tk, ch}, seed + 2);
  ops::AttentionOptions o;
  o.heads = c.heads;
  o.causal = c.causal;
  o.isa = isa;
  o.scale = scale;
  const Tensor y = ops::attention(ctx, pool, q, k, v, o);
  const double s = scale > 0 ? scale : 1.0 / std::sqrt(static_cast<double>(c.d));
  const Tensor ref = naive::attention(q, k, v, c.heads, s, c.causal);
  INFO(ops::attention_kernel_name(isa) << " n" << c.n << " tq" << c.tq << " tk" << c.tk << " heads" << c.heads << " d"
                                       << c.d << (c.causal ? " causal" : ""));
  REQUIRE(y.shape() == ref.shape());
  CHECK(naive::nmse(y, ref) < 1e-10);
}

const Case kCases[] = {
    {1, 1, 1, 1, 1, false},      {2, 5, 7, 3, 8, false},     {1, 70, 77, 2, 40, false},  {2, 33, 200, 2, 13, false},
    {1, 130, 300, 1, 16, false}, {1, 20, 9, 4, 80, false},   {2, 65, 77, 1, 160, false}, {1, 77, 77, 3, 64, true},
    {2, 45, 45, 2, 5, true},     {1, 200, 200, 1, 24, true}, {1, 9, 40, 2, 7, true},     {1, 70, 150, 1, 512, false},
    {3, 100, 1, 2, 8, false},    {1, 3, 333, 1, 3, false},
};

void check_all_cases(ops::Isa isa, const char* kernel) {
  require_kernel("attention", ops::attention_kernel_name(isa), kernel);
  std::uint32_t seed = 1;
  for (const auto& c : kCases) check(c, isa, 0.0f, seed += 3);
}

// Keys 0-65 score 0, 66-131 score 15, 132-197 score 80, 198-263 score 5
// (key blocks are 66 keys): runs the fused exponentials' reference move
// after a moderate rise, the two-pass fallback for a jump far above the
// reference, and a block far below it that underflows.
void check_block_jumps(ops::Isa isa, const char* kernel) {
  require_kernel("attention", ops::attention_kernel_name(isa), kernel);
  ops::Context ctx(2);
  engine::BufferPool pool;
  const int tk = 264;
  Tensor q = Tensor::zeros(engine::DType::F32, {1, 3, 4});
  Tensor k = Tensor::zeros(engine::DType::F32, {1, tk, 4});
  const Tensor v = naive::random({1, tk, 4}, 11);
  for (int i = 0; i < 3; ++i) q.f32_mut()[i * 4] = 1.0f + 0.01f * i;
  for (int j = 0; j < tk; ++j) k.f32_mut()[j * 4] = j < 66 ? 0.0f : j < 132 ? 15.0f : j < 198 ? 80.0f : 5.0f;
  ops::AttentionOptions o;
  o.scale = 1.0f;
  o.isa = isa;
  const Tensor y = ops::attention(ctx, pool, q, k, v, o);
  CHECK(naive::nmse(y, naive::attention(q, k, v, 1, 1.0, false)) < 1e-10);
}

}  // namespace

TEST_CASE("attention matches the naive softmax attention (AVX2 kernel)", "[ops][attention]") {
  check_all_cases(ops::Isa::Avx2, "avx2");
}

TEST_CASE("attention matches the naive softmax attention (AVX-512 kernel)", "[ops][attention][avx512]") {
  if (skip_without_avx512()) return;
  check_all_cases(ops::Isa::Avx512, "avx512");
}

TEST_CASE("attention honours an explicit scale", "[ops][attention]") {
  check({2, 17, 29, 2, 12, false}, ops::Isa::Auto, 0.7f, 99);
  check({1, 40, 40, 1, 32, true}, ops::Isa::Auto, 0.05f, 98);
}

TEST_CASE("attention is stable for large logits", "[ops][attention]") {
  // Scores up to ~±2000: the running max must keep every exp finite.
  ops::Context ctx(2);
  engine::BufferPool pool;
  Tensor q = naive::random({1, 50, 16}, 5, -12.0f, 12.0f);
  Tensor k = naive::random({1, 300, 16}, 6, -12.0f, 12.0f);
  const Tensor v = naive::random({1, 300, 16}, 7);
  ops::AttentionOptions o;
  o.scale = 1.0f;
  const Tensor y = ops::attention(ctx, pool, q, k, v, o);
  CHECK(naive::nmse(y, naive::attention(q, k, v, 1, 1.0, false)) < 1e-10);
}

TEST_CASE("attention follows scores that jump between key blocks (AVX2 kernel)", "[ops][attention]") {
  check_block_jumps(ops::Isa::Avx2, "avx2");
}

TEST_CASE("attention follows scores that jump between key blocks (AVX-512 kernel)", "[ops][attention][avx512]") {
  if (skip_without_avx512()) return;
  check_block_jumps(ops::Isa::Avx512, "avx512");
}

TEST_CASE("attention memory stays bounded by its tiles", "[ops][attention]") {
  // 256 queries × 4096 keys: a full score matrix would be 4 MiB.
  ops::Context ctx(2);
  engine::BufferPool pool;
  const Tensor q = naive::random({1, 256, 8}, 1);
  const Tensor k = naive::random({1, 4096, 8}, 2);
  const Tensor v = naive::random({1, 4096, 8}, 3);
  const Tensor y = ops::attention(ctx, pool, q, k, v, {});
  const auto extra = pool.stats().peak_bytes_in_use - y.nbytes();
  CHECK(extra < 512 * 1024);
  CHECK(naive::nmse(y, naive::attention(q, k, v, 1, 1.0 / std::sqrt(8.0), false)) < 1e-10);
  (void)ops::attention(ctx, pool, q, k, v, {});  // a second output buffer while y lives
  const auto allocations = pool.stats().allocations;
  for (int i = 0; i < 3; ++i) (void)ops::attention(ctx, pool, q, k, v, {});
  CHECK(pool.stats().allocations == allocations);
}

TEST_CASE("SD self-attention at 4096 tokens needs far less than 64 MB beyond its output", "[ops][attention]") {
  // The UNet's largest attention (64×64 latents, batch 2, 8 heads of 40):
  // a score matrix per head would be 64 MiB, all heads 1 GiB.
  ops::Context ctx(2);
  engine::BufferPool pool;
  const Tensor q = naive::random({2, 4096, 320}, 1);
  const Tensor k = naive::random({2, 4096, 320}, 2);
  const Tensor v = naive::random({2, 4096, 320}, 3);
  ops::AttentionOptions o;
  o.heads = 8;
  const Tensor y = ops::attention(ctx, pool, q, k, v, o);
  const auto extra = pool.stats().peak_bytes_in_use - y.nbytes();
  INFO("extra bytes " << extra);
  CHECK(extra < 1024 * 1024);  // the per-thread tiles: ~90 KB each
}

TEST_CASE("attention rejects inconsistent shapes", "[ops][attention]") {
  ops::Context ctx(1);
  engine::BufferPool pool;
  ops::AttentionOptions o;
  o.heads = 3;
  CHECK_THROWS_WITH(ops::attention(ctx, pool, naive::random({1, 4, 8}, 1), naive::random({1, 5, 8}, 2),
                                   naive::random({1, 5, 8}, 3), o),
                    Catch::Contains("do not split into 3 heads"));
  CHECK_THROWS_WITH(ops::attention(ctx, pool, naive::random({1, 4, 8}, 1), naive::random({1, 5, 8}, 2),
                                   naive::random({1, 6, 8}, 3), {}),
                    Catch::Contains("must be [N, Tq, C]"));
}
