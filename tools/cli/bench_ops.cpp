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
  int passes = 1;
};

std::string pct(double f) {
  char b[16];
  std::snprintf(b, sizeof b, "%3.0f%%", 100.0 * f);
  return b;
}

void print_row(const engine::OpBenchRow& r) {
  std::printf("%-16s %-28s %4d %9.3f %9.1f %s %s %s  %-24s %4.2f  %s\n", r.op.c_str(), r.shape.c_str(), r.count, r.ms,
              r.bandwidth ? r.gbps : r.gflops, r.bandwidth ? "GB/s" : "GF/s",
              pct(r.bandwidth ? r.triad_fraction : r.peak_fraction).c_str(), pct(r.side_fraction).c_str(),
              r.impl.c_str(), r.share, r.name.c_str());
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
    const std::string passes_note = opt.passes == 1 ? ""
                                                    : "\neach row: its fastest (shortest median) of " +
                                                          std::to_string(opt.passes) + " passes over the whole list";
    std::printf(
        "SD 1.5 UNet op shapes at %dx%d, batch %d, %d threads\n"
        "peak: FMA %.1f GFLOP/s (AVX2 %.1f, AVX-512 %.1f), triad %.1f GB/s, CPU share %.2f\n"
        "calls kept only at CPU share >= %.2f; median time; count = occurrences per UNet forward\n"
        "peak: of the FMA peak (GF/s rows) or triad (GB/s rows) above; side: of the median of the same\n"
        "loop, one short call after every timed call of the row (a ratio taken side by side)%s\n\n",
        opt.size, opt.size, opt.batch, ctx.threads(), peak.fma_gflops, peak.fma_gflops_avx2, peak.fma_gflops_avx512,
        peak.triad_gbps, peak.share, timer.min_share(), passes_note.c_str());
    std::printf("%-16s %-28s %4s %9s %14s %4s %4s  %-24s %5s  %s\n", "op", "shape (NHWC / rows)", "cnt", "ms", "rate",
                "peak", "side", "impl", "share", "where");
  }
  engine::BenchLimits limits;
  limits.min_seconds = opt.min_seconds;
  engine::PeakProbe probe(timer, peak);
  // With one pass rows are printed as they finish; with more, once at the end.
  const bool stream_rows = !opt.json && opt.passes == 1;
  auto rows = engine::run_op_bench(ctx, cases, peak, timer, limits,
                                   stream_rows ? print_row : std::function<void(const engine::OpBenchRow&)>{}, &probe);
  for (int pass = 2; pass <= opt.passes; ++pass) {
    if (!opt.json) std::fprintf(stderr, "pass %d of %d...\n", pass, opt.passes);
    engine::keep_faster(rows, engine::run_op_bench(ctx, cases, peak, timer, limits, {}, &probe));
  }
  if (!opt.json && !stream_rows)
    for (const auto& r : rows) print_row(r);
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
    j["passes"] = opt.passes;
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
        o["side_triad_gbps"] = r.side_peak;
      } else {
        o["gflops"] = r.gflops;
        o["peak_fraction"] = r.peak_fraction;
        o["side_peak_gflops"] = r.side_peak;
      }
      o["side_fraction"] = r.side_fraction;
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
  cmd->add_option("--passes", opt->passes,
                  "Time the whole list this many times; each row reports its fastest pass (a neighbour's burst on "
                  "a shared host then has to last through every pass)")
      ->check(CLI::Range(1, 20));
  cmd->callback([opt] { run(*opt); });
}

}  // namespace skingen::cli
