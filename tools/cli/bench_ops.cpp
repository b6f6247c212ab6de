// skingen bench ops: every conv, linear and attention shape of an SD 1.5 UNet
// forward, and the bandwidth-bound ops, against the FMA peak and triad
// bandwidth measured in the same run (engine/op_bench.hpp).
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/core/error.hpp"
#include "engine/op_bench.hpp"
#include "tools/cli/commands.hpp"

namespace skingen::cli {
namespace {

struct Options {
  bool json = false;
  int threads = 0;
  int size = 512;
  int batch = 2;
  std::string filter;
  double min_seconds = 0.3;
};

std::string pct(double f) {
  char b[16];
  std::snprintf(b, sizeof b, "%3.0f%%", 100.0 * f);
  return b;
}

void print_row(const engine::OpBenchRow& r) {
  if (r.bandwidth)
    std::printf("%-16s %-28s %4d %9.3f %9.1f GB/s %s  %-24s %4.2f  %s\n", r.op.c_str(), r.shape.c_str(), r.count, r.ms,
                r.gbps, pct(r.triad_fraction).c_str(), r.impl.c_str(), r.share, r.name.c_str());
  else
    std::printf("%-16s %-28s %4d %9.3f %9.1f GF/s %s  %-24s %4.2f  %s\n", r.op.c_str(), r.shape.c_str(), r.count, r.ms,
                r.gflops, pct(r.peak_fraction).c_str(), r.impl.c_str(), r.share, r.name.c_str());
  std::fflush(stdout);
}

void run(const Options& opt) {
  if (opt.size < 64 || opt.size % 64 != 0)
    throw UsageError("--size must be a positive multiple of 64, got " + std::to_string(opt.size));
  if (opt.batch < 1) throw UsageError("--batch must be at least 1, got " + std::to_string(opt.batch));
  if (opt.threads < 0) throw UsageError("--threads must be 0 (all cores) or positive");
  ops::Context ctx(opt.threads);
  const engine::BenchTimer timer(ctx.threads());
  auto cases = engine::sd15_unet_op_cases(opt.size, opt.batch);
  if (!opt.filter.empty()) {
    std::erase_if(cases, [&](const engine::OpCase& c) { return c.name.find(opt.filter) == std::string::npos; });
    if (cases.empty()) throw UsageError("--filter '" + opt.filter + "' matches no op");
  }
  if (!opt.json) std::printf("measuring the machine peak on %d threads...\n", ctx.threads());
  const auto peak = engine::measure_machine_peak(timer);
  if (!opt.json) {
    std::printf(
        "SD 1.5 UNet op shapes at %dx%d, batch %d, %d threads\n"
        "peak: FMA %.1f GFLOP/s (AVX2 %.1f, AVX-512 %.1f), triad %.1f GB/s, CPU share %.2f\n"
        "calls kept only at CPU share >= %.2f; median time; count = occurrences per UNet forward\n\n",
        opt.size, opt.size, opt.batch, ctx.threads(), peak.fma_gflops, peak.fma_gflops_avx2, peak.fma_gflops_avx512,
        peak.triad_gbps, peak.share, timer.min_share());
    std::printf("%-16s %-28s %4s %9s %14s %4s  %-24s %5s  %s\n", "op", "shape (NHWC / rows)", "cnt", "ms", "rate",
                "peak", "impl", "share", "where");
  }
  engine::BenchLimits limits;
  limits.min_seconds = opt.min_seconds;
  const auto rows = engine::run_op_bench(ctx, cases, peak, timer, limits,
                                         opt.json ? std::function<void(const engine::OpBenchRow&)>{} : print_row);
  double total_ms = 0, total_flops = 0;
  for (const auto& r : rows) {
    total_ms += r.count * r.ms;
    if (!r.bandwidth) total_flops += r.count * r.gflops * r.ms * 1e-3;
  }
  if (opt.json) {
    nlohmann::json j;
    j["peak_gflops"] = peak.fma_gflops;
    j["peak_gflops_avx2"] = peak.fma_gflops_avx2;
    j["peak_gflops_avx512"] = peak.fma_gflops_avx512;
    j["triad_gbps"] = peak.triad_gbps;
    j["peak_share"] = peak.share;
    j["threads"] = ctx.threads();
    j["image_size"] = opt.size;
    j["batch"] = opt.batch;
    j["unet_ops_ms"] = total_ms;
    j["unet_ops_gflop"] = total_flops;
    auto& out = j["rows"] = nlohmann::json::array();
    for (const auto& r : rows) {
      nlohmann::json o{{"op", r.op},     {"shape", r.shape}, {"where", r.name}, {"count", r.count}, {"ms", r.ms},
                       {"impl", r.impl}, {"share", r.share}, {"kept", r.kept},  {"calls", r.calls}};
      if (r.bandwidth) {
        o["gbps"] = r.gbps;
        o["triad_fraction"] = r.triad_fraction;
      } else {
        o["gflops"] = r.gflops;
        o["peak_fraction"] = r.peak_fraction;
      }
      out.push_back(std::move(o));
    }
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf(
        "\nops of one UNet forward (count x median): %.0f ms, %.0f GFLOP of convs/linears/attention (%.0f GFLOP/s)\n",
        total_ms, total_flops, total_ms > 0 ? total_flops / (total_ms * 1e-3) : 0.0);
  }
}

}  // namespace

void register_bench_ops(CLI::App& bench) {
  auto opt = std::make_shared<Options>();
  auto* cmd = bench.add_subcommand("ops", "Time every conv, linear and attention shape of an SD 1.5 UNet forward");
  cmd->add_flag("--json", opt->json, "Print one JSON object instead of the table");
  cmd->add_option("--threads", opt->threads, "Threads for oneDNN and our kernels (0: all cores)");
  cmd->add_option("--size", opt->size, "Image size in pixels (the latent is size/8)");
  cmd->add_option("--batch", opt->batch, "Batch (2 = one classifier-free guidance step)");
  cmd->add_option("--filter", opt->filter, "Only ops whose 'where' column contains this text");
  cmd->add_option("--min-time", opt->min_seconds, "Seconds to keep timing each op (at least 3 kept calls)");
  cmd->callback([opt] { run(*opt); });
}

}  // namespace skingen::cli
