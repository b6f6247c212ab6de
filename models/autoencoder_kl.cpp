#include "models/autoencoder_kl.hpp"

#include <algorithm>

#include "engine/core/error.hpp"
#include "ops/attention.hpp"
#include "ops/elementwise.hpp"

namespace skingen::models {
namespace {

// The encoder's downsampler pads right and bottom only (model.py Downsample,
// F.pad(x, (0, 1, 0, 1))). A1111's tiling switches Conv2d padding_mode to
// circular, which does not touch this explicit zero pad, so it never wraps.
constexpr ops::Padding2d kDownsamplePad{0, 1, 0, 1};

}  // namespace

std::string VaeConfig::summary() const {
  std::string ch;
  for (std::size_t i = 0; i < block_channels.size(); ++i) {
    if (i) ch += ',';
    ch += std::to_string(block_channels[i]);
  }
  return "VAE (" + ch + ") ×" + std::to_string(downscale()) + ", " + std::to_string(num_res_blocks) +
         " res blocks, latent " + std::to_string(embed_dim) + "ch";
}

VaeAttention::VaeAttention(ops::Context& ctx, const WeightScope& ws, int c, int groups, float eps)
    : group_norm(ws.sub("group_norm"), c, groups, eps),
      to_q(bind_linear(ctx, ws.sub("to_q"), c, c)),
      to_k(bind_linear(ctx, ws.sub("to_k"), c, c)),
      to_v(bind_linear(ctx, ws.sub("to_v"), c, c)),
      to_out(bind_linear(ctx, ws.sub("to_out").sub(0), c, c)) {}

Tensor VaeAttention::forward(const RunContext& rc, const Tensor& x) const {
  const auto N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
  const Tensor n = group_norm.forward(rc, x, false).reshaped({N, H * W, C});  // [N, HW, C]
  const Tensor q = to_q.forward(rc.ctx, rc.pool, n);
  const Tensor k = to_k.forward(rc.ctx, rc.pool, n);
  const Tensor v = to_v.forward(rc.ctx, rc.pool, n);
  const Tensor o = ops::attention(rc.ctx, rc.pool, q, k, v, {.heads = 1});  // one head of width C
  const Tensor residual = x.reshaped({N, H * W, C});
  return to_out.forward(rc.ctx, rc.pool, o, {.residual = &residual}).reshaped({N, H, W, C});
}

VaeMidBlock::VaeMidBlock(ops::Context& ctx, const WeightScope& ws, int ch, const VaeConfig& c)
    : resnet0(ctx, ws.sub("resnets").sub(0), ch, ch, 0, c.groups, c.eps),
      attention(ctx, ws.sub("attentions").sub(0), ch, c.groups, c.eps),
      resnet1(ctx, ws.sub("resnets").sub(1), ch, ch, 0, c.groups, c.eps) {}

Tensor VaeMidBlock::forward(const RunContext& rc, const Tensor& x, const std::string& prefix) const {
  Tensor h = resnet0.forward(rc, x, nullptr);
  rc.emit(prefix + "mid_block.resnets.0", h);
  h = attention.forward(rc, h);
  rc.emit(prefix + "mid_block.attentions.0", h);
  h = resnet1.forward(rc, h, nullptr);
  rc.emit(prefix + "mid_block", h);
  return h;
}

VaeEncoder::VaeEncoder(ops::Context& ctx, const WeightScope& ws, const VaeConfig& c)
    : conv_in(bind_conv(ctx, ws.sub("conv_in"), c.in_channels, c.block_channels[0], 3)),
      mid_block(ctx, ws.sub("mid_block"), c.block_channels.back(), c),
      conv_norm_out(ws.sub("conv_norm_out"), c.block_channels.back(), c.groups, c.eps),
      conv_out(bind_conv(ctx, ws.sub("conv_out"), c.block_channels.back(), 2 * c.z_channels, 3)) {
  int ch = c.block_channels[0];
  for (int l = 0; l < c.levels(); ++l) {
    const auto s = ws.sub("down_blocks").sub(l);
    VaeLevel level;
    for (int i = 0; i < c.num_res_blocks; ++i) {
      level.resnets.emplace_back(ctx, s.sub("resnets").sub(i), ch, c.block_channels[static_cast<std::size_t>(l)], 0,
                                 c.groups, c.eps);
      ch = c.block_channels[static_cast<std::size_t>(l)];
    }
    if (l != c.levels() - 1)
      level.sampler.emplace(bind_conv(ctx, s.sub("downsamplers").sub(0).sub("conv"), ch, ch, 3, 2, kDownsamplePad));
    down_blocks.push_back(std::move(level));
  }
}

Tensor VaeEncoder::forward(const RunContext& rc, const Tensor& image) const {
  const ops::Conv2dExtras tiled{.tiling = rc.tiling};
  Tensor h = conv_in.forward(rc.ctx, rc.pool, image, tiled);  // [N, H, W, C0]
  for (std::size_t l = 0; l < down_blocks.size(); ++l) {
    for (const auto& r : down_blocks[l].resnets) h = r.forward(rc, h, nullptr);
    if (down_blocks[l].sampler) h = down_blocks[l].sampler->forward(rc.ctx, rc.pool, h);  // [N, H/2, W/2, C]
    rc.emit("encoder.down_blocks." + std::to_string(l), h);
  }
  h = mid_block.forward(rc, h, "encoder.");
  h = conv_norm_out.forward(rc, h, /*silu=*/true);
  return conv_out.forward(rc.ctx, rc.pool, h, tiled);  // [N, H/f, W/f, 2z]
}

VaeDecoder::VaeDecoder(ops::Context& ctx, const WeightScope& ws, const VaeConfig& c)
    : conv_in(bind_conv(ctx, ws.sub("conv_in"), c.z_channels, c.block_channels.back(), 3)),
      mid_block(ctx, ws.sub("mid_block"), c.block_channels.back(), c),
      conv_norm_out(ws.sub("conv_norm_out"), c.block_channels[0], c.groups, c.eps),
      conv_out(bind_conv(ctx, ws.sub("conv_out"), c.block_channels[0], c.out_channels, 3)) {
  int ch = c.block_channels.back();
  const int L = c.levels();
  for (int b = 0; b < L; ++b) {
    const auto s = ws.sub("up_blocks").sub(b);
    const int out = c.block_channels[static_cast<std::size_t>(L - 1 - b)];
    VaeLevel level;
    for (int i = 0; i <= c.num_res_blocks; ++i) {
      level.resnets.emplace_back(ctx, s.sub("resnets").sub(i), ch, out, 0, c.groups, c.eps);
      ch = out;
    }
    if (b != L - 1) level.sampler.emplace(bind_conv(ctx, s.sub("upsamplers").sub(0).sub("conv"), ch, ch, 3));
    up_blocks.push_back(std::move(level));
  }
}

Tensor VaeDecoder::forward(const RunContext& rc, const Tensor& z) const {
  const ops::Conv2dExtras tiled{.tiling = rc.tiling};
  Tensor h = conv_in.forward(rc.ctx, rc.pool, z, tiled);  // [N, h, w, C_L]
  rc.emit("decoder.conv_in", h);
  h = mid_block.forward(rc, h, "decoder.");
  for (std::size_t b = 0; b < up_blocks.size(); ++b) {
    for (const auto& r : up_blocks[b].resnets) h = r.forward(rc, h, nullptr);
    if (up_blocks[b].sampler) {
      h = ops::upsample_nearest2x(rc.ctx, rc.pool, h);                     // [N, 2h, 2w, C]
      h = up_blocks[b].sampler->forward(rc.ctx, rc.pool, h, tiled);
    }
    rc.emit("decoder.up_blocks." + std::to_string(b), h);
  }
  h = conv_norm_out.forward(rc, h, /*silu=*/true);
  return conv_out.forward(rc.ctx, rc.pool, h, tiled);  // [N, f·h, f·w, 3]
}

AutoencoderKL::AutoencoderKL(ops::Context& ctx, const WeightScope& ws, const VaeConfig& c, bool with_encoder,
                             bool with_decoder)
    : config_(c) {
  if (with_encoder) {
    encoder.emplace(ctx, ws.sub("encoder"), c);
    quant_conv.emplace(bind_conv(ctx, ws.sub("quant_conv"), 2 * c.z_channels, 2 * c.embed_dim, 1));
  }
  if (with_decoder) {
    post_quant_conv.emplace(bind_conv(ctx, ws.sub("post_quant_conv"), c.embed_dim, c.z_channels, 1));
    decoder.emplace(ctx, ws.sub("decoder"), c);
  }
}

Tensor AutoencoderKL::decode(const RunContext& rc, const Tensor& latent) const {
  if (!decoder) throw FormatError("the VAE decoder was not loaded");
  if (latent.ndim() != 4 || latent.dim(3) != config_.embed_dim)
    throw FormatError("VAE latent must be [N, h, w, " + std::to_string(config_.embed_dim) + "], got " +
                      engine::shape_str(latent.shape()));
  // Divide (not multiply by the reciprocal): bit-for-bit what upstream's `latents / scaling_factor` does.
  Tensor z = rc.pool.take_f32(latent.shape());
  const float* src = latent.f32_data();
  float* dst = z.f32_mut();
  const float s = config_.scaling_factor;
  const auto n = latent.numel();
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i) dst[i] = src[i] / s;
  z = post_quant_conv->forward(rc.ctx, rc.pool, z);  // [N, h, w, z]
  rc.emit("post_quant_conv", z);
  return decoder->forward(rc, z);
}

