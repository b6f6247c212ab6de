// skingen lora-check --model M --lora F [--lora …]: the coverage report and
// the Frobenius norm of every module's ΔW, merged into the checkpoint's real
// weights exactly as a load would, without building the model or generating.
#include <cstdio>
#include <cstring>

#include "engine/core/error.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/common_options.hpp"
#include "tools/cli/lora_options.hpp"

namespace skingen::cli {
namespace {

// The stored fp32 tensor of a target's weight or bias (rows [row0, row0 + rows) of a fused tensor).
engine::Tensor read_target(const engine::TensorStore& store, const engine::LoraTarget& t, bool bias) {
  const std::string& name = bias ? t.stored_bias : t.stored_weight;
  const engine::Tensor all = store.read_f32(name);
  const engine::Shape want = bias ? engine::Shape{t.shape[0]} : t.shape;
  const std::int64_t n = engine::shape_numel(want);
  if (t.stored_row0 == 0 && all.numel() == n) return all.reshaped(want);
  const std::int64_t row = all.numel() / all.dim(0);
  if ((t.stored_row0 * row) + n > all.numel())
    throw FormatError(store.path().string() + ": tensor '" + name + "' is too small for " + t.canonical);
  engine::Tensor r = engine::Tensor::f32(want);
  std::memcpy(r.f32_mut(), all.f32_data() + t.stored_row0 * row, static_cast<std::size_t>(n) * sizeof(float));
  return r;
}

}  // namespace

void register_lora_check(CLI::App& app) {
  struct Options {
    ModelOptions model;
    int threads = 0;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "lora-check", "Check LoRAs against a model: coverage report and per-module ΔW norms, without generating");
  add_model_options(cmd, o->model);
  add_threads_option(cmd, o->threads);
  cmd->callback([o] {
    if (o->model.loras.empty()) throw UsageError("lora-check: give at least one --lora FILE");
    ops::Context ctx(o->threads);
    const auto store = engine::TensorStore::open(o->model.model);
    const auto detection = models::detect_unet(store, unet_load_options(o->model));
    // Every part the checkpoint holds counts as loaded: its weights are read here.
    const auto patcher = make_lora_patcher(ctx, store, detection, o->model, {.unet = true, .text_encoder = true}, true);
    for (const auto& p : patcher->planned()) {
      const auto& comp = patcher->model().components[static_cast<std::size_t>(p.component)];
      const auto& target = comp.targets[static_cast<std::size_t>(p.target)];
      engine::Tensor w = read_target(store, target, p.weight.ends_with(".bias"));
      patcher->patch(comp.name, p.weight, w);
    }
    print_lora_report(*patcher, stdout);
    std::printf("ΔW per module (Frobenius norm; relative to the weight's norm):\n");
    for (const auto& l : patcher->loras()) {
      for (std::size_t i = 0; i < l.modules.size(); ++i) {
        const auto& st = l.modules[i];
        if (!st.applied() || !st.delta_norm) continue;
        const auto& comp = patcher->model().components[static_cast<std::size_t>(st.resolution.component)];
        const auto& target = comp.targets[static_cast<std::size_t>(st.resolution.target)];
        const double w = st.weight_norm.value_or(0);
        std::printf("  %s: %s → %s %s  ‖ΔW‖ %.6g", l.file.name.c_str(), l.file.modules[i].key.c_str(),
                    comp.display.c_str(), target.canonical.c_str(), *st.delta_norm);
        if (w > 0) std::printf("  (%.4g of ‖W‖)", *st.delta_norm / w);
        std::printf("\n");
      }
    }
  });
}

}  // namespace skingen::cli
