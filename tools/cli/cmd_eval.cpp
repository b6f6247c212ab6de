// skingen eval …: tensor in, tensor out, for each model part. The debugging
// and cross-checking tool (--dump writes named intermediate activations).
#include <cstdio>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/safetensors_reader.hpp"
#include "engine/safetensors_writer.hpp"
#include "models/text_encoder_loader.hpp"
#include "models/unet_loader.hpp"
#include "models/vae_loader.hpp"
#include "ops/layout.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/common_options.hpp"
#include "tools/cli/lora_options.hpp"

namespace skingen::cli {
namespace {

engine::Tensor input_tensor(const engine::SafetensorsFile& f, const std::string& name, std::size_t ndim) {
  const auto* info = f.find(name);
  if (!info) throw FormatError(f.path().string() + ": missing input tensor '" + name + "'");
  if (info->shape.size() != ndim)
    throw FormatError(f.path().string() + ": tensor '" + name + "' has shape " + engine::shape_str(info->shape) +
                      ", expected " + std::to_string(ndim) + " dimensions");
  if (!engine::is_float_dtype(info->dtype))
    throw FormatError(f.path().string() + ": tensor '" + name + "' must be a float tensor");
  return f.read_f32(*info);
}

void register_eval_unet(CLI::App& parent) {
  struct Options {
    ModelOptions model;
    std::string input, output;
    std::vector<std::string> dump;
    int threads = 0;
    std::string tile = "none";
  };
  auto o = std::make_shared<Options>();
  auto* cmd = parent.add_subcommand("unet", "Run one UNet forward: x, t, context in; eps out");
  add_model_options(cmd, o->model);
  cmd->add_option("--input", o->input, "safetensors with x [B,4,h,w], t [B], context [B,77,D] (F32)")->required();
  cmd->add_option("--output", o->output, "safetensors to write: eps [B,4,h,w] F32 (+ dumps)")->required();
  cmd->add_option("--dump", o->dump,
                  "Intermediate activations to add to OUTPUT as dump.NAME: time_emb, conv_in, down_blocks.I, "
                  "down_blocks.I.resnets.J, down_blocks.I.attentions.J, down_blocks.I.downsamplers.0, "
                  "mid_block[.resnets.J|.attentions.0], up_blocks.I[...], or 'all'");
  add_threads_option(cmd, o->threads);
  add_tile_option(cmd, o->tile);
  cmd->callback([o] {
    ops::Context ctx(o->threads);
    const auto store = engine::TensorStore::open(o->model.model);
    const auto in = engine::SafetensorsFile::open(o->input);
    const auto x = input_tensor(in, "x", 4);
    const auto t = input_tensor(in, "t", 1);
    const auto context = input_tensor(in, "context", 3);

    auto load_options = unet_load_options(o->model, true);
    // LoRAs are read and checked against the model before it is loaded, then merged as it loads.
    const auto detection = models::detect_unet(store, load_options);
    const auto lora = make_lora_patcher(ctx, store, &detection, lora_specs(o->model),
                                        {.unet = true, .text_encoder = false}, o->model.lora_strict, o->model.verbose);
    load_options.patcher = lora.get();
    auto loaded = models::load_unet(ctx, store, load_options);
    std::fprintf(stderr, "skingen: %s (%s), %s, loaded in %.2f s\n", o->model.model.c_str(),
                 loaded.detection.location.layout_name().c_str(), loaded.detection.config.summary().c_str(),
                 loaded.seconds);
    if (lora) print_lora_report(*lora, stderr);

    engine::BufferPool pool;
    engine::NamedTensors out;
    const std::set<std::string> wanted(o->dump.begin(), o->dump.end());
    models::RunContext rc{ctx, pool, parse_tiling(o->tile), {}};
    if (!wanted.empty())
      rc.dump = [&](const std::string& name, const engine::Tensor& a) {
        if (!wanted.count("all") && !wanted.count(name)) return;
        out.emplace_back("dump." + name, a.ndim() == 4 ? ops::nhwc_to_nchw(ctx, pool, a).clone() : a.clone());
      };
    const auto x_nhwc = ops::nchw_to_nhwc(ctx, pool, x);
    const auto eps = loaded.model->forward(rc, x_nhwc, t, context);
    out.insert(out.begin(), {"eps", ops::nhwc_to_nchw(ctx, pool, eps).clone()});
    engine::write_safetensors(o->output, out);
  });
}

void register_eval_text(CLI::App& parent) {
  struct Options {
    std::string model, input, output, config;
    int clip_skip = 0;
    int threads = 0;
    ModelOptions lora;  // only the --lora, --lora-strict, --verbose fields
  };
  auto o = std::make_shared<Options>();
  auto* cmd = parent.add_subcommand("text", "Run the text encoder: ids in, hidden states out (what the UNet receives)");
  cmd->add_option("--model", o->model, "Checkpoint: single .safetensors file or diffusers folder")->required();
  cmd->add_option("--input", o->input, "safetensors with ids [B,77] I32 or I64")->required();
  cmd->add_option("--output", o->output, "safetensors to write: hidden [B,77,D] F32")->required();
  cmd->add_option("--clip-skip", o->clip_skip, "Use the hidden state N-1 layers before the last (0: model default)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--text-encoder-config", o->config,
                  "Text encoder config override (HF CLIPTextConfig fields, JSON file or inline)");
  cmd->add_option("--lora", o->lora.loras, "LoRA FILE[:UNET_SCALE[:TE_SCALE]] (repeatable; its lora_te_ part applies)");
  cmd->add_flag("--lora-strict", o->lora.lora_strict, "Fail when a LoRA key matches nothing in the model");
  cmd->add_flag("--verbose", o->lora.verbose, "List every unmatched LoRA key");
  add_threads_option(cmd, o->threads);
  cmd->callback([o] {
    ops::Context ctx(o->threads);
    const auto store = engine::TensorStore::open(o->model);
    const auto in = engine::SafetensorsFile::open(o->input);
    const auto* info = in.find("ids");
    if (!info) throw FormatError(in.path().string() + ": missing input tensor 'ids'");
    // Only the text encoder is loaded: the LoRA's UNet modules count as not applied.
    const auto lora = make_lora_patcher(ctx, store, nullptr, lora_specs(o->lora), {.unet = false, .text_encoder = true},
                                        o->lora.lora_strict, o->lora.verbose);
    const auto te = models::load_text_encoder(ctx, store, lora.get(), parse_json_option("--text-encoder-config", o->config));
    if (lora) print_lora_report(*lora, stderr);
    engine::BufferPool pool;
    models::RunContext rc{ctx, pool, ops::Tiling::None, {}};
    const auto hidden = te.model->forward(rc, in.view(*info), o->clip_skip);
    engine::write_safetensors(o->output, {{"hidden", hidden.clone()}});
  });
}

void register_eval_vae(CLI::App& parent) {
  struct Options {
    std::string model, vae, input, output, tile = "none";
    bool encode = false;
    int threads = 0;
  };
  auto o = std::make_shared<Options>();
  // The latent here is in the sampler's scale (the VAE's own latent times its
  // scaling_factor, 0.18215 for SD 1.x/2.x), as --save-latent writes it and
  // diffusers passes it (vae.decode(latents / scaling_factor)).
  auto* cmd = parent.add_subcommand(
      "vae",
      "Run the VAE: decode latent → image, or --encode image → latent. `latent` is in the sampler's scale "
      "(the VAE's own latent × scaling_factor, 0.18215 for SD 1.x/2.x: what --save-latent writes); decoding "
      "divides by it first. --encode also writes `mean` and `logvar` in the VAE's own scale, unscaled");
  cmd->add_option("--model", o->model, "Checkpoint (single file or diffusers folder) holding the VAE")->required();
  cmd->add_option("--vae", o->vae, "Standalone VAE file replacing the checkpoint's");
  cmd->add_option("--input", o->input,
                  "safetensors with latent [B,4,h,w] in the sampler's scale (VAE latent × 0.18215; decode) or "
                  "image [B,3,H,W] in [-1,1] (--encode)")
      ->required();
  cmd->add_option("--output", o->output,
                  "safetensors to write: image [B,3,8h,8w] in [-1,1], unclamped (decode); --encode: mean and "
                  "logvar unscaled (the VAE's own), latent = mean × 0.18215 (the sampler's scale)")
      ->required();
  cmd->add_flag("--encode", o->encode, "Encode an image instead of decoding a latent");
  add_threads_option(cmd, o->threads);
  add_tile_option(cmd, o->tile);
  cmd->callback([o] {
    ops::Context ctx(o->threads);
    const auto store = engine::TensorStore::open(o->vae.empty() ? o->model : o->vae);
    const auto in = engine::SafetensorsFile::open(o->input);
    const auto vae = models::load_vae(ctx, store, o->encode, !o->encode);
    engine::BufferPool pool;
    models::RunContext rc{ctx, pool, parse_tiling(o->tile), {}};
    if (!o->encode) {
      const auto latent = ops::nchw_to_nhwc(ctx, pool, input_tensor(in, "latent", 4));
      const auto image = vae.model->decode(rc, latent);
      engine::write_safetensors(o->output, {{"image", ops::nhwc_to_nchw(ctx, pool, image).clone()}});
      return;
    }
    const auto image = ops::nchw_to_nhwc(ctx, pool, input_tensor(in, "image", 4));
    const auto moments = ops::nhwc_to_nchw(ctx, pool, vae.model->encode_moments(rc, image));  // [B, 2E, h, w]
    const auto B = moments.dim(0), E = moments.dim(1) / 2, hw = moments.dim(2) * moments.dim(3);
    auto mean = engine::Tensor::f32({B, E, moments.dim(2), moments.dim(3)});
    auto logvar = engine::Tensor::f32(mean.shape());
    auto latent = engine::Tensor::f32(mean.shape());
    const float s = vae.detection.config.scaling_factor;
    for (std::int64_t b = 0; b < B; ++b)
      for (std::int64_t i = 0; i < E * hw; ++i) {
        mean.f32_mut()[b * E * hw + i] = moments.f32_data()[b * 2 * E * hw + i];
        logvar.f32_mut()[b * E * hw + i] = moments.f32_data()[b * 2 * E * hw + E * hw + i];
        latent.f32_mut()[b * E * hw + i] = mean.f32_data()[b * E * hw + i] * s;
      }
    engine::write_safetensors(o->output, {{"mean", mean}, {"logvar", logvar}, {"latent", latent}});
  });
}

}  // namespace

void register_eval(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "Tensor in, tensor out: run one model part on a safetensors input");
  cmd->require_subcommand(1);
  register_eval_unet(*cmd);
  register_eval_text(*cmd);
  register_eval_vae(*cmd);
}

}  // namespace skingen::cli
