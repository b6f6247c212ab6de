// No hot primitive may land on one of oneDNN's reference implementations
// (plain C++ loops, 10–100× slower; issue 3's post-op traps): every conv and
// linear shape of an SD 1.5 UNet forward at 512×512, batch 2, with the
// fusions the UNet uses (residual sum, circular padding, GELU), is checked
// against impl_info_str(). Weights are zeros: only the primitive matters.
#include <catch2/catch.hpp>

#include "engine/op_bench.hpp"
#include "ops/conv2d.hpp"
#include "ops/dnnl_util.hpp"
#include "ops/linear.hpp"

using namespace skingen;
using engine::Tensor;

TEST_CASE("no SD-shaped conv or linear runs on a oneDNN reference kernel", "[ops][impl]") {
  ops::Context ctx(2);
  int convs = 0, linears = 0;
  for (const auto& c : engine::sd15_unet_op_cases(512, 2)) {
    if (c.kind == engine::OpKind::Conv) {
      const ops::Conv2d conv(ctx, Tensor::zeros(engine::DType::F32, {c.cout, c.cin, c.k, c.k}),
                             Tensor::zeros(engine::DType::F32, {c.cout}), c.stride, c.k / 2);
      const engine::Shape x{c.n, c.h, c.w, c.cin};
      const Tensor dummy;
      ops::Conv2dExtras residual;
      residual.residual = &dummy;  // only its presence matters to prepare()
      ops::Conv2dExtras tiled;
      tiled.tiling = ops::Tiling::XY;
      for (const auto* ex : {&residual, &tiled}) {
        const std::string impl = conv.prepare(ctx, x, *ex);
        INFO(c.name << " " << engine::shape_str(x) << " -> " << c.cout << ": " << impl);
        CHECK_FALSE(ops::is_reference_impl(impl));
      }
      const std::string plain = conv.prepare(ctx, x);
      INFO(c.name << " " << engine::shape_str(x) << " -> " << c.cout << ": " << plain);
      CHECK_FALSE(ops::is_reference_impl(plain));
      ++convs;
    } else if (c.kind == engine::OpKind::Linear) {
      const ops::Linear lin(ctx, Tensor::zeros(engine::DType::F32, {c.cout, c.cin}),
                            Tensor::zeros(engine::DType::F32, {c.cout}));
      const Tensor dummy;
      for (const auto act : {ops::Activation::None, ops::Activation::GELU, ops::Activation::SiLU}) {
        ops::LinearExtras ex;
        ex.activation = act;
        const std::string impl = lin.prepare(ctx, c.rows, ex);
        INFO(c.name << " " << c.rows << "x" << c.cin << " -> " << c.cout << ": " << impl);
        CHECK_FALSE(ops::is_reference_impl(impl));
        ex.residual = &dummy;
        const std::string with_residual = lin.prepare(ctx, c.rows, ex);
        INFO("with residual: " << with_residual);
        CHECK_FALSE(ops::is_reference_impl(with_residual));
      }
      ++linears;
    }
  }
  CHECK(convs >= 30);
  CHECK(linears >= 15);
}

TEST_CASE("is_reference_impl recognises oneDNN's reference kernels", "[ops][impl]") {
  CHECK(ops::is_reference_impl("ref:any"));
  CHECK(ops::is_reference_impl("ref_fused_convolution:any"));
  CHECK(ops::is_reference_impl("gemm:ref"));
  CHECK_FALSE(ops::is_reference_impl("brgconv:avx512_core"));
  CHECK_FALSE(ops::is_reference_impl("jit:avx2"));
  CHECK_FALSE(ops::is_reference_impl("brg:avx512_core"));
}
