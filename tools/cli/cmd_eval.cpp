// skingen eval …: tensor in, tensor out, for each model part. The debugging
// and cross-checking tool (--dump writes named intermediate activations).
#include <cstdio>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/safetensors_reader.hpp"
#include "engine/safetensors_writer.hpp"
#include "models/unet_loader.hpp"
#include "ops/layout.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/common_options.hpp"

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

    auto loaded = models::load_unet(ctx, store, unet_load_options(o->model));
    std::fprintf(stderr, "skingen: %s (%s), %s, loaded in %.2f s\n", o->model.model.c_str(),
                 loaded.detection.location.layout_name().c_str(), loaded.detection.config.summary().c_str(),
                 loaded.seconds);

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

}  // namespace

void register_eval(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "Tensor in, tensor out: run one model part on a safetensors input");
  cmd->require_subcommand(1);
  register_eval_unet(*cmd);
}

}  // namespace skingen::cli
