#include "engine/lora_delta.hpp"

#include <cfloat>
#include <cmath>
#include <vector>

#include "engine/core/error.hpp"

namespace skingen::engine {
namespace {

using R = LoraRole;
using I = std::int64_t;

// Elementwise passes over fewer elements run on one thread: a parallel region's
// barrier costs more than ~1M multiply-adds on a busy machine.
constexpr I kParallelElements = I{1} << 20;

// dst[out, in·kh·kw] (+)= s · Σ_ij t[i, j, kh, kw] · a[p ← i] · b[j, q]: the Tucker
// rebuild of LyCORIS functional/general.py rebuild_tucker (einsum
// "i j ..., i p, j r -> p r ..."). t [r1, r2, kh, kw], b [r2, in]; `a` is
// [out, r1] (lora_up) or, with a_is_r_by_out, [r1, out] (hada_w*_a, lokr_w2_a).
void tucker_into(LoraGemm& g, const Tensor& t, const float* a, bool a_is_r_by_out, const Tensor& b, I out,
                 float* dst, float s, bool accumulate) {
  const I r1 = t.dim(0), r2 = t.dim(1), kk = t.dim(2) * t.dim(3);
  const I in = b.numel() / r2;
  const float* tp_src = t.f32_data();
  Tensor tp = Tensor::f32({r1 * kk, r2});  // t permuted to [i, kh, kw, j]
  float* tpd = tp.f32_mut();
  for (I i = 0; i < r1; ++i)
    for (I j = 0; j < r2; ++j)
      for (I x = 0; x < kk; ++x) tpd[(i * kk + x) * r2 + j] = tp_src[(i * r2 + j) * kk + x];
  Tensor u = Tensor::f32({r1 * kk, in});  // [i, kh, kw, q]
  g.run(tpd, false, b.f32_data(), u.f32_mut(), r1 * kk, r2, in, 1.0f, false);
  Tensor up = Tensor::f32({r1, in * kk});  // [i, q, kh, kw]
  const float* ud = u.f32_data();
  float* upd = up.f32_mut();
  for (I i = 0; i < r1; ++i)
    for (I x = 0; x < kk; ++x)
      for (I q = 0; q < in; ++q) upd[(i * in + q) * kk + x] = ud[(i * kk + x) * in + q];
  g.run(a, a_is_r_by_out, upd, dst, out, r1, in * kk, s, accumulate);
}

// A factor [rows, cols] of LoHa / LoKr: w_a @ w_b, or the Tucker rebuild.
Tensor factor(LoraGemm& g, const LoraModule& m, R wa, R wb, std::optional<R> t) {
  const Tensor& a = m.get(wa);
  const Tensor& b = m.get(wb);
  if (t && m.has(*t)) {
    const Tensor& core = m.get(*t);
    const I out = a.dim(1);
    Tensor r = Tensor::f32({out, b.dim(1) * core.dim(2) * core.dim(3)});
    tucker_into(g, core, a.f32_data(), true, b, out, r.f32_mut(), 1.0f, false);
    return r;
  }
  Tensor r = Tensor::f32({a.dim(0), b.dim(1)});
  g.run(a.f32_data(), false, b.f32_data(), r.f32_mut(), a.dim(0), a.dim(1), b.dim(1), 1.0f, false);
  return r;
}

void add_loha(LoraGemm& g, const LoraModule& m, float s, float* w, I n) {
  const Tensor m1 = factor(g, m, R::HadaW1A, R::HadaW1B, R::HadaT1);
  const Tensor m2 = factor(g, m, R::HadaW2A, R::HadaW2B, R::HadaT2);
  const float* p1 = m1.f32_data();
  const float* p2 = m2.f32_data();
#pragma omp parallel for schedule(static) if (n >= kParallelElements)
  for (I i = 0; i < n; ++i) w[i] += s * (p1[i] * p2[i]);
}

void add_lokr(LoraGemm& g, const LoraModule& m, float s, float* w, I n) {
  const Tensor w1 = m.has(R::LokrW1) ? m.get(R::LokrW1) : factor(g, m, R::LokrW1A, R::LokrW1B, std::nullopt);
  const Tensor w2 = m.has(R::LokrW2) ? m.get(R::LokrW2) : factor(g, m, R::LokrW2A, R::LokrW2B, R::LokrT2);
  const I a = w1.dim(0), b = w1.dim(1);
  const I c = w2.dim(0), d = w2.numel() / c;  // w2 flattened to [c, d·kh·kw]
  if (a * b * c * d != n) throw FormatError("LoKr module '" + m.key + "': kron size does not match the weight");
  const float* p1 = w1.f32_data();
  const float* p2 = w2.f32_data();
  // kron: ΔW[i·c + p, j·d + q] = w1[i, j] · w2[p, q] (torch.kron; a 4-D w2 flattens the same way).
#pragma omp parallel for collapse(2) schedule(static) if (n >= kParallelElements)
  for (I i = 0; i < a; ++i)
    for (I p = 0; p < c; ++p) {
      float* row = w + (i * c + p) * (b * d);
      const float* w2row = p2 + p * d;
      for (I j = 0; j < b; ++j) {
        const float v = s * p1[i * b + j];
        float* dst = row + j * d;
        for (I q = 0; q < d; ++q) dst[q] += v * w2row[q];
      }
    }
}

}  // namespace

void add_lora_delta(LoraGemm& g, const LoraModule& m, float s, Tensor& w) {
  const I n = w.numel();
  float* wd = w.f32_mut();
  switch (m.kind) {
    case LoraKind::LoRA: {
      const Tensor& up = m.get(R::Up);
      const Tensor& down = m.get(R::Down);
      const I out = up.dim(0), r = up.dim(1);
      if (m.has(R::Mid)) {
        tucker_into(g, m.get(R::Mid), up.f32_data(), false, down, out, wd, s, true);
      } else {
        g.run(up.f32_data(), false, down.f32_data(), wd, out, r, down.numel() / r, s, true);
      }
      return;
    }
    case LoraKind::LoHa: add_loha(g, m, s, wd, n); return;
    case LoraKind::LoKr: add_lokr(g, m, s, wd, n); return;
    case LoraKind::Full: {
      if (!m.has(R::Diff)) return;
      const float* d = m.get(R::Diff).f32_data();
#pragma omp parallel for schedule(static) if (n >= kParallelElements)
      for (I i = 0; i < n; ++i) wd[i] += s * d[i];
      return;
    }
  }
}

void add_lora_bias_delta(const LoraModule& m, float s, Tensor& bias) {
  const Tensor& d = m.has(R::DiffB) ? m.get(R::DiffB) : m.get(R::UpBias);
  const float* dp = d.f32_data();
  float* b = bias.f32_mut();
  for (I i = 0; i < bias.numel(); ++i) b[i] += s * dp[i];
}

std::optional<DoraAxis> dora_axis(const LoraModule& m, const Shape& weight) {
  if (!m.dora() || weight.size() < 2) return std::nullopt;
  const Shape& d = m.get(R::DoraScale).shape();
  const I n = shape_numel(d);
  if (n == weight[0] && !d.empty() && d[0] == weight[0]) return DoraAxis::Output;
  if (n == weight[1] && d.size() >= 2 && d[0] == 1 && d[1] == weight[1]) return DoraAxis::Input;
  return std::nullopt;
}

void add_dora_delta(LoraGemm& g, const LoraModule& m, float multiplier, const Tensor& w0, Tensor& w) {
  const auto axis = dora_axis(m, w.shape());
  if (!axis) throw FormatError("LoRA module '" + m.key + "': dora_scale does not fit the weight");
  Tensor v = w0.clone();
  add_lora_delta(g, m, static_cast<float>(m.base_scale()), v);
  const I out = w.dim(0), in = w.dim(1), n = w.numel();
  const I kk = n / (out * in);
  const float* vd = v.f32_data();
  const float* w0d = w0.f32_data();
  const float* mag = m.get(R::DoraScale).f32_data();
  float* wd = w.f32_mut();
  // torch.finfo(torch.float32).eps, added to the norm by LyCORIS and ComfyUI.
  constexpr double eps = FLT_EPSILON;
  std::vector<double> norm(static_cast<std::size_t>(*axis == DoraAxis::Output ? out : in), 0.0);
  for (I o = 0; o < out; ++o)
    for (I i = 0; i < in; ++i)
      for (I x = 0; x < kk; ++x) {
        const double e = vd[(o * in + i) * kk + x];
        norm[static_cast<std::size_t>(*axis == DoraAxis::Output ? o : i)] += e * e;
      }
  std::vector<float> factor(norm.size());
  for (std::size_t k = 0; k < norm.size(); ++k) factor[k] = static_cast<float>(mag[k] / (std::sqrt(norm[k]) + eps));
  for (I o = 0; o < out; ++o)
    for (I i = 0; i < in; ++i) {
      const float f = factor[static_cast<std::size_t>(*axis == DoraAxis::Output ? o : i)];
      for (I x = 0; x < kk; ++x) {
        const I at = (o * in + i) * kk + x;
        wd[at] += multiplier * (f * vd[at] - w0d[at]);
      }
    }
}

}  // namespace skingen::engine
