#include "ops/linear.hpp"

#include <algorithm>
#include <unordered_map>
#include <vector>

#include "ops/check.hpp"
#include "ops/dnnl_util.hpp"

namespace skingen::ops {
namespace {

struct Key {
  std::int64_t m;
  Activation act;
  bool residual;
  bool operator==(const Key& o) const { return m == o.m && act == o.act && residual == o.residual; }
};

struct Entry {
  Key key;
  dnnl::matmul prim;
  dnnl::memory::desc src_md, dst_md;
  dnnl::memory weights;
  std::string impl;
};

dnnl::post_ops make_post_ops(Activation act, bool residual, const dnnl::memory::desc& dst_md) {
  dnnl::post_ops po;
  // Exact (erf) GELU: oneDNN's jit eltwise injector has it; tanh-GELU would not match diffusers.
  if (act == Activation::GELU) po.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
  if (act == Activation::SiLU) po.append_eltwise(1.0f, dnnl::algorithm::eltwise_swish, 1.0f, 0.0f);
  // A same-shape binary add keeps brg matmul (measured 183 GFLOP/s vs 191
  // for a sum post-op, which would need a copy of the residual into dst first).
  if (residual) po.append_binary(dnnl::algorithm::binary_add, dst_md);
  return po;
}

}  // namespace

struct Linear::Impl {
  std::int64_t in = 0, out = 0;
  Tensor bias;
  dnnl::memory::desc bias_md;
  mutable PackedWeights weights;
  mutable std::vector<Entry> cache;
  mutable std::string last_impl;

  const Entry& entry(Context& ctx, const Key& key) const {
    for (const auto& e : cache)
      if (e.key == key) return e;
    using dnnl::memory;
    memory::desc src_md({key.m, in}, dnnl_dt::f32, dnnl_tag::ab);
    memory::desc dst_md({key.m, out}, dnnl_dt::f32, dnnl_tag::ab);
    memory::desc w_md({in, out}, dnnl_dt::f32, dnnl_tag::any);
    dnnl::primitive_attr attr;
    attr.set_post_ops(make_post_ops(key.act, key.residual, dst_md));
    auto desc =
        bias.defined() ? dnnl::matmul::desc(src_md, w_md, bias_md, dst_md) : dnnl::matmul::desc(src_md, w_md, dst_md);
    dnnl::matmul::primitive_desc pd(desc, attr, ctx.engine());
    cache.push_back(Entry{key, dnnl::matmul(pd), src_md, dst_md,
                          weights.get(pd.weights_desc(), ctx.engine(), ctx.stream()), pd.impl_info_str()});
    return cache.back();
  }
};

Linear::Linear(Context& ctx, const Tensor& weight, const Tensor& bias) : impl_(std::make_unique<Impl>()) {
  constexpr const char* op = "linear";
  require(weight.defined() && weight.ndim() == 2 && engine::is_float_dtype(weight.dtype()), op,
          "weight must be a float tensor [out, in], got " + engine::shape_str(weight.shape()));
  auto& m = *impl_;
  m.out = weight.dim(0);
  m.in = weight.dim(1);
  require(m.out > 0 && m.in > 0, op, "empty weight " + engine::shape_str(weight.shape()));
  if (bias.defined() && bias.numel() > 0) {
    require(bias.ndim() == 1 && bias.dim(0) == m.out, op,
            "bias must be [" + std::to_string(m.out) + "], got " + engine::shape_str(bias.shape()));
    m.bias = bias.to_f32(true);
    m.bias_md = dnnl::memory::desc({1, m.out}, dnnl_dt::f32, dnnl_tag::ab);
  }
  // weight [out, in] row-major is the [in, out] matrix oneDNN wants, in layout "ba".
  const Tensor w32 = weight.to_f32();
  using dnnl::memory;
  memory::desc src_md({256, m.in}, dnnl_dt::f32, dnnl_tag::ab);
  memory::desc dst_md({256, m.out}, dnnl_dt::f32, dnnl_tag::ab);
  memory::desc w_any({m.in, m.out}, dnnl_dt::f32, dnnl_tag::any);
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, w_any, dst_md), ctx.engine());
  m.weights = PackedWeights(memory::desc({m.in, m.out}, dnnl_dt::f32, dnnl_tag::ba), w32.f32_data(), pd.weights_desc(),
                            ctx.engine(), ctx.stream());
}

Linear::~Linear() = default;
Linear::Linear(Linear&&) noexcept = default;
Linear& Linear::operator=(Linear&&) noexcept = default;

int Linear::in_features() const { return static_cast<int>(impl_->in); }
int Linear::out_features() const { return static_cast<int>(impl_->out); }
std::string Linear::impl_name() const { return impl_->last_impl; }

