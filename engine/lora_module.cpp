#include "engine/lora_module.hpp"

#include <cmath>
#include <initializer_list>

#include "engine/core/error.hpp"

namespace skingen::engine {
namespace {

using R = LoraRole;

struct Check {
  const LoraModule& m;
  const std::string& file;

  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError(file + ": LoRA module '" + m.key + "': " + what);
  }
  const Shape& shape(R r) const { return m.get(r).shape(); }
  std::string desc(R r) const { return "'" + m.names[static_cast<std::size_t>(r)] + "' " + shape_str(shape(r)); }
  void ndim(R r, std::initializer_list<int> allowed) const {
    for (int n : allowed)
      if (m.get(r).ndim() == n) return;
    std::string a;
    for (int n : allowed) a += (a.empty() ? "" : " or ") + std::to_string(n);
    fail("tensor " + desc(r) + " must have " + a + " dimensions");
  }
  void require(R r) const {
    if (!m.has(r)) fail("tensor '" + std::string(lora_role_name(r)) + "' is missing (needed by its other tensors)");
  }
  void equal(std::int64_t a, std::int64_t b, const std::string& what) const {
    if (a != b) fail(what + " (" + std::to_string(a) + " vs " + std::to_string(b) + ")");
  }
};

bool any_of(const LoraModule& m, std::initializer_list<R> roles) {
  for (R r : roles)
    if (m.has(r)) return true;
  return false;
}

std::int64_t tail_numel(const Shape& s) {
  std::int64_t n = 1;
  for (std::size_t i = 1; i < s.size(); ++i) n *= s[i];
  return n;
}

void analyse_lora(LoraModule& m, const Check& c) {
  c.require(R::Down);
  c.require(R::Up);
  c.ndim(R::Down, {2, 4});
  c.ndim(R::Up, {2, 4});
  const Shape& down = c.shape(R::Down);
  const Shape& up = c.shape(R::Up);
  if (up.size() == 4 && (up[2] != 1 || up[3] != 1)) c.fail("lora_up " + c.desc(R::Up) + " must be a 1×1 kernel");
  const std::int64_t out = up[0];
  m.rank = static_cast<int>(down[0]);
  if (m.has(R::Mid)) {
    // CP/Tucker (LyCORIS locon use_tucker): down 1×1 [r, in], mid [r, r, kh, kw], up 1×1 [out, r].
    c.ndim(R::Mid, {4});
    const Shape& mid = c.shape(R::Mid);
    if (down.size() == 4 && (down[2] != 1 || down[3] != 1))
      c.fail("with lora_mid, lora_down " + c.desc(R::Down) + " must be a 1×1 kernel");
    c.equal(mid[0], up[1], "lora_mid " + c.desc(R::Mid) + " does not fit lora_up " + c.desc(R::Up));
    c.equal(mid[1], down[0], "lora_mid " + c.desc(R::Mid) + " does not fit lora_down " + c.desc(R::Down));
    m.delta_shape = {out, down[1], mid[2], mid[3]};
  } else {
    c.equal(up[1], down[0], "lora_up " + c.desc(R::Up) + " and lora_down " + c.desc(R::Down) + " disagree on the rank");
    m.delta_shape = down.size() == 4 ? Shape{out, down[1], down[2], down[3]} : Shape{out, down[1]};
  }
  if (m.has(R::UpBias)) {
    c.ndim(R::UpBias, {1});
    c.equal(c.shape(R::UpBias)[0], out, "lora_B.bias " + c.desc(R::UpBias) + " must have the output size");
  }
}

// One LoHa factor: w_a @ w_b, or the Tucker rebuild with core t.
Shape loha_factor(const Check& c, R a, R b, R t) {
  c.require(a);
  c.require(b);
  c.ndim(a, {2});
  c.ndim(b, {2});
  const Shape& sa = c.shape(a);
  const Shape& sb = c.shape(b);
  if (c.m.has(t)) {
    // einsum("i j k l, j r, i p -> p r k l", t, w_b, w_a): w_a [r, out], w_b [r', in].
    c.ndim(t, {4});
    const Shape& st = c.shape(t);
    c.equal(st[0], sa[0], "Tucker core " + c.desc(t) + " does not fit " + c.desc(a));
    c.equal(st[1], sb[0], "Tucker core " + c.desc(t) + " does not fit " + c.desc(b));
    return {sa[1], sb[1], st[2], st[3]};
  }
  c.equal(sa[1], sb[0], c.desc(a) + " and " + c.desc(b) + " disagree on the rank");
  return {sa[0], sb[1]};
}

void analyse_loha(LoraModule& m, const Check& c) {
  if (m.has(R::HadaT1) != m.has(R::HadaT2)) c.fail("hada_t1 and hada_t2 must come together");
  const Shape f1 = loha_factor(c, R::HadaW1A, R::HadaW1B, R::HadaT1);
  const Shape f2 = loha_factor(c, R::HadaW2A, R::HadaW2B, R::HadaT2);
  if (f1 != f2) c.fail("the two Hadamard factors have different shapes " + shape_str(f1) + " and " + shape_str(f2));
  m.rank = static_cast<int>(c.shape(R::HadaW1B)[0]);  // ComfyUI loha.py: alpha / w1b.shape[0]
  m.delta_shape = f1;
  m.delta_flat = f1.size() == 2;
}

void analyse_lokr(LoraModule& m, const Check& c) {
  Shape w1, w2;
  int dim = 0;
  if (m.has(R::LokrW1)) {
    c.ndim(R::LokrW1, {2});
    w1 = c.shape(R::LokrW1);
  } else {
    c.require(R::LokrW1A);
    c.require(R::LokrW1B);
    c.ndim(R::LokrW1A, {2});
    c.ndim(R::LokrW1B, {2});
    c.equal(c.shape(R::LokrW1A)[1], c.shape(R::LokrW1B)[0],
            c.desc(R::LokrW1A) + " and " + c.desc(R::LokrW1B) + " disagree on the rank");
    w1 = {c.shape(R::LokrW1A)[0], c.shape(R::LokrW1B)[1]};
    dim = static_cast<int>(c.shape(R::LokrW1B)[0]);
  }
  if (m.has(R::LokrW2)) {
    c.ndim(R::LokrW2, {2, 4});
    w2 = c.shape(R::LokrW2);
  } else {
    if (m.has(R::LokrT2) && !m.has(R::LokrW2A)) c.fail("lokr_t2 needs lokr_w2_a and lokr_w2_b");
    w2 = loha_factor(c, R::LokrW2A, R::LokrW2B, R::LokrT2);  // same shapes as a LoHa factor
    dim = static_cast<int>(c.shape(R::LokrW2B)[0]);          // ComfyUI lokr.py: w2_b.shape[0] wins
  }
  m.rank = dim;
  if (w2.size() == 4) {
    m.delta_shape = {w1[0] * w2[0], w1[1] * w2[1], w2[2], w2[3]};
  } else {
    m.delta_shape = {w1[0] * w2[0], w1[1] * w2[1]};
    m.delta_flat = true;
  }
}

void analyse_full(LoraModule& m, const Check& c) {
  if (m.has(R::Diff)) m.delta_shape = c.shape(R::Diff);
  if (m.has(R::DiffB)) {
    c.ndim(R::DiffB, {1});
    if (m.has(R::Diff) && !m.delta_shape.empty())
      c.equal(c.shape(R::DiffB)[0], m.delta_shape[0], "diff_b " + c.desc(R::DiffB) + " must have the output size");
  }
}

}  // namespace

