// skingen lora-check --model M --lora F [--lora …]: the coverage report and
// the Frobenius norm of every module's ΔW, merged into the checkpoint's real
// weights exactly as a load would, without building the model or generating.
#include <cstdio>

#include "engine/core/error.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/common_options.hpp"
#include "tools/cli/lora_options.hpp"

namespace skingen::cli {

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
    const auto detection = models::detect_unet(store, unet_load_options(o->model, true));
    // Every part the checkpoint holds counts as loaded: its weights are read here.
    const auto patcher = make_lora_patcher(ctx, store, &detection, lora_specs(o->model),
                                           {.unet = true, .text_encoder = true}, o->model.lora_strict,
                                           o->model.verbose, true);
    merge_planned_weights(store, *patcher, ctx.threads());
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
