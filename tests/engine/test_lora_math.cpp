// The merge arithmetic against naive loops written from the upstream
// formulas (docs/FORMATS.md, "LoRA formulas" and "DoRA"): the oneDNN GEMM
// with fused scale/accumulate, LoCon, CP, LoHa (plain and Tucker), LoKr (4-D and Tucker factors) and DoRA
// on both axes.
#include <catch2/catch.hpp>

#include <cfloat>
#include <cmath>
#include <random>

#include "engine/lora_delta.hpp"
#include "test_util/compare.hpp"

using namespace skingen;
using engine::LoraRole;
using engine::Tensor;
using I = std::int64_t;

namespace {

Tensor rnd(engine::Shape s, std::mt19937& g, float std = 1.0f) {
  Tensor t = Tensor::f32(std::move(s));
  std::normal_distribution<float> n(0, std);
  for (I i = 0; i < t.numel(); ++i) t.f32_mut()[i] = n(g);
  return t;
}

engine::LoraModule make(std::initializer_list<std::pair<LoraRole, Tensor>> parts) {
  engine::LoraModule m;
  m.key = "test";
  for (const auto& [r, t] : parts) {
    m.t[static_cast<std::size_t>(r)] = t;
    m.names[static_cast<std::size_t>(r)] = "test." + std::string(engine::lora_role_name(r));
  }
  engine::analyse_lora_module(m, "test.safetensors");
  return m;
}

double at(const Tensor& t, std::initializer_list<I> idx) {
  I off = 0;
  int d = 0;
  for (I i : idx) off = off * t.dim(d++) + i;
  return t.f32_data()[off];
}

// Naive Tucker rebuild: R[p, q, k, l] = Σ_ij t[i, j, k, l] · a(i, p) · b[j, q].
template <class A>
Tensor naive_tucker(const Tensor& t, A a, const Tensor& b, I out) {
  const I r1 = t.dim(0), r2 = t.dim(1), kh = t.dim(2), kw = t.dim(3), in = b.dim(1);
  Tensor r = Tensor::zeros(engine::DType::F32, {out, in, kh, kw});
  for (I p = 0; p < out; ++p)
    for (I q = 0; q < in; ++q)
      for (I k = 0; k < kh; ++k)
        for (I l = 0; l < kw; ++l) {
          double s = 0;
          for (I i = 0; i < r1; ++i)
            for (I j = 0; j < r2; ++j) s += at(t, {i, j, k, l}) * a(i, p) * at(b, {j, q});
          r.f32_mut()[((p * in + q) * kh + k) * kw + l] = static_cast<float>(s);
        }
  return r;
}

Tensor naive_mm(const Tensor& a, const Tensor& b) {  // [M, K] @ [K, N] (trailing dims flattened)
  const I m = a.dim(0), k = a.numel() / m, n = b.numel() / b.dim(0);
  Tensor r = Tensor::f32({m, n});
  for (I i = 0; i < m; ++i)
    for (I j = 0; j < n; ++j) {
      double s = 0;
      for (I x = 0; x < k; ++x) s += static_cast<double>(a.f32_data()[i * k + x]) * b.f32_data()[x * n + j];
      r.f32_mut()[i * n + j] = static_cast<float>(s);
    }
  return r;
}

// base + s · delta, elementwise (delta may be any shape with the same count).
Tensor plus(const Tensor& base, const Tensor& delta, double s) {
  Tensor r = base.clone();
  for (I i = 0; i < r.numel(); ++i) r.f32_mut()[i] += static_cast<float>(s * delta.f32_data()[i]);
  return r;
}

Tensor merged(const engine::LoraModule& m, const Tensor& w, float s) {
  ops::Context ctx(0);
  engine::LoraGemm g(ctx);
  Tensor r = w.clone();
  engine::add_lora_delta(g, m, s, r);
  return r;
}

}  // namespace

