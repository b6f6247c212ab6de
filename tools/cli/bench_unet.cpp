// skingen bench unet: load time, time per UNet forward, effective GFLOP/s and
// the fraction of the machine's FMA peak measured in the same run, peak RSS.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/bench_timer.hpp"
#include "engine/core/error.hpp"
#include "engine/machine_peak.hpp"
#include "models/unet_loader.hpp"
#include "tools/cli/bench_common.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/common_options.hpp"
#include "tools/cli/resource_usage.hpp"

namespace skingen::cli {
namespace {

using Clock = BenchClock;

engine::Tensor random_tensor(const engine::Shape& shape, std::mt19937& rng, float scale) {
  std::normal_distribution<float> nd(0.0f, scale);
  auto t = engine::Tensor::f32(shape);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.f32_mut()[i] = nd(rng);
  return t;
}

}  // namespace

void register_bench_unet(CLI::App& bench) {
  struct Options {
    ModelOptions model;
    int size = 512;
    int batch = 2;
    int threads = 0;
    int runs = 3;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = bench.add_subcommand("unet", "UNet forward speed (batch 2 = one CFG step) against the measured FMA peak");
  add_model_options(cmd, o->model);
  cmd->add_option("--size", o->size, "Image side in pixels (latent = size / 8)")->check(CLI::Range(64, 2048));
  cmd->add_option("--batch", o->batch, "Batch (2 = one classifier-free guidance step)")->check(CLI::Range(1, 16));
  cmd->add_option("--runs", o->runs, "Timed forwards kept (CPU share ≥ 0.9)")->check(CLI::Range(1, 20));
  add_threads_option(cmd, o->threads);
  cmd->add_flag("--json", o->json, "Print one JSON object");
  cmd->callback([o] {
    ops::Context ctx(o->threads);
    if (o->size % 8) throw UsageError("--size: must be a multiple of 8, got " + std::to_string(o->size));
    engine::BenchTimer timer(ctx.threads());
    const auto peak = engine::measure_machine_peak(timer);

    double load_seconds = 0, baseline_seconds = 0;
    models::LoadedUNet unet;
    {
      const auto store = engine::TensorStore::open(o->model.model);
      const auto where = models::locate_unet(store);
      baseline_seconds = read_and_convert_seconds(store, where.prefix);  // also warms the page cache
      const auto t0 = Clock::now();
      unet = models::load_unet(ctx, store, unet_load_options(o->model));
      load_seconds = seconds_since(t0);
    }  // the mapping is released here
    const auto& cfg = unet.detection.config;
    const int h = o->size / 8, w = o->size / 8;
    std::mt19937 rng(1);
    const auto x = random_tensor({o->batch, h, w, cfg.in_channels}, rng, 1.0f);
    const auto context = random_tensor({o->batch, 77, cfg.context_dim}, rng, 1.0f);
    auto t = engine::Tensor::f32({o->batch});
    for (int i = 0; i < o->batch; ++i) t.f32_mut()[i] = 500.0f;

    engine::BufferPool pool;
    models::RunContext rc{ctx, pool, ops::Tiling::None, {}};
    engine::BenchLimits limits;
    limits.min_calls = o->runs;
    limits.max_calls = o->runs * 3;
    limits.min_seconds = 0;
    limits.max_seconds = 1e9;
    limits.warmup_calls = 1;
    const auto r = timer.run([&] { (void)unet.model->forward(rc, x, t, context); }, limits);
    const double flops = unet.model->flops(o->batch, h, w);
    const double gflops = flops / (r.median_ms * 1e-3) / 1e9;
    const auto usage = resource_usage();
    const auto pool_stats = pool.stats();

    nlohmann::ordered_json j = {
        {"model", o->model.model},
        {"unet", cfg.summary()},
        {"size", o->size},
        {"batch", o->batch},
        {"threads", ctx.threads()},
        {"peak_gflops", peak.fma_gflops},
        {"load_s", load_seconds},
        {"read_convert_s", baseline_seconds},
        {"load_ratio", load_seconds / baseline_seconds},
        {"forward_gflop", flops / 1e9},
        {"forward_ms", r.median_ms},
        {"forward_min_ms", r.min_ms},
        {"gflops", gflops},
        {"peak_fraction", gflops / peak.fma_gflops},
        {"cpu_share", r.median_share},
        {"kept_runs", r.kept},
        {"runs", r.calls},
        {"activation_pool_peak_mb", static_cast<double>(pool_stats.peak_bytes_in_use) / (1 << 20)},
        {"peak_rss_mb", usage.peak_rss_mb},
    };
    if (o->json) {
      std::printf("%s\n", j.dump(2).c_str());
      return;
    }
    std::printf("model        %s\n             %s\n", o->model.model.c_str(), cfg.summary().c_str());
    std::printf("machine      FMA peak %.1f GFLOP/s on %d threads (AVX2 %.1f, AVX-512 %.1f), triad %.1f GB/s\n",
                peak.fma_gflops, ctx.threads(), peak.fma_gflops_avx2, peak.fma_gflops_avx512, peak.triad_gbps);
    std::printf("load         %.2f s (reading + converting from the page cache alone: %.2f s, ratio %.2f)\n",
                load_seconds, baseline_seconds, load_seconds / baseline_seconds);
    std::printf("forward      %dx%d, batch %d: %.1f GFLOP in %.0f ms median (min %.0f ms, %d of %d runs kept, "
                "CPU share %.2f)\n",
                o->size, o->size, o->batch, flops / 1e9, r.median_ms, r.min_ms, r.kept, r.calls, r.median_share);
    std::printf("speed        %.1f GFLOP/s = %.1f %% of the measured peak\n", gflops, 100 * gflops / peak.fma_gflops);
    std::printf("memory       peak RSS %.0f MB, activation pool peak %.0f MB\n", usage.peak_rss_mb,
                static_cast<double>(pool_stats.peak_bytes_in_use) / (1 << 20));
  });
}

}  // namespace skingen::cli