Tensor AutoencoderKL::encode_moments(const RunContext& rc, const Tensor& image) const {
  if (!encoder) throw FormatError("the VAE encoder was not loaded");
  if (image.ndim() != 4 || image.dim(3) != config_.in_channels)
    throw FormatError("VAE image must be [N, H, W, " + std::to_string(config_.in_channels) + "], got " +
                      engine::shape_str(image.shape()));
  const int f = config_.downscale();
  if (image.dim(1) % f || image.dim(2) % f)
    throw FormatError("VAE image sides must be multiples of " + std::to_string(f) + ", got " +
                      engine::shape_str(image.shape()));
  Tensor m = quant_conv->forward(rc.ctx, rc.pool, encoder->forward(rc, image));  // [N, h, w, 2·embed]
  const std::int64_t E = config_.embed_dim, pixels = m.numel() / (2 * E);
  float* p = m.f32_mut();
  for (std::int64_t i = 0; i < pixels; ++i)
    for (std::int64_t c = E; c < 2 * E; ++c) p[i * 2 * E + c] = std::clamp(p[i * 2 * E + c], -30.0f, 20.0f);
  return m;
}

double AutoencoderKL::decode_flops(int n, int h, int w) const {
  const auto& c = config_;
  auto conv = [&](int hh, int ww, int cin, int cout, int k) { return 2.0 * n * hh * ww * cin * cout * k * k; };
  double f = conv(h, w, c.embed_dim, c.z_channels, 1) + conv(h, w, c.z_channels, c.block_channels.back(), 3);
  auto resnet = [&](int hh, int ww, int cin, int cout) {
    return conv(hh, ww, cin, cout, 3) + conv(hh, ww, cout, cout, 3) + (cin != cout ? conv(hh, ww, cin, cout, 1) : 0);
  };
  int ch = c.block_channels.back();
  const double T = static_cast<double>(h) * w;
  f += 2 * resnet(h, w, ch, ch) + 4 * 2.0 * n * T * ch * ch + 2 * 2.0 * n * T * T * ch;  // mid block
  int hh = h, ww = w;
  const int L = c.levels();
  for (int b = 0; b < L; ++b) {
    const int out = c.block_channels[static_cast<std::size_t>(L - 1 - b)];
    for (int i = 0; i <= c.num_res_blocks; ++i) {
      f += resnet(hh, ww, ch, out);
      ch = out;
    }
    if (b != L - 1) {
      hh *= 2;
      ww *= 2;
      f += conv(hh, ww, ch, ch, 3);
    }
  }
  return f + conv(hh, ww, ch, c.out_channels, 3);
}

}  // namespace skingen::models