TEST_CASE("LoraGemm: scaled, accumulated, transposed products on oneDNN", "[lora]") {
  std::mt19937 g(1);
  ops::Context ctx(0);
  engine::LoraGemm gemm(ctx);
  for (auto [m, k, n] : {std::tuple<I, I, I>{1, 1, 1}, {7, 3, 5}, {64, 16, 9 * 33}, {320, 128, 320}}) {
    for (bool trans : {false, true}) {
      for (bool acc : {false, true}) {
        INFO(m << "x" << k << "x" << n << " trans " << trans << " acc " << acc);
        const Tensor a = rnd(trans ? engine::Shape{k, m} : engine::Shape{m, k}, g);
        const Tensor b = rnd({k, n}, g);
        const Tensor c0 = rnd({m, n}, g);
        Tensor c = c0.clone();
        gemm.run(a.f32_data(), trans, b.f32_data(), c.f32_mut(), m, k, n, 0.37f, acc);
        Tensor want = Tensor::f32({m, n});
        for (I i = 0; i < m; ++i)
          for (I j = 0; j < n; ++j) {
            double s = 0;
            for (I x = 0; x < k; ++x) s += (trans ? at(a, {x, i}) : at(a, {i, x})) * at(b, {x, j});
            want.f32_mut()[i * n + j] = static_cast<float>(0.37 * s + (acc ? c0.f32_data()[i * n + j] : 0.0));
          }
        CHECK(relative_l2(c, want) < 1e-6);
      }
    }
  }
  CHECK(gemm.flops() > 0);
}

TEST_CASE("LoCon and CP deltas match the naive formulas", "[lora]") {
  std::mt19937 g(2);
  const Tensor w = rnd({12, 6, 3, 3}, g);
  SECTION("LoCon 3×3: up[out, r] @ down[r, in·3·3]") {
    const Tensor down = rnd({4, 6, 3, 3}, g), up = rnd({12, 4, 1, 1}, g);
    const auto m = make({{LoraRole::Down, down}, {LoraRole::Up, up}});
    CHECK(relative_l2(merged(m, w, 0.8f), plus(w, naive_mm(up, down), 0.8)) < 1e-6);
  }
  SECTION("CP: einsum(m n k l, i m, n j -> i j k l)") {
    const Tensor down = rnd({4, 6, 1, 1}, g), mid = rnd({5, 4, 3, 3}, g), up = rnd({12, 5, 1, 1}, g);
    const auto m = make({{LoraRole::Down, down}, {LoraRole::Mid, mid}, {LoraRole::Up, up}});
    const Tensor want = naive_tucker(mid, [&](I i, I p) { return at(up, {p, i, 0, 0}); }, down.reshaped({4, 6}), 12);
    CHECK(relative_l2(merged(m, w, -0.5f), plus(w, want, -0.5)) < 1e-6);
  }
}

TEST_CASE("LoHa and LoKr deltas match the naive formulas", "[lora]") {
  std::mt19937 g(3);
  SECTION("LoHa plain: (w1a @ w1b) ⊙ (w2a @ w2b)") {
    const Tensor w = rnd({8, 5, 3, 3}, g);
    const Tensor a1 = rnd({8, 3}, g), b1 = rnd({3, 45}, g), a2 = rnd({8, 3}, g), b2 = rnd({3, 45}, g);
    const auto m = make({{LoraRole::HadaW1A, a1}, {LoraRole::HadaW1B, b1}, {LoraRole::HadaW2A, a2}, {LoraRole::HadaW2B, b2}});
    const Tensor m1 = naive_mm(a1, b1), m2 = naive_mm(a2, b2);
    Tensor prod = Tensor::f32({8, 45});
    for (I i = 0; i < prod.numel(); ++i) prod.f32_mut()[i] = m1.f32_data()[i] * m2.f32_data()[i];
    CHECK(relative_l2(merged(m, w, 0.6f), plus(w, prod, 0.6)) < 1e-6);
  }
  SECTION("LoHa Tucker: einsum(i j k l, j r, i p -> p r k l) per factor") {
    const Tensor w = rnd({8, 5, 3, 3}, g);
    const Tensor t1 = rnd({3, 3, 3, 3}, g), a1 = rnd({3, 8}, g), b1 = rnd({3, 5}, g);
    const Tensor t2 = rnd({3, 3, 3, 3}, g), a2 = rnd({3, 8}, g), b2 = rnd({3, 5}, g);
    const auto m = make({{LoraRole::HadaW1A, a1}, {LoraRole::HadaW1B, b1}, {LoraRole::HadaT1, t1},
                         {LoraRole::HadaW2A, a2}, {LoraRole::HadaW2B, b2}, {LoraRole::HadaT2, t2}});
    const Tensor r1 = naive_tucker(t1, [&](I i, I p) { return at(a1, {i, p}); }, b1, 8);
    const Tensor r2 = naive_tucker(t2, [&](I i, I p) { return at(a2, {i, p}); }, b2, 8);
    Tensor prod = Tensor::f32(w.shape());
    for (I i = 0; i < prod.numel(); ++i) prod.f32_mut()[i] = r1.f32_data()[i] * r2.f32_data()[i];
    CHECK(relative_l2(merged(m, w, 1.0f), plus(w, prod, 1.0)) < 1e-6);
  }
  SECTION("LoKr: kron(w1, w2) with a 4-D w2 and with a Tucker w2") {
    const Tensor w = rnd({6, 8, 3, 3}, g);
    const Tensor w1 = rnd({2, 4}, g), w2 = rnd({3, 2, 3, 3}, g);
    auto kron = [&](const Tensor& f2) {
      Tensor r = Tensor::f32(w.shape());
      for (I i = 0; i < 2; ++i)
        for (I j = 0; j < 4; ++j)
          for (I p = 0; p < 3; ++p)
            for (I q = 0; q < 2; ++q)
              for (I x = 0; x < 9; ++x)
                r.f32_mut()[((i * 3 + p) * 8 + (j * 2 + q)) * 9 + x] = w1.f32_data()[i * 4 + j] * f2.f32_data()[(p * 2 + q) * 9 + x];
      return r;
    };
    const auto full = make({{LoraRole::LokrW1, w1}, {LoraRole::LokrW2, w2}});
    CHECK(relative_l2(merged(full, w, 0.9f), plus(w, kron(w2), 0.9)) < 1e-6);

    const Tensor t2 = rnd({2, 2, 3, 3}, g), a2 = rnd({2, 3}, g), b2 = rnd({2, 2}, g);
    const auto tucker = make({{LoraRole::LokrW1, w1}, {LoraRole::LokrW2A, a2}, {LoraRole::LokrW2B, b2}, {LoraRole::LokrT2, t2}});
    const Tensor f2 = naive_tucker(t2, [&](I i, I p) { return at(a2, {i, p}); }, b2, 3);
    CHECK(relative_l2(merged(tucker, w, 0.9f), plus(w, kron(f2), 0.9)) < 1e-6);
  }
}