std::string_view lora_role_name(LoraRole r) {
  static constexpr std::array<std::string_view, kLoraRoleCount> names{
      "lora_down", "lora_up", "lora_mid", "alpha", "scale", "dora_scale",
      "hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b", "hada_t1", "hada_t2",
      "lokr_w1", "lokr_w1_a", "lokr_w1_b", "lokr_w2", "lokr_w2_a", "lokr_w2_b", "lokr_t2",
      "diff", "diff_b", "lora_B.bias"};
  return names[static_cast<std::size_t>(r)];
}

std::string_view lora_kind_name(LoraKind k) {
  switch (k) {
    case LoraKind::LoRA: return "LoRA";
    case LoraKind::LoHa: return "LoHa";
    case LoraKind::LoKr: return "LoKr";
    case LoraKind::Full: return "full diff";
  }
  return "?";
}

double LoraModule::base_scale() const {
  if (scale_tensor) return *scale_tensor;
  if (kind == LoraKind::Full || rank == 0) return 1.0;
  if (!alpha || *alpha == 0.0) return 1.0;  // kohya networks/lora.py: alpha None or 0 → lora_dim
  return *alpha / (rslora ? std::sqrt(static_cast<double>(rank)) : static_cast<double>(rank));
}

double LoraModule::flops() const {
  auto mm = [](double m, double k, double n) { return 2.0 * m * k * n; };
  auto dim = [&](R r, int i) { return static_cast<double>(get(r).dim(i)); };
  auto rest = [&](R r) { return static_cast<double>(tail_numel(get(r).shape())); };
  // A Tucker rebuild: t [r1, r2, k, k] × w_b [r2, in], then w_a^T [out, r1] × [r1, in·k·k].
  auto tucker = [&](R t, R a, R b) {
    const double kk = dim(t, 2) * dim(t, 3);
    return mm(dim(t, 0) * kk, dim(t, 1), dim(b, 1)) + mm(dim(a, 1), dim(a, 0), dim(b, 1) * kk);
  };
  switch (kind) {
    case LoraKind::LoRA:
      if (has(R::Mid)) return tucker(R::Mid, R::Up, R::Down);  // up is [out, r]: same counts
      return mm(dim(R::Up, 0), dim(R::Down, 0), rest(R::Down));
    case LoraKind::LoHa:
      if (has(R::HadaT1)) return tucker(R::HadaT1, R::HadaW1A, R::HadaW1B) + tucker(R::HadaT2, R::HadaW2A, R::HadaW2B);
      return mm(dim(R::HadaW1A, 0), dim(R::HadaW1A, 1), dim(R::HadaW1B, 1)) +
             mm(dim(R::HadaW2A, 0), dim(R::HadaW2A, 1), dim(R::HadaW2B, 1));
    case LoraKind::LoKr: {
      double f = 0;
      if (has(R::LokrW1A)) f += mm(dim(R::LokrW1A, 0), dim(R::LokrW1A, 1), dim(R::LokrW1B, 1));
      if (has(R::LokrT2)) f += tucker(R::LokrT2, R::LokrW2A, R::LokrW2B);
      else if (has(R::LokrW2A)) f += mm(dim(R::LokrW2A, 0), dim(R::LokrW2A, 1), dim(R::LokrW2B, 1));
      return f;
    }
    case LoraKind::Full: return 0;
  }
  return 0;
}

