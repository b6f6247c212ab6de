#include "models/unet_2d_condition.hpp"

#include "engine/core/error.hpp"
#include "ops/elementwise.hpp"
#include "ops/resize.hpp"

namespace skingen::models {
namespace {

Transformer2DModel::Config transformer_config(const UNetConfig& c, int channels, int depth) {
  return {.channels = channels,
          .heads = c.heads(channels),
          .depth = depth,
          .context_dim = c.context_dim,
          .groups = c.norm_groups,
          .norm_eps = c.transformer_norm_eps,
          .ln_eps = c.layer_norm_eps};
}

}  // namespace

UNet2DConditionModel::UNet2DConditionModel(ops::Context& ctx, const WeightScope& ws, const UNetConfig& c)
    : config_(c),
      time_linear_1(bind_linear(ctx, ws.sub("time_embedding").sub("linear_1"), c.model_channels, c.time_embed_dim)),
      time_linear_2(bind_linear(ctx, ws.sub("time_embedding").sub("linear_2"), c.time_embed_dim, c.time_embed_dim)),
      conv_in(bind_conv(ctx, ws.sub("conv_in"), c.in_channels, c.model_channels, 3)),
      conv_norm_out(ws.sub("conv_norm_out"), c.model_channels, c.norm_groups, c.norm_eps),
      conv_out(bind_conv(ctx, ws.sub("conv_out"), c.model_channels, c.out_channels, 3)) {
  const int L = c.levels(), R = c.num_res_blocks, temb = c.time_embed_dim;
  auto resnet = [&](const WeightScope& s, int in, int out) {
    return ResnetBlock2D(ctx, s, in, out, temb, c.norm_groups, c.norm_eps);
  };

  // Down path; skip_channels records what each pushed skip carries (upstream's input_block_chans).
  std::vector<int> skip_channels{c.model_channels};
  int ch = c.model_channels;
  for (int l = 0; l < L; ++l) {
    const auto s = ws.sub("down_blocks").sub(l);
    const int out = c.channels(l);
    UNetLevel level;
    for (int i = 0; i < R; ++i) {
      level.resnets.push_back(resnet(s.sub("resnets").sub(i), ch, out));
      ch = out;
      if (c.attention[static_cast<std::size_t>(l)])
        level.attentions.emplace_back(ctx, s.sub("attentions").sub(i),
                                      transformer_config(c, out, c.transformer_depth[static_cast<std::size_t>(l)]));
      skip_channels.push_back(ch);
    }
    if (l != L - 1) {
      level.sampler.emplace(bind_conv(ctx, s.sub("downsamplers").sub(0).sub("conv"), ch, ch, 3, 2));
      skip_channels.push_back(ch);
    }
    down_blocks.push_back(std::move(level));
  }

  const auto mid = ws.sub("mid_block");
  mid_resnets.push_back(resnet(mid.sub("resnets").sub(0), ch, ch));
  if (c.mid_attention)
    mid_attention.emplace(ctx, mid.sub("attentions").sub(0), transformer_config(c, ch, c.mid_transformer_depth));
  mid_resnets.push_back(resnet(mid.sub("resnets").sub(1), ch, ch));

  for (int b = 0; b < L; ++b) {
    const int l = L - 1 - b;
    const auto s = ws.sub("up_blocks").sub(b);
    const int out = c.channels(l);
    UNetLevel level;
    for (int i = 0; i <= R; ++i) {
      const int skip = skip_channels.back();
      skip_channels.pop_back();
      level.resnets.push_back(resnet(s.sub("resnets").sub(i), ch + skip, out));
      ch = out;
      if (c.attention[static_cast<std::size_t>(l)])
        level.attentions.emplace_back(ctx, s.sub("attentions").sub(i),
                                      transformer_config(c, out, c.transformer_depth[static_cast<std::size_t>(l)]));
    }
    if (b != L - 1) level.sampler.emplace(bind_conv(ctx, s.sub("upsamplers").sub(0).sub("conv"), ch, ch, 3));
    up_blocks.push_back(std::move(level));
  }
}

Tensor UNet2DConditionModel::forward(const RunContext& rc, const Tensor& x, const Tensor& t,
                                     const Tensor& context) const {
  const auto& c = config_;
  if (x.ndim() != 4 || x.dim(3) != c.in_channels)
    throw FormatError("UNet input must be [N, h, w, " + std::to_string(c.in_channels) + "], got " +
                      engine::shape_str(x.shape()));
  if (context.ndim() != 3 || context.dim(0) != x.dim(0) || context.dim(2) != c.context_dim)
    throw FormatError("UNet context must be [" + std::to_string(x.dim(0)) + ", T, " + std::to_string(c.context_dim) +
                      "], got " + engine::shape_str(context.shape()));
  if (t.numel() != x.dim(0))
    throw FormatError("UNet timesteps must be [" + std::to_string(x.dim(0)) + "], got " + engine::shape_str(t.shape()));

  auto& ctx = rc.ctx;
  auto& pool = rc.pool;
  const ops::Conv2dExtras tiled{.tiling = rc.tiling};

  const Tensor t_freq = ops::timestep_embedding(ctx, pool, t, c.model_channels);  // [N, mc]
  const Tensor emb = time_linear_2.forward(
      ctx, pool, time_linear_1.forward(ctx, pool, t_freq, {.activation = ops::Activation::SiLU}));  // [N, temb]
  rc.emit("time_emb", emb);
  const Tensor emb_silu = ops::silu(ctx, pool, emb);  // [N, temb], what every resnet's time_emb_proj reads

  Tensor h = conv_in.forward(ctx, pool, x, tiled);  // [N, h, w, mc]
  rc.emit("conv_in", h);
  std::vector<Tensor> skips{h};

  for (std::size_t l = 0; l < down_blocks.size(); ++l) {
    const auto& level = down_blocks[l];
    const std::string name = "down_blocks." + std::to_string(l);
    for (std::size_t i = 0; i < level.resnets.size(); ++i) {
      h = level.resnets[i].forward(rc, h, &emb_silu);  // [N, h_l, w_l, C_l]
      rc.emit(name + ".resnets." + std::to_string(i), h);
      if (!level.attentions.empty()) {
        h = level.attentions[i].forward(rc, h, context);
        rc.emit(name + ".attentions." + std::to_string(i), h);
      }
      skips.push_back(h);
    }
    if (level.sampler) {
      h = level.sampler->forward(ctx, pool, h, tiled);  // [N, ⌈h_l/2⌉, ⌈w_l/2⌉, C_l]
      rc.emit(name + ".downsamplers.0", h);
      skips.push_back(h);
    }
    rc.emit(name, h);
  }

  h = mid_resnets[0].forward(rc, h, &emb_silu);
  rc.emit("mid_block.resnets.0", h);
  if (mid_attention) {
    h = mid_attention->forward(rc, h, context);
    rc.emit("mid_block.attentions.0", h);
  }
  h = mid_resnets[1].forward(rc, h, &emb_silu);  // [N, h_L, w_L, C_L]
  rc.emit("mid_block.resnets.1", h);
  rc.emit("mid_block", h);

  for (std::size_t b = 0; b < up_blocks.size(); ++b) {
    const auto& level = up_blocks[b];
    const std::string name = "up_blocks." + std::to_string(b);
    for (std::size_t i = 0; i < level.resnets.size(); ++i) {
      Tensor skip = std::move(skips.back());
      skips.pop_back();
      h = ops::concat_channels(ctx, pool, h, skip);    // [N, h_l, w_l, C + C_skip]
      h = level.resnets[i].forward(rc, h, &emb_silu);  // [N, h_l, w_l, C_l]
      rc.emit(name + ".resnets." + std::to_string(i), h);
      if (!level.attentions.empty()) {
        h = level.attentions[i].forward(rc, h, context);
        rc.emit(name + ".attentions." + std::to_string(i), h);
      }
    }
    if (level.sampler) {
      // Upsample to the size of the skip it meets next (diffusers' upsample_size),
      // which is 2× except when a side was odd on the way down.
      const Tensor& next = skips.back();
      h = (next.dim(1) == 2 * h.dim(1) && next.dim(2) == 2 * h.dim(2))
              ? ops::upsample_nearest2x(ctx, pool, h)
              : ops::upsample_nearest(ctx, pool, h, static_cast<int>(next.dim(1)), static_cast<int>(next.dim(2)));
      h = level.sampler->forward(ctx, pool, h, tiled);  // [N, h_{l-1}, w_{l-1}, C_l]
      rc.emit(name + ".upsamplers.0", h);
    }
    rc.emit(name, h);
  }

  h = conv_norm_out.forward(rc, h, /*silu=*/true);  // [N, h, w, mc]
  return conv_out.forward(ctx, pool, h, tiled);     // [N, h, w, out]
}

double UNet2DConditionModel::flops(int n, int h, int w, int tokens) const {
  const auto& c = config_;
  auto conv = [&](int hh, int ww, int cin, int cout, int k) { return 2.0 * n * hh * ww * cin * cout * k * k; };
  auto linear = [&](double rows, int in, int out) { return 2.0 * rows * in * out; };
  auto resnet = [&](int hh, int ww, int cin, int cout) {
    return conv(hh, ww, cin, cout, 3) + conv(hh, ww, cout, cout, 3) + (cin != cout ? conv(hh, ww, cin, cout, 1) : 0) +
           linear(n, c.time_embed_dim, cout);
  };
  auto transformer = [&](int hh, int ww, int ch, int depth) {
    const double T = static_cast<double>(n) * hh * ww;
    double f = 2 * linear(T, ch, ch);  // proj_in, proj_out
    for (int d = 0; d < depth; ++d) {
      f += 4 * linear(T, ch, ch);                                        // self q k v out
      f += 2.0 * T * hh * ww * ch * 2;                                   // self QKᵀ and PV
      f += 2 * linear(T, ch, ch) + 2 * linear(n * tokens, c.context_dim, ch);  // cross q, out, k, v
      f += 2.0 * T * tokens * ch * 2;                                    // cross QKᵀ and PV
      f += linear(T, ch, 8 * ch) + linear(T, 4 * ch, ch);                // GEGLU feed-forward
    }
    return f;
  };
  double f = linear(n, c.model_channels, c.time_embed_dim) + linear(n, c.time_embed_dim, c.time_embed_dim);
  f += conv(h, w, c.in_channels, c.model_channels, 3);
  std::vector<std::pair<int, std::pair<int, int>>> skips{{c.model_channels, {h, w}}};
  int ch = c.model_channels, hh = h, ww = w;
  const int L = c.levels();
  for (int l = 0; l < L; ++l) {
    for (int i = 0; i < c.num_res_blocks; ++i) {
      f += resnet(hh, ww, ch, c.channels(l));
      ch = c.channels(l);
      if (c.attention[static_cast<std::size_t>(l)]) f += transformer(hh, ww, ch, c.transformer_depth[static_cast<std::size_t>(l)]);
      skips.push_back({ch, {hh, ww}});
    }
    if (l != L - 1) {
      hh = (hh + 1) / 2;
      ww = (ww + 1) / 2;
      f += conv(hh, ww, ch, ch, 3);
      skips.push_back({ch, {hh, ww}});
    }
  }
  f += 2 * resnet(hh, ww, ch, ch) + (c.mid_attention ? transformer(hh, ww, ch, c.mid_transformer_depth) : 0);
  for (int b = 0; b < L; ++b) {
    const int l = L - 1 - b;
    for (int i = 0; i <= c.num_res_blocks; ++i) {
      f += resnet(hh, ww, ch + skips.back().first, c.channels(l));
      skips.pop_back();
      ch = c.channels(l);
      if (c.attention[static_cast<std::size_t>(l)]) f += transformer(hh, ww, ch, c.transformer_depth[static_cast<std::size_t>(l)]);
    }
    if (b != L - 1) {
      hh = skips.back().second.first;
      ww = skips.back().second.second;
      f += conv(hh, ww, ch, ch, 3);
    }
  }
  return f + conv(h, w, c.model_channels, c.out_channels, 3);
}

}  // namespace skingen::models
