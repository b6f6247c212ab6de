// skingen bench generate: one whole txt2img run (issue 6, "Speed"), split into
// load, text encoding, sampling and VAE decode, each with its FLOPs and its
// fraction of the FMA peak measured in the same run. The sampling steps are
// timed one by one inside the run; text encoding and the VAE decode are then
// re-timed as repeated calls, keeping only calls that got ≥ 90 % of the cores
// (docs/ARCHITECTURE.md, "Measuring speed").
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/bench_timer.hpp"
#include "engine/core/error.hpp"
#include "engine/machine_peak.hpp"
#include "engine/tensor_store.hpp"
#include "models/sd_loader.hpp"
#include "ops/layout.hpp"
#include "tools/cli/bench_common.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/common_options.hpp"
#include "tools/cli/resource_usage.hpp"

namespace skingen::cli {
namespace {

using Clock = BenchClock;

struct Phase {
  std::string name;
  double seconds = 0;  // in the end-to-end run
  double flops = 0;    // of that phase in the run
  double timed_ms = 0;  // median of the kept timed calls (steps for sampling)
  double timed_flops = 0;  // FLOPs of one timed call
  double share = 0;
  int kept = 0, calls = 0;
  double gflops() const { return timed_ms > 0 ? timed_flops / (timed_ms * 1e-3) / 1e9 : 0; }
};

}  // namespace

void register_bench_generate(CLI::App& bench) {
  struct Options {
    std::string model, vae, tokenizer;
    std::string prompt = "mossy stone wall texture, seamless, highly detailed";
    std::string negative = "blurry, text, watermark";
    int size = 512, steps = 20, runs = 3, threads = 0;
    double cfg = 7.0;
    std::uint64_t seed = 1;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = bench.add_subcommand("generate", "One txt2img run: load, text, sampling per step, VAE decode vs the FMA peak");
  cmd->add_option("--model", o->model, "Checkpoint: .safetensors file or diffusers folder")->required();
  cmd->add_option("--vae", o->vae, "VAE file replacing the checkpoint's");
  cmd->add_option("--tokenizer", o->tokenizer, "Tokenizer folder or merges file (default: next to the model)");
  cmd->add_option("--prompt", o->prompt, "Prompt");
  cmd->add_option("--negative", o->negative, "Negative prompt");
  cmd->add_option("--size", o->size, "Image side in pixels")->check(CLI::Range(64, 2048));
  cmd->add_option("--steps", o->steps, "Euler steps")->check(CLI::Range(1, 1000));
  cmd->add_option("--cfg", o->cfg, "Guidance scale (1: no unconditional pass)");
  cmd->add_option("--seed", o->seed, "Seed");
  cmd->add_option("--runs", o->runs, "Timed text-encoder and VAE calls kept (CPU share ≥ 0.9)")->check(CLI::Range(1, 20));
  add_threads_option(cmd, o->threads);
  cmd->add_flag("--json", o->json, "Print one JSON object");
  cmd->callback([o] {
    if (o->size % 8) throw UsageError("--size: must be a multiple of 8, got " + std::to_string(o->size));
    if (!std::isfinite(o->cfg)) throw UsageError("--cfg: must be a finite number");
    ops::Context ctx(o->threads);
    const int threads = ctx.threads();
    engine::BenchTimer timer(threads);
    const auto peak = engine::measure_machine_peak(timer);

    // ---- load (from the page cache)
    double baseline_s = 0;
    {
      const auto store = engine::TensorStore::open(o->model);
      baseline_s = read_and_convert_seconds(store);
    }
    models::SdLoadOptions lo;
    lo.model = o->model;
    if (!o->vae.empty()) lo.vae = o->vae;
    if (!o->tokenizer.empty()) lo.tokenizer = o->tokenizer;
    models::SdLoadTimes load_times;
    auto t0 = Clock::now();
    models::SdPipeline pipe(ctx, models::load_sd(ctx, lo, &load_times));
    const double load_s = seconds_since(t0);
    const auto& c = pipe.components();
    const auto& unet_cfg = c.unet.detection.config;
    const int h = o->size / c.vae.detection.config.downscale(), w = h;
    const bool guided = o->cfg != 1.0;
    const int unet_batch = guided ? 2 : 1;

    // ---- the end-to-end run, steps timed one by one
    models::GenerationSettings s;
    s.prompt = o->prompt;
    s.negative = o->negative;
    s.seed = o->seed;
    s.steps = o->steps;
    s.cfg = static_cast<float>(o->cfg);
    s.width = s.height = o->size;
    std::vector<double> step_wall, step_share;
    double last_wall = 0, last_cpu = 0;
    engine::SamplerHooks hooks;
    const auto run_start = Clock::now();
    hooks.progress = [&](int, int) {
      const double wall = seconds_since(run_start), cpu = engine::team_cpu_seconds(threads);
      if (last_wall > 0) {  // step 1 also builds the primitives: not counted per step
        step_wall.push_back(wall - last_wall);
        step_share.push_back((cpu - last_cpu) / ((wall - last_wall) * threads));
      }
      last_wall = wall;
      last_cpu = cpu;
    };
    const auto result = pipe.generate(s, hooks);
    std::vector<double> kept_steps;
    for (std::size_t i = 0; i < step_wall.size(); ++i)
      if (step_share[i] >= timer.min_share()) kept_steps.push_back(step_wall[i]);

    Phase text{"text encoding"}, sampling{"sampling"}, vae{"VAE decode"};
    const auto& te = *c.text_encoder->model;
    const int tokens = te.config().max_positions;
    text.timed_flops = te.flops(guided ? 2 : 1, tokens);
    text.flops = text.timed_flops;
    text.seconds = result.times.text;
    sampling.seconds = result.times.sampling;
    sampling.timed_flops = c.unet.model->flops(unet_batch, h, w);
    sampling.flops = sampling.timed_flops * result.times.model_calls;
    sampling.timed_ms = 1e3 * engine::median(kept_steps.empty() ? step_wall : kept_steps);
    sampling.share = engine::median(step_share);
    sampling.kept = static_cast<int>(kept_steps.size());
    sampling.calls = static_cast<int>(step_wall.size());
    vae.seconds = result.times.vae;
    vae.timed_flops = vae.flops = c.vae.model->decode_flops(1, h, w);

    // ---- text encoder and VAE decode again, as kept calls
    engine::BenchLimits limits;
    limits.min_calls = o->runs;
    limits.max_calls = o->runs * 4;
    limits.min_seconds = 0;
    limits.max_seconds = 1e9;
    limits.warmup_calls = 0;  // both ran in the end-to-end run already
    const auto rt = timer.run(
        [&] {
          (void)pipe.encode_text(s.prompt, 0);
          if (guided) (void)pipe.encode_text(s.negative, 0);
        },
        limits);
    text.timed_ms = rt.median_ms;
    text.share = rt.median_share;
    text.kept = rt.kept;
    text.calls = rt.calls;
    const engine::Tensor latent = ops::nchw_to_nhwc(ctx, pipe.pool(), result.latent);  // [1, h, w, 4]
    models::RunContext rc{ctx, pipe.pool(), ops::Tiling::None, {}};
    const auto rv = timer.run([&] { (void)c.vae.model->decode(rc, latent); }, limits);
    vae.timed_ms = rv.median_ms;
    vae.share = rv.median_share;
    vae.kept = rv.kept;
    vae.calls = rv.calls;

    const double total_s = load_s + result.times.text + result.times.sampling + result.times.vae;
    const auto usage = resource_usage();
    nlohmann::ordered_json j = {
        {"model", o->model},
        {"unet", unet_cfg.summary()},
        {"vae", c.vae.detection.config.summary()},
        {"text_encoder", te.config().summary()},
        {"size", o->size},
        {"steps", o->steps},
        {"cfg", o->cfg},
        {"sampler", "euler"},
        {"threads", threads},
        {"peak_gflops", peak.fma_gflops},
        {"total_s", total_s},
        {"load", {{"s", load_s}, {"unet_s", load_times.unet}, {"text_encoder_s", load_times.text_encoder},
                  {"vae_s", load_times.vae}, {"tokenizer_s", load_times.tokenizer},
                  {"read_convert_s", baseline_s}, {"ratio", load_s / baseline_s}}},
    };
    for (const Phase* p : {&text, &sampling, &vae}) {
      nlohmann::ordered_json q = {{"s", p->seconds},
                                  {"fraction_of_total", p->seconds / total_s},
                                  {"gflop", p->flops / 1e9},
                                  {"timed_call_gflop", p->timed_flops / 1e9},
                                  {"timed_call_ms", p->timed_ms},
                                  {"gflops", p->gflops()},
                                  {"peak_fraction", p->gflops() / peak.fma_gflops},
                                  {"cpu_share", p->share},
                                  {"kept", p->kept},
                                  {"calls", p->calls}};
      j[p == &text ? "text" : p == &sampling ? "sampling" : "vae_decode"] = q;
    }
    j["sampling"]["unet_calls"] = result.times.model_calls;
    j["peak_rss_mb"] = usage.peak_rss_mb;
    if (o->json) {
      std::printf("%s\n", j.dump(2).c_str());
      return;
    }
    std::printf("model      %s\n           %s\n           %s\n           %s\n", o->model.c_str(),
                unet_cfg.summary().c_str(), c.vae.detection.config.summary().c_str(), te.config().summary().c_str());
    std::printf("machine    FMA peak %.1f GFLOP/s on %d threads (AVX2 %.1f, AVX-512 %.1f), triad %.1f GB/s\n",
                peak.fma_gflops, threads, peak.fma_gflops_avx2, peak.fma_gflops_avx512, peak.triad_gbps);
    std::printf("run        %dx%d, %d Euler steps, CFG %g (%d UNet calls of batch %d)\n", o->size, o->size, o->steps,
                o->cfg, result.times.model_calls, unet_batch);
    std::printf("\n%-14s %9s %7s %10s  %-34s %9s %7s\n", "phase", "time (s)", "share", "GFLOP", "timed call",
                "GFLOP/s", "% peak");
    std::printf("%-14s %9.2f %6.1f%% %10s  read+convert alone %.2f s (ratio %.2f)\n", "load", load_s,
                100 * load_s / total_s, "-", baseline_s, load_s / baseline_s);
    for (const Phase* p : {&text, &sampling, &vae}) {
      char call[64];
      std::snprintf(call, sizeof call, "%.0f ms median, %d/%d kept, CPU %.2f", p->timed_ms, p->kept, p->calls,
                    p->share);
      std::printf("%-14s %9.2f %6.1f%% %10.1f  %-34s %9.1f %6.1f%%\n", p->name.c_str(), p->seconds,
                  100 * p->seconds / total_s, p->flops / 1e9, call, p->gflops(), 100 * p->gflops() / peak.fma_gflops);
    }
    std::printf("%-14s %9.2f\n", "total", total_s);
    std::printf("\nsampling per step: %.1f GFLOP (UNet batch %d); the first step (primitive creation) is not in the "
                "median\nmemory: peak RSS %.0f MB\n",
                sampling.timed_flops / 1e9, unet_batch, usage.peak_rss_mb);
  });
}

}  // namespace skingen::cli