std::size_t LoraModule::bytes() const {
  std::size_t b = 0;
  for (const auto& x : t) b += x.defined() ? x.nbytes() : 0;
  return b;
}

void LoraModule::release() {
  for (auto& x : t) x = Tensor();
}

void analyse_lora_module(LoraModule& m, const std::string& file) {
  const Check c{m, file};
  for (R r : {R::Alpha, R::Scale})
    if (m.has(r) && m.get(r).numel() != 1) c.fail("tensor " + c.desc(r) + " must hold one value");
  if (m.has(R::Alpha)) {
    m.alpha = m.get(R::Alpha).f32_data()[0];
    m.alpha_source = "tensor";
  }
  if (m.has(R::Scale)) m.scale_tensor = m.get(R::Scale).f32_data()[0];

  const bool lora = any_of(m, {R::Down, R::Up, R::Mid, R::UpBias});
  const bool loha = any_of(m, {R::HadaW1A, R::HadaW1B, R::HadaW2A, R::HadaW2B, R::HadaT1, R::HadaT2});
  const bool lokr = any_of(m, {R::LokrW1, R::LokrW1A, R::LokrW1B, R::LokrW2, R::LokrW2A, R::LokrW2B, R::LokrT2});
  const bool full = any_of(m, {R::Diff, R::DiffB});
  const int kinds = int(lora) + int(loha) + int(lokr) + int(full);
  if (kinds == 0) c.fail("has only alpha/scale/dora_scale tensors and no weights (a truncated or broken export?)");
  if (kinds > 1) c.fail("mixes the tensors of several adapter types (LoRA, LoHa, LoKr, diff)");
  if (lora) m.kind = LoraKind::LoRA, analyse_lora(m, c);
  if (loha) m.kind = LoraKind::LoHa, analyse_loha(m, c);
  if (lokr) m.kind = LoraKind::LoKr, analyse_lokr(m, c);
  if (full) m.kind = LoraKind::Full, analyse_full(m, c);
  m.weight_delta = m.kind != LoraKind::Full || m.has(R::Diff);
  m.bias_delta = m.has(R::DiffB) || m.has(R::UpBias);
  m.dora_flag = m.has(R::DoraScale);
  m.tucker = m.has(R::Mid) || m.has(R::HadaT1) || m.has(R::LokrT2);
  if (m.dora_flag && !m.weight_delta) c.fail("dora_scale without a weight delta");
}

bool lora_delta_fits(const LoraModule& m, const Shape& weight) {
  if (weight.empty() || m.delta_shape.empty()) return false;
  if (shape_numel(weight) != shape_numel(m.delta_shape)) return false;
  if (m.delta_flat) return weight[0] == m.delta_shape[0];
  auto squeeze = [](Shape s) {
    while (s.size() > 2 && s.back() == 1) s.pop_back();
    return s;
  };
  return squeeze(weight) == squeeze(m.delta_shape);
}

}  // namespace skingen::engine
