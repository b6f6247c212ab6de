// skingen bench lora: how fast LoRA files merge into a checkpoint's weights
// (the load-time cost of a LoRA), in GFLOP/s and as a fraction of the
// machine's FMA peak measured in the same run. Only the merge arithmetic is
// timed; reading each weight from the file and converting it to fp32 is the
// loader's cost with or without a LoRA and is left out.
#include <algorithm>
#include <cstdio>
#include <vector>

#include "engine/bench_timer.hpp"
#include "engine/core/error.hpp"
#include "engine/machine_peak.hpp"
#include "tools/cli/bench_common.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/common_options.hpp"
#include "tools/cli/lora_options.hpp"

namespace skingen::cli {
namespace {

struct MergeRun {
  double setup_seconds = 0;  // read the LoRA files, validate, resolve every key
  double merge_seconds = 0;  // the patch calls only
  double cpu_seconds = 0;
  double flops = 0;
  int modules = 0;
};

}  // namespace

void register_bench_lora(CLI::App& bench) {
  struct Options {
    ModelOptions model;
    int threads = 0;
    int runs = 3;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = bench.add_subcommand("lora", "LoRA merge speed (GFLOP/s, fraction of the measured FMA peak)");
  add_model_options(cmd, o->model);
  cmd->add_option("--runs", o->runs, "Merges timed (median quoted)")->check(CLI::Range(1, 10));
  add_threads_option(cmd, o->threads);
  cmd->callback([o] {
    if (o->model.loras.empty()) throw UsageError("bench lora: give at least one --lora FILE");
    ops::Context ctx(o->threads);
    engine::BenchTimer timer(ctx.threads());
    const auto peak = engine::measure_machine_peak(timer);
    const auto store = engine::TensorStore::open(o->model.model);
    const auto detection = models::detect_unet(store, unet_load_options(o->model, true));

    std::vector<MergeRun> runs;
    for (int run = 0; run < o->runs; ++run) {
      MergeRun r;
      const auto t0 = BenchClock::now();
      // A patcher merges each weight once: every run builds a fresh one.
      const auto patcher = make_lora_patcher(ctx, store, &detection, lora_specs(o->model),
                                             {.unet = true, .text_encoder = true}, o->model.lora_strict, false);
      r.setup_seconds = seconds_since(t0);
      const MergeTime merge = merge_planned_weights(store, *patcher, ctx.threads());
      r.merge_seconds = merge.wall;
      r.cpu_seconds = merge.cpu;
      for (const auto& l : patcher->loras())
        for (const auto& m : l.modules)
          if (m.applied()) {
            r.flops += m.flops;
            ++r.modules;
          }
      if (run == 0) print_lora_report(*patcher, stdout);
      runs.push_back(r);
    }
    std::sort(runs.begin(), runs.end(),
              [](const MergeRun& a, const MergeRun& b) { return a.merge_seconds < b.merge_seconds; });
    const MergeRun& m = runs[runs.size() / 2];
    const double gflops = m.flops / m.merge_seconds * 1e-9;
    std::printf("machine      FMA peak %.1f GFLOP/s on %d threads (AVX2 %.1f, AVX-512 %.1f)\n", peak.fma_gflops,
                ctx.threads(), peak.fma_gflops_avx2, peak.fma_gflops_avx512);
    std::printf("LoRA setup   %.3f s (read, validate, resolve keys; median run)\n", m.setup_seconds);
    std::printf("merge        %d modules, %.1f GFLOP in %.3f s (median of %d, CPU share %.2f)\n", m.modules,
                m.flops * 1e-9, m.merge_seconds, o->runs, m.cpu_seconds / (m.merge_seconds * ctx.threads()));
    std::printf("speed        %.1f GFLOP/s = %.1f %% of the measured peak\n", gflops, 100 * gflops / peak.fma_gflops);
  });
}

}  // namespace skingen::cli
