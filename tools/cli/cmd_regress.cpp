// skingen regress DIR|MANIFEST.json: regenerate reference images and compare.
// Statuses: pass; fail (pixels outside the thresholds); version-changed (the
// same, for a reference made by another engine version); missing-file and
// hash-mismatch (the inputs are not the ones the reference was made with:
// nothing is generated); no-reference; error. With --update: updated,
// recipe-updated (same pixels, new hashes or version), unchanged.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>

#include "engine/atomic_file.hpp"
#include "engine/core/error.hpp"
#include "engine/image_compare.hpp"
#include "engine/png_reader.hpp"
#include "engine/png_writer.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/common_options.hpp"
#include "tools/cli/interrupt.hpp"
#include "tools/cli/junit_report.hpp"
#include "tools/cli/regress_case.hpp"

namespace fs = std::filesystem;

namespace skingen::cli {
namespace {

using Clock = std::chrono::steady_clock;

// Where regenerated images go; removed at the end.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (fs::temp_directory_path() / "skingen-regress-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("cannot create a temporary folder in " + tmpl);
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct Outcome {
  std::string status;
  std::string message;
  std::optional<engine::ImageDiff> diff;
  double seconds = 0;
  bool loaded_model = false;

  Outcome() = default;
  Outcome(std::string s, std::string m) : status(std::move(s)), message(std::move(m)) {}
  bool ok() const {
    return status == "pass" || status == "updated" || status == "unchanged" || status == "recipe-updated";
  }
};

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::vector<std::byte> slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::vector<char> c((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> b(c.size());
  std::copy(c.begin(), c.end(), reinterpret_cast<char*>(b.data()));
  return b;
}

std::string threshold_failures(const engine::ImageDiff& d, const RegressThresholds& t) {
  std::string f;
  const auto add = [&](const std::string& s) { f += (f.empty() ? "" : "; ") + s; };
  if (d.max_abs_diff > t.max_diff)
    add("max diff " + std::to_string(d.max_abs_diff) + " > " + std::to_string(t.max_diff));
  if (d.psnr < t.min_psnr) add("PSNR " + fmt("%.2f", d.psnr) + " dB < " + fmt("%g", t.min_psnr) + " dB");
  if (t.min_ssim && !d.ssim) add("SSIM undefined below 11x11");
  if (t.min_ssim && d.ssim && *d.ssim < *t.min_ssim)
    add("SSIM " + fmt("%.6f", *d.ssim) + " < " + fmt("%g", *t.min_ssim));
  return f;
}

struct Runner {
  ops::Context& ctx;
  ModelCache cache;
  HashCache hashes;
  engine::SamplerHooks hooks;
  JobLog log;
  fs::path scratch;
  bool update = false;
  std::string diff_dir;  // heat maps of failing cases go here when set

  Outcome run(const RegressCase& c, std::size_t index) {
    Outcome o;
    if (!c.setup_error.empty()) return {"error", c.setup_error};
    const auto check = check_case_inputs(c, hashes);
    if (check.status == InputCheck::Status::MissingFile) return {"missing-file", check.message};
    const bool hash_changed = check.status == InputCheck::Status::HashMismatch;
    if (hash_changed && !update) return {"hash-mismatch", check.message + " (--update accepts the new file)"};
    const bool version_changed = c.recipe && c.recipe->engine_version != SKINGEN_VERSION;

    JobSpec job = c.job;
    job.batch = 1;
    job.out = (scratch / ("case-" + std::to_string(index) + ".png")).string();
    JobResult r;
    try {
      r = run_job(ctx, cache, job, hooks, log);
    } catch (const Cancelled&) {
      throw;
    } catch (const std::exception& e) {
      return {"error", e.what()};
    }
    o.loaded_model = !r.reused_model;
    const auto generated = engine::read_png(job.out).image;
    std::error_code ec;
    if (!fs::exists(c.reference, ec)) {
      if (!update) return {"no-reference", c.reference.string() + " does not exist (--update writes it)"};
      engine::write_file_atomically(c.reference, slurp(job.out));
      o.status = "updated";
      o.message = "new reference " + c.reference.string();
      return o;
    }
    engine::Image8 reference;
    try {
      reference = engine::read_png(c.reference).image;
    } catch (const FormatError& e) {
      return {"error", e.what()};
    }
    if (reference.width != generated.width || reference.height != generated.height) {
      o.status = update ? "updated" : "fail";
      o.message = "the reference is " + std::to_string(reference.width) + "x" + std::to_string(reference.height) +
                  ", the regenerated image " + std::to_string(generated.width) + "x" + std::to_string(generated.height);
    } else {
      o.diff = engine::compare_images(reference, generated);
      const auto failures = threshold_failures(*o.diff, c.thresholds);
      if (!update) {
        o.status = failures.empty() ? "pass" : version_changed ? "version-changed" : "fail";
        o.message = failures;
        if (version_changed)
          o.message += std::string(failures.empty() ? "" : "; ") + "reference made by skingen " +
                       c.recipe->engine_version + ", this is " + SKINGEN_VERSION;
        if (!failures.empty() && !diff_dir.empty()) {
          std::string file = c.name;
          std::replace(file.begin(), file.end(), '/', '_');
          const fs::path map = fs::path(diff_dir) / (fs::path(file).replace_extension().string() + ".diff.png");
          fs::create_directories(diff_dir);
          engine::write_png(map, engine::diff_heatmap(reference, generated));
          o.message += "; heat map " + map.string();
        }
        return o;
      }
      o.status = o.diff->max_abs_diff > 0            ? "updated"
                 : (hash_changed || version_changed) ? "recipe-updated"
                                                     : "unchanged";
      if (hash_changed) o.message = check.message;
    }
    if (o.status != "unchanged") engine::write_file_atomically(c.reference, slurp(job.out));
    return o;
  }
};

}  // namespace

void register_regress(CLI::App& app) {
  struct Options {
    std::string source, junit, diff_dir;
    std::vector<std::string> filters;
    bool update = false, quiet = false;
    int threads = 0;
    RegressThresholds thresholds;
    double min_ssim = -1;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("regress",
                                 "Regenerate reference images (a folder of skingen PNGs, or a manifest of cases) and "
                                 "compare; exit 1 when any case fails");
  cmd->add_option("source", o->source, "Folder of reference PNGs (each regenerated from its recipe) or MANIFEST.json")
      ->required();
  cmd->add_option("--junit", o->junit, "Write a JUnit XML report here");
  cmd->add_flag("--update", o->update, "Rewrite the references with the regenerated images; list those that changed");
  cmd->add_option("--diff-dir", o->diff_dir, "Write a heat map (as compare --diff) of each failing case here");
  cmd->add_option("--filter", o->filters, "Run only cases whose name contains this text (repeatable)");
  cmd->add_option("--max-diff", o->thresholds.max_diff,
                  "Fail if a channel value differs by more than N (a manifest case's max_diff overrides)")
      ->check(CLI::Range(0, 255));
  cmd->add_option("--min-psnr", o->thresholds.min_psnr, "Fail if PSNR (dB) is below this (manifest: min_psnr)")
      ->check(CLI::Range(0.0, 1000.0));
  cmd->add_option("--min-ssim", o->min_ssim, "Fail if SSIM is below this; off unless given (manifest: min_ssim)")
      ->check(CLI::Range(-1.0, 1.0));
  add_threads_option(cmd, o->threads);
  cmd->add_flag("--quiet", o->quiet, "Only the table");
  cmd->callback([o, cmd] {
    if (!std::isfinite(o->thresholds.min_psnr) || !std::isfinite(o->min_ssim))
      throw UsageError("--min-psnr and --min-ssim must be finite numbers");
    auto defaults = o->thresholds;
    if (cmd->count("--min-ssim")) defaults.min_ssim = o->min_ssim;
    std::error_code ec;
    if (!fs::exists(o->source, ec)) throw UsageError("regress: '" + o->source + "' does not exist");
    auto cases =
        fs::is_directory(o->source) ? cases_from_dir(o->source, defaults) : cases_from_manifest(o->source, defaults);
    if (!o->filters.empty()) {
      std::erase_if(cases, [&](const RegressCase& c) {
        return std::none_of(o->filters.begin(), o->filters.end(),
                            [&](const std::string& f) { return c.name.find(f) != std::string::npos; });
      });
      if (cases.empty()) throw UsageError("--filter: no case name contains the given text");
    }
    // Cases of one model combination run together, so each combination is loaded once.
    std::stable_sort(cases.begin(), cases.end(), [](const RegressCase& a, const RegressCase& b) {
      return model_combination_key(a.job) < model_combination_key(b.job);
    });

    ScratchDir scratch;
    ops::Context ctx(o->threads);
    Runner runner{ctx, {}, {}, {}, {}, scratch.path(), o->update, o->diff_dir};
    runner.hooks.cancel = install_interrupt_handler();
    runner.log = stderr_job_log(o->quiet);

    int width = 4;
    for (const auto& c : cases) width = std::max(width, std::min(48, static_cast<int>(c.name.size())));
    std::printf("%-*s  %-15s %9s %9s %8s %8s\n", width, "case", "status", "PSNR", "SSIM", "max diff", "time");
    std::fflush(stdout);
    const auto t0 = Clock::now();
    std::vector<JUnitCase> report;
    std::size_t failed = 0, loads = 0;
    std::vector<std::string> changed;
    for (std::size_t i = 0; i < cases.size(); ++i) {
      const auto& c = cases[i];
      const auto tc = Clock::now();
      auto out = runner.run(c, i);
      out.seconds = std::chrono::duration<double>(Clock::now() - tc).count();
      loads += out.loaded_model ? 1 : 0;
      const auto& d = out.diff;
      const std::string psnr = !d ? "-" : std::isinf(d->psnr) ? "inf" : fmt("%.2f", d->psnr);
      const std::string ssim = !d ? "-" : d->ssim ? fmt("%.5f", *d->ssim) : "n/a";
      const std::string maxd = d ? std::to_string(d->max_abs_diff) : "-";
      std::printf("%-*s  %-15s %9s %9s %8s %7.2fs\n", width, c.name.c_str(), out.status.c_str(), psnr.c_str(),
                  ssim.c_str(), maxd.c_str(), out.seconds);
      if (!out.message.empty()) std::printf("%*s  %s\n", width, "", out.message.c_str());
      std::fflush(stdout);
      if (!out.ok()) ++failed;
      if (out.status == "updated" || out.status == "recipe-updated") changed.push_back(c.reference.string());
      JUnitCase jc;
      jc.name = c.name;
      jc.seconds = out.seconds;
      jc.failed = !out.ok();
      jc.failure_type = out.status;
      jc.failure_message = out.status + ": " + (out.message.empty() ? c.reference.string() : out.message);
      if (d) jc.output = "PSNR " + psnr + " dB, SSIM " + ssim + ", max diff " + maxd;
      report.push_back(std::move(jc));
    }
    const double total = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("%zu case(s): %zu passed, %zu failed; %zu model load(s); %.2f s\n", cases.size(), cases.size() - failed,
                failed, loads, total);
    if (o->update) {
      std::printf("%zu reference(s) changed%s\n", changed.size(), changed.empty() ? "" : ":");
      for (const auto& p : changed) std::printf("  %s\n", p.c_str());
    }
    std::fflush(stdout);
    if (!o->junit.empty()) write_junit(o->junit, o->source, report, total);
    if (failed)
      throw std::runtime_error("regress: " + std::to_string(failed) + " of " + std::to_string(cases.size()) +
                               " case(s) failed");
  });
}

}  // namespace skingen::cli