TEST_CASE("DoRA on both axes, with the W + m·(W_DoRA − W) convention", "[lora]") {
  std::mt19937 g(4);
  const Tensor w0 = rnd({6, 4, 3, 3}, g);
  const Tensor down = rnd({2, 4, 3, 3}, g, 0.3f), up = rnd({6, 2, 1, 1}, g, 0.3f);
  const Tensor dw = naive_mm(up, down);
  for (const bool out_axis : {true, false}) {
    INFO((out_axis ? "output axis" : "input axis"));
    const Tensor mag = rnd(out_axis ? engine::Shape{6, 1, 1, 1} : engine::Shape{1, 4, 1, 1}, g);
    auto m = make({{LoraRole::Down, down}, {LoraRole::Up, up}, {LoraRole::DoraScale, mag}});
    m.alpha = 1.0;  // rank 2 → scale 0.5
    REQUIRE(engine::dora_axis(m, w0.shape()) == (out_axis ? engine::DoraAxis::Output : engine::DoraAxis::Input));
    // V = W + 0.5 ΔW; norm per output row or input column (+ FLT_EPSILON); W' = W + m (mag V / ‖V‖ − W).
    const Tensor v = plus(w0, dw, 0.5);
    std::vector<double> norm(out_axis ? 6 : 4, 0.0);
    for (I o = 0; o < 6; ++o)
      for (I i = 0; i < 4; ++i)
        for (I x = 0; x < 9; ++x) norm[static_cast<std::size_t>(out_axis ? o : i)] += std::pow(at(v, {o, i, x / 3, x % 3}), 2);
    for (const float mult : {1.0f, 0.7f}) {
      Tensor want = Tensor::f32(w0.shape());
      for (I o = 0; o < 6; ++o)
        for (I i = 0; i < 4; ++i)
          for (I x = 0; x < 9; ++x) {
            const std::size_t a = static_cast<std::size_t>(out_axis ? o : i);
            const I idx = (o * 4 + i) * 9 + x;
            const double dora = mag.f32_data()[a] * v.f32_data()[idx] / (std::sqrt(norm[a]) + FLT_EPSILON);
            want.f32_mut()[idx] = static_cast<float>(w0.f32_data()[idx] + mult * (dora - w0.f32_data()[idx]));
          }
      ops::Context ctx(0);
      engine::LoraGemm gemm(ctx);
      Tensor w = w0.clone();
      engine::add_dora_delta(gemm, m, mult, w0, w);
      CHECK(relative_l2(w, want) < 1e-6);
    }
  }
}
