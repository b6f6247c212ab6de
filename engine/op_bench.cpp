#include "engine/op_bench.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <tuple>

#include "ops/attention.hpp"
#include "ops/conv2d.hpp"
#include "ops/elementwise.hpp"
#include "ops/linear.hpp"
#include "ops/norm.hpp"

namespace skingen::engine {
namespace {

constexpr int kContextTokens = 77;  // CLIP text length
constexpr int kContextDim = 768;    // SD 1.x cross-attention dim
constexpr int kHeads = 8;           // SD 1.x num_heads
constexpr int kTimeDim = 1280;      // 4 × model_channels

class CaseList {
 public:
  void add(OpCase c) {
    const auto key =
        std::make_tuple(static_cast<int>(c.kind), c.n, c.h, c.w, c.cin, c.cout, c.k, c.stride, c.rows, c.silu);
    auto it = index_.find(key);
    if (it == index_.end()) {
      index_.emplace(key, cases_.size());
      cases_.push_back(std::move(c));
      return;
    }
    OpCase& e = cases_[it->second];
    e.count += c.count;
    if (("/" + e.name + "/").find("/" + c.name + "/") == std::string::npos) e.name += "/" + c.name;
  }
  std::vector<OpCase> take() { return std::move(cases_); }

 private:
  std::map<std::tuple<int, int, int, int, int, int, int, int, long, bool>, std::size_t> index_;
  std::vector<OpCase> cases_;
};

OpCase conv(const char* name, int n, int h, int cin, int cout, int k, int stride = 1) {
  OpCase c;
  c.kind = OpKind::Conv;
  c.name = name;
  c.n = n;
  c.h = c.w = h;
  c.cin = cin;
  c.cout = cout;
  c.k = k;
  c.stride = stride;
  return c;
}

OpCase linear(const char* name, long rows, int cin, int cout) {
  OpCase c;
  c.kind = OpKind::Linear;
  c.name = name;
  c.rows = rows;
  c.cin = cin;
  c.cout = cout;
  return c;
}

OpCase tensor_op(OpKind kind, const char* name, int n, int h, int w, int ch, int ch2 = 0, bool silu = false) {
  OpCase c;
  c.kind = kind;
  c.name = name;
  c.n = n;
  c.h = h;
  c.w = w;
  c.cin = ch;
  c.cout = ch2;
  c.silu = silu;
  return c;
}

void resnet(CaseList& l, int n, int res, int cin, int cout) {
  l.add(tensor_op(OpKind::GroupNorm, "resnet norm1+silu", n, res, res, cin, 0, true));
  l.add(conv("resnet conv1", n, res, cin, cout, 3));
  l.add(linear("time_emb_proj", n, kTimeDim, cout));
  l.add(tensor_op(OpKind::GroupNorm, "resnet norm2(+temb)+silu", n, res, res, cout, 0, true));
  l.add(conv("resnet conv2", n, res, cout, cout, 3));
  if (cin != cout) l.add(conv("resnet shortcut", n, res, cin, cout, 1));
}

void transformer(CaseList& l, int n, int res, int ch) {
  const long rows = static_cast<long>(n) * res * res;
  const int t = res * res;
  l.add(tensor_op(OpKind::GroupNorm, "transformer norm", n, res, res, ch));
  l.add(conv("proj_in/proj_out", n, res, ch, ch, 1));
  l.add(tensor_op(OpKind::LayerNorm, "transformer norm1/2/3", n, t, 1, ch));
  l.add(tensor_op(OpKind::LayerNorm, "transformer norm1/2/3", n, t, 1, ch));
  l.add(tensor_op(OpKind::LayerNorm, "transformer norm1/2/3", n, t, 1, ch));
  for (int i = 0; i < 6; ++i) l.add(linear("to_q/k/v/out", rows, ch, ch));
  for (int i = 0; i < 2; ++i) l.add(linear("attn2 to_k/to_v", static_cast<long>(n) * kContextTokens, kContextDim, ch));
  OpCase self;
  self.kind = OpKind::Attention;
  self.name = "attn1 (self)";
  self.n = n;
  self.h = t;
  self.w = t;
  self.cout = kHeads;
  self.cin = ch / kHeads;
  l.add(self);
  OpCase cross = self;
  cross.name = "attn2 (cross)";
  cross.w = kContextTokens;
  l.add(cross);
  l.add(linear("ff GEGLU proj", rows, ch, 8 * ch));
  l.add(tensor_op(OpKind::Geglu, "ff GEGLU", n, t, 1, 8 * ch));
  l.add(linear("ff out", rows, 4 * ch, ch));
  l.add(conv("proj_in/proj_out", n, res, ch, ch, 1));
  l.add(tensor_op(OpKind::Add, "residual add", n, res, res, ch));
}

std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

// Deterministic values in [-scale, scale]: the speed of fp32 math does not
// depend on them, but denormals and NaNs must not appear.
Tensor filled(Shape shape, float scale, std::uint64_t seed) {
  Tensor t = Tensor::f32(std::move(shape));
  float* p = t.f32_mut();
  const std::int64_t n = t.numel();
  for (std::int64_t i = 0; i < n; ++i) {
    const auto r = mix(seed * 0x9e3779b97f4a7c15ULL + static_cast<std::uint64_t>(i));
    p[i] = scale * (static_cast<float>(r >> 40) * (2.0f / 16777216.0f) - 1.0f);
  }
  return t;
}

std::string dims(std::initializer_list<long> d) {
  std::string s;
  for (long v : d) {
    if (!s.empty()) s += 'x';
    s += std::to_string(v);
  }
  return s;
}

}  // namespace

std::vector<OpCase> sd15_unet_op_cases(int image_size, int batch) {
  CaseList l;
  const int n = batch;
  const int latent = image_size / 8;
  const int ch[4] = {320, 640, 1280, 1280};
  const bool attn[4] = {true, true, true, false};
  l.add(linear("time_embedding linear_1", n, 320, kTimeDim));
  l.add(linear("time_embedding linear_2", n, kTimeDim, kTimeDim));
  l.add(conv("conv_in", n, latent, 4, 320, 3));
  std::vector<int> skips{320};
  int res = latent, cur = 320;
  for (int level = 0; level < 4; ++level) {
    for (int r = 0; r < 2; ++r) {
      resnet(l, n, res, cur, ch[level]);
      cur = ch[level];
      if (attn[level]) transformer(l, n, res, cur);
      skips.push_back(cur);
    }
    if (level < 3) {
      l.add(conv("downsample", n, res, cur, cur, 3, 2));
      res /= 2;
      skips.push_back(cur);
    }
  }
  resnet(l, n, res, cur, cur);
  transformer(l, n, res, cur);
  resnet(l, n, res, cur, cur);
  for (int level = 3; level >= 0; --level) {
    for (int r = 0; r < 3; ++r) {
      const int skip = skips.back();
      skips.pop_back();
      l.add(tensor_op(OpKind::Concat, "skip concat", n, res, res, cur, skip));
      resnet(l, n, res, cur + skip, ch[level]);
      cur = ch[level];
      if (attn[level]) transformer(l, n, res, cur);
    }
    if (level > 0) {
      l.add(tensor_op(OpKind::Upsample, "upsample nearest", n, res, res, cur));
      res *= 2;
      l.add(conv("upsample conv", n, res, cur, cur, 3));
    }
  }
  l.add(tensor_op(OpKind::GroupNorm, "conv_norm_out+silu", n, res, res, cur, 0, true));
  l.add(conv("conv_out", n, res, cur, 4, 3));
  l.add(tensor_op(OpKind::Silu, "silu (standalone)", n, res, res, cur));
  l.add(tensor_op(OpKind::Gelu, "gelu (standalone)", n, res * res, 1, 4 * ch[0]));
  return l.take();
}

std::vector<OpBenchRow> run_op_bench(ops::Context& ctx, const std::vector<OpCase>& cases, const MachinePeak& peak,
                                     const BenchTimer& timer, const BenchLimits& limits,
                                     const std::function<void(const OpBenchRow&)>& progress, PeakProbe* probe) {
  std::vector<OpBenchRow> rows;
  BufferPool pool;
  std::uint64_t seed = 1;
  for (const auto& c : cases) {
    seed += 16;
    const std::uint64_t s1 = seed + 1, s2 = seed + 2, s3 = seed + 3, s4 = seed + 4;
    OpBenchRow row;
    row.name = c.name;
    row.count = c.count;
    double flops = 0, bytes = 0;
    const bool compute = c.kind == OpKind::Conv || c.kind == OpKind::Linear || c.kind == OpKind::Attention;
    double side_peak = 0;
    auto time_op = [&](const std::function<void()>& fn) {
      return probe ? probe->run_beside(fn, limits, !compute, &side_peak) : timer.run(fn, limits);
    };
    BenchResult r;
    switch (c.kind) {
      case OpKind::Conv: {
        const float ws = 1.0f / std::sqrt(static_cast<float>(c.cin * c.k * c.k));
        const ops::Conv2d op(ctx, filled({c.cout, c.cin, c.k, c.k}, ws, s1), filled({c.cout}, 0.1f, s2), c.stride,
                             c.k / 2);
        const Tensor x = filled({c.n, c.h, c.w, c.cin}, 1.0f, s3);
        r = time_op([&] { (void)op.forward(ctx, pool, x); });
        flops = op.flops(x.shape());
        row.op = "conv" + std::to_string(c.k) + "x" + std::to_string(c.k) + (c.stride == 2 ? "/2" : "");
        row.shape = dims({c.n, c.h, c.w, c.cin}) + " -> " + std::to_string(c.cout);
        row.impl = op.impl_name();
        break;
      }
      case OpKind::Linear: {
        const float ws = 1.0f / std::sqrt(static_cast<float>(c.cin));
        const ops::Linear op(ctx, filled({c.cout, c.cin}, ws, s1), filled({c.cout}, 0.1f, s2));
        const Tensor x = filled({c.rows, c.cin}, 1.0f, s3);
        r = time_op([&] { (void)op.forward(ctx, pool, x); });
        flops = op.flops(c.rows);
        row.op = "linear";
        row.shape = dims({c.rows, c.cin}) + " -> " + std::to_string(c.cout);
        row.impl = op.impl_name();
        break;
      }
      case OpKind::Attention: {
        const int channels = c.cout * c.cin;
        const Tensor q = filled({c.n, c.h, channels}, 1.0f, s1);
        const Tensor k = filled({c.n, c.w, channels}, 1.0f, s2);
        const Tensor v = filled({c.n, c.w, channels}, 1.0f, s3);
        ops::AttentionOptions o;
        o.heads = c.cout;
        r = time_op([&] { (void)ops::attention(ctx, pool, q, k, v, o); });
        flops = ops::attention_flops(c.n, c.h, c.w, channels);
        row.op = "attention";
        row.shape = "N" + std::to_string(c.n) + " Tq" + std::to_string(c.h) + " Tk" + std::to_string(c.w) + " h" +
                    std::to_string(c.cout) + " d" + std::to_string(c.cin);
        row.impl = "skingen:" + ops::attention_kernel_name(o.isa);
        break;
      }
      default: {
        const Tensor x = filled({c.n, c.h, c.w, c.cin}, 1.0f, s1);
        const double in_bytes = 4.0 * static_cast<double>(x.numel());
        row.shape = dims({c.n, c.h, c.w, c.cin});
        row.impl = "skingen";
        row.bandwidth = true;
        if (c.kind == OpKind::GroupNorm || c.kind == OpKind::LayerNorm) {
          const Tensor g = filled({c.cin}, 1.0f, s2), b = filled({c.cin}, 0.5f, s3);
          if (c.kind == OpKind::GroupNorm) {
            ops::GroupNormOptions o;
            o.silu = c.silu;
            r = time_op([&] { (void)ops::group_norm(ctx, pool, x, g, b, o); });
            row.op = c.silu ? "group_norm+silu" : "group_norm";
            row.impl = "skingen:" + ops::group_norm_kernel_name(o.isa);
          } else {
            r = time_op([&] { (void)ops::layer_norm(ctx, pool, x, g, b, 1e-5f); });
            row.op = "layer_norm";
          }
          bytes = 2 * in_bytes;
        } else if (c.kind == OpKind::Silu || c.kind == OpKind::Gelu) {
          const bool s = c.kind == OpKind::Silu;
          r = time_op([&] { (void)(s ? ops::silu(ctx, pool, x) : ops::gelu(ctx, pool, x)); });
          row.op = s ? "silu" : "gelu";
          if (!s) row.impl = "skingen:" + ops::gelu_kernel_name();
          bytes = 2 * in_bytes;
        } else if (c.kind == OpKind::Geglu) {
          r = time_op([&] { (void)ops::geglu(ctx, pool, x); });
          row.op = "geglu";
          row.impl = "skingen:" + ops::gelu_kernel_name();
          bytes = 1.5 * in_bytes;
        } else if (c.kind == OpKind::Upsample) {
          r = time_op([&] { (void)ops::upsample_nearest2x(ctx, pool, x); });
          row.op = "upsample2x";
          bytes = 5 * in_bytes;
        } else if (c.kind == OpKind::Concat) {
          const Tensor y = filled({c.n, c.h, c.w, c.cout}, 1.0f, s4);
          r = time_op([&] { (void)ops::concat_channels(ctx, pool, x, y); });
          row.op = "concat";
          row.shape += " ++ " + std::to_string(c.cout);
          bytes = 2 * (in_bytes + 4.0 * static_cast<double>(y.numel()));
        } else {
          const Tensor y = filled({c.n, c.h, c.w, c.cin}, 1.0f, s4);
          r = time_op([&] { (void)ops::add(ctx, pool, x, y); });
          row.op = "add";
          bytes = 3 * in_bytes;
        }
      }
    }
    row.side_peak = side_peak;
    row.ms = r.median_ms;
    row.share = r.median_share;
    row.kept = r.kept;
    row.calls = r.calls;
    const double sec = r.median_ms * 1e-3;
    if (row.bandwidth) {
      row.gbps = sec > 0 ? bytes / sec * 1e-9 : 0;
      row.triad_fraction = peak.triad_gbps > 0 ? row.gbps / peak.triad_gbps : 0;
      row.side_fraction = row.side_peak > 0 ? row.gbps / row.side_peak : 0;
    } else {
      row.gflops = sec > 0 ? flops / sec * 1e-9 : 0;
      row.peak_fraction = peak.fma_gflops > 0 ? row.gflops / peak.fma_gflops : 0;
      row.side_fraction = row.side_peak > 0 ? row.gflops / row.side_peak : 0;
    }
    if (progress) progress(row);
    rows.push_back(std::move(row));
  }
  return rows;
}

void keep_faster(std::vector<OpBenchRow>& best, const std::vector<OpBenchRow>& pass) {
  if (best.size() != pass.size()) throw std::invalid_argument("keep_faster: passes over different case lists");
  for (std::size_t i = 0; i < best.size(); ++i) {
    if (best[i].name != pass[i].name || best[i].shape != pass[i].shape)
      throw std::invalid_argument("keep_faster: row " + std::to_string(i) + " differs between passes");
    const int passes = best[i].passes + 1;
    if (pass[i].ms < best[i].ms) best[i] = pass[i];
    best[i].passes = passes;
  }
}

}  // namespace skingen::engine