std::string Linear::prepare(Context& ctx, std::int64_t rows, const LinearExtras& extras) const {
  impl_->last_impl = impl_->entry(ctx, Key{rows, extras.activation, extras.residual != nullptr}).impl;
  return impl_->last_impl;
}

Tensor Linear::forward(Context& ctx, BufferPool& pool, const Tensor& x, const LinearExtras& extras) const {
  constexpr const char* op = "linear";
  const auto& m = *impl_;
  require_f32(x, op, "x");
  require(x.dim(-1) == m.in, op,
          "input " + engine::shape_str(x.shape()) + " must end in " + std::to_string(m.in) + " features");
  const std::int64_t rows = x.numel() / m.in;
  Shape out_shape = x.shape();
  out_shape.back() = m.out;
  if (extras.residual) {
    require_f32(*extras.residual, op, "residual");
    require(extras.residual->numel() == rows * m.out && extras.residual->dim(-1) == m.out, op,
            "residual " + engine::shape_str(extras.residual->shape()) + " must have the output shape " +
                engine::shape_str(out_shape));
  }
  Tensor y = pool.take_f32(out_shape);
  if (rows == 0) return y;
  const Entry& e = m.entry(ctx, Key{rows, extras.activation, extras.residual != nullptr});
  m.last_impl = e.impl;
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, wrap_memory(e.src_md, ctx.engine(), x.f32_data())},
      {DNNL_ARG_WEIGHTS, e.weights},
      {DNNL_ARG_DST, wrap_memory(e.dst_md, ctx.engine(), y.f32_mut())},
  };
  if (m.bias.defined()) args.emplace(DNNL_ARG_BIAS, wrap_memory(m.bias_md, ctx.engine(), m.bias.f32_data()));
  if (extras.residual)
    args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(extras.activation == Activation::None ? 0 : 1) | DNNL_ARG_SRC_1,
                 wrap_memory(e.dst_md, ctx.engine(), extras.residual->f32_data()));
  e.prim.execute(ctx.stream(), args);
  ctx.stream().wait();
  return y;
}

double Linear::flops(std::int64_t rows) const { return 2.0 * static_cast<double>(rows) * impl_->in * impl_->out; }

Tensor matmul(Context& ctx, BufferPool& pool, const Tensor& a, const Tensor& b, bool transpose_b) {
  constexpr const char* op = "matmul";
  require_f32(a, op, "a");
  require_f32(b, op, "b");
  require((a.ndim() == 2 || a.ndim() == 3) && a.ndim() == b.ndim(), op,
          "a " + engine::shape_str(a.shape()) + " and b " + engine::shape_str(b.shape()) +
              " must both be [B, M, K] / [B, K, N] (or 2-D)");
  const bool batched = a.ndim() == 3;
  const std::int64_t ba = batched ? a.dim(0) : 1, bb = batched ? b.dim(0) : 1;
  const std::int64_t m = a.dim(-2), k = a.dim(-1);
  const std::int64_t kb = transpose_b ? b.dim(-1) : b.dim(-2);
  const std::int64_t n = transpose_b ? b.dim(-2) : b.dim(-1);
  require(k == kb, op,
          "inner sizes differ: a " + engine::shape_str(a.shape()) + ", b " + engine::shape_str(b.shape()) +
              (transpose_b ? " (transposed)" : ""));
  require(ba == bb || ba == 1 || bb == 1, op,
          "batch sizes " + std::to_string(ba) + " and " + std::to_string(bb) + " do not broadcast");
  const std::int64_t batch = std::max(ba, bb);
  Tensor y = pool.take_f32(batched ? Shape{batch, m, n} : Shape{m, n});
  if (y.numel() == 0) return y;
  if (k == 0) {
    std::fill(y.f32_mut(), y.f32_mut() + y.numel(), 0.0f);
    return y;
  }
  using dnnl::memory;
  memory::desc a_md({ba, m, k}, dnnl_dt::f32, dnnl_tag::abc);
  memory::desc b_md({bb, k, n}, dnnl_dt::f32, transpose_b ? dnnl_tag::acb : dnnl_tag::abc);
  memory::desc c_md({batch, m, n}, dnnl_dt::f32, dnnl_tag::abc);
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c_md), ctx.engine());
  dnnl::matmul(pd).execute(ctx.stream(), {{DNNL_ARG_SRC, wrap_memory(a_md, ctx.engine(), a.f32_data())},
                                          {DNNL_ARG_WEIGHTS, wrap_memory(b_md, ctx.engine(), b.f32_data())},
                                          {DNNL_ARG_DST, wrap_memory(c_md, ctx.engine(), y.f32_mut())}});
  ctx.stream().wait();
  return y;
}

}  // namespace skingen::ops
