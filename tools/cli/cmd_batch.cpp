// skingen batch JOBS.jsonl: many generations, one model load per model/LoRA
// combination, restartable (finished outputs are skipped), shardable across
// processes of a scheduler (--shard I/N; batch_jobs.hpp).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <stdexcept>

#include "engine/core/error.hpp"
#include "tools/cli/batch_jobs.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/common_options.hpp"
#include "tools/cli/interrupt.hpp"
#include "tools/cli/regress_case.hpp"

namespace fs = std::filesystem;

namespace skingen::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct WorkItem {
  JobSpec job;  // one seed
  int line_number = 0;
  std::string key;  // model combination
};

}  // namespace

void register_batch(CLI::App& app) {
  struct Options {
    std::string jobs, out_dir = ".", shard = "0/1";
    int threads = 0;
    bool quiet = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("batch",
                                 "Run one generation per line of a JSONL file; finished outputs are skipped; exit 1 "
                                 "when any job failed");
  cmd->add_option("jobs", o->jobs, "JSONL file: one JSON object per line (the fields of README 'Batch generation')")
      ->required();
  cmd->add_option("--out-dir", o->out_dir, "Folder for relative output names");
  cmd->add_option("--shard", o->shard,
                  "Run only job j with j mod N == I (I counts from 0; jobs are the non-blank lines)");
  add_threads_option(cmd, o->threads);
  cmd->add_flag("--quiet", o->quiet, "Only the written paths and the summary");
  cmd->callback([o] {
    const auto shard = parse_shard(o->shard);
    const auto lines = read_job_lines(o->jobs);
    const auto t0 = Clock::now();
    const JobLog log = stderr_job_log(o->quiet);
    const auto& info = log.info;
    const auto report_failure = [&](int line, const std::string& what) {
      std::fprintf(stderr, "skingen: %s:%d: %s\n", o->jobs.c_str(), line, what.c_str());
    };

    std::size_t done = 0, skipped = 0, failed = 0, owned = 0;
    std::vector<WorkItem> work;
    for (const auto& line : lines) {
      if (!shard.owns(line.job)) continue;
      ++owned;
      try {
        const auto b = parse_job_line(line, o->out_dir);
        for (const auto seed : b.seeds) {
          WorkItem w{b.job, line.line_number, {}};
          w.job.seed = seed;
          bool finished = true;
          std::error_code ec;
          for (const auto& p : job_outputs(w.job, seed)) finished = finished && fs::exists(p, ec);
          if (finished) {
            skipped += static_cast<std::size_t>(w.job.batch);
            continue;
          }
          w.key = model_combination_key(w.job);
          work.push_back(std::move(w));
        }
      } catch (const UsageError& e) {
        report_failure(line.line_number, e.what());
        ++failed;
      }
    }
    info(std::to_string(owned) + " of " + std::to_string(lines.size()) + " job(s) in shard " + o->shard + "; " +
         std::to_string(work.size()) + " generation(s) to run, " + std::to_string(skipped) + " image(s) already there");
    // Jobs of one model combination run together: each combination is loaded once.
    std::stable_sort(work.begin(), work.end(), [](const WorkItem& a, const WorkItem& b) { return a.key < b.key; });

    ops::Context ctx(o->threads);
    ModelCache cache;
    engine::SamplerHooks hooks;
    hooks.cancel = install_interrupt_handler();
    std::size_t loads = 0;
    for (const auto& w : work) {
      try {
        const auto r = run_job(ctx, cache, w.job, hooks, log);
        loads += r.reused_model ? 0 : 1;
        done += r.written.size();
        for (const auto& p : r.written) std::printf("%s\n", p.c_str());
        std::fflush(stdout);
      } catch (const Cancelled&) {
        throw;
      } catch (const std::exception& e) {
        report_failure(w.line_number, e.what());
        ++failed;
      }
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    const double per_hour = seconds > 0 ? static_cast<double>(done) * 3600.0 / seconds : 0.0;
    std::printf("done %zu image(s), skipped %zu, failed %zu; %zu model load(s); %.1f s, %.0f images/hour\n", done,
                skipped, failed, loads, seconds, per_hour);
    std::fflush(stdout);
    if (failed)
      throw std::runtime_error("batch: " + std::to_string(failed) + " job(s) failed (see the line numbers above)");
  });
}

}  // namespace skingen::cli
