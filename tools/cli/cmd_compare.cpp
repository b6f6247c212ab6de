// skingen compare A.png B.png: image metrics and thresholds for regression
// tests. Exit 0 within the thresholds, 1 outside them, 2 on bad input.
#include <cmath>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/image_compare.hpp"
#include "engine/png_reader.hpp"
#include "engine/png_writer.hpp"
#include "tools/cli/commands.hpp"

namespace skingen::cli {

namespace {

// Unreadable or malformed input is a usage problem here (exit 2), not a
// failed comparison (exit 1).
engine::Image8 read_input(const std::string& path) {
  try {
    return engine::read_png(path).image;
  } catch (const FormatError& e) {
    throw UsageError(e.what());
  }
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string psnr_str(double psnr) { return std::isinf(psnr) ? "inf" : fmt("%.2f", psnr); }

}  // namespace

void register_compare(CLI::App& app) {
  struct Options {
    std::string a, b, diff;
    int max_diff = 255;
    double min_psnr = 0;
    double min_ssim = -1;
    double diff_gain = 0;
    bool json = false;
  };
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "compare", "Compare two PNGs: max abs diff, differing pixels, PSNR, SSIM (11x11 Gaussian, luma); exit 0 within "
                 "the thresholds, 1 outside, 2 on bad input");
  cmd->add_option("a", opt->a, "Reference PNG")->required();
  cmd->add_option("b", opt->b, "PNG to check")->required();
  cmd->add_option("--max-diff", opt->max_diff, "Fail if any channel value differs by more than N")
      ->check(CLI::Range(0, 255));
  cmd->add_option("--min-psnr", opt->min_psnr, "Fail if PSNR (dB) is below this; identical images have PSNR inf")
      ->check(CLI::Range(0.0, 1000.0));
  cmd->add_option("--min-ssim", opt->min_ssim, "Fail if SSIM is below this (needs images of at least 11x11)")
      ->check(CLI::Range(-1.0, 1.0));
  cmd->add_option("--diff", opt->diff, "Write a heat map of the differences to this PNG");
  cmd->add_option("--diff-gain", opt->diff_gain,
                  "Heat map scale: 0 = relative to the largest difference (any difference visible), G > 0 = d*G/255")
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_flag("--json", opt->json, "Print one JSON object instead of text");
  cmd->callback([opt, cmd] {
    // CLI::Range lets NaN through (every comparison with it is false).
    if (!std::isfinite(opt->min_psnr) || !std::isfinite(opt->min_ssim) || !std::isfinite(opt->diff_gain))
      throw UsageError("--min-psnr, --min-ssim and --diff-gain must be finite numbers");
    const auto a = read_input(opt->a);
    const auto b = read_input(opt->b);
    if (a.width != b.width || a.height != b.height)
      throw UsageError("cannot compare " + opt->a + " (" + std::to_string(a.width) + "x" + std::to_string(a.height) +
                       ") with " + opt->b + " (" + std::to_string(b.width) + "x" + std::to_string(b.height) +
                       "): the sizes differ");
    const bool want_ssim = cmd->count("--min-ssim") > 0;
    if (want_ssim && (a.width < 11 || a.height < 11))
      throw UsageError("--min-ssim needs images of at least 11x11 (the SSIM window); these are " +
                       std::to_string(a.width) + "x" + std::to_string(a.height));
    const auto d = engine::compare_images(a, b);
    if (!opt->diff.empty()) {
      try {
        engine::write_png(opt->diff, engine::diff_heatmap(a, b, opt->diff_gain));
      } catch (const FormatError& e) {
        throw UsageError(std::string("--diff: ") + e.what());
      }
    }

    std::string failures;
    const auto fail = [&](const std::string& s) { failures += (failures.empty() ? "" : "; ") + s; };
    if (d.max_abs_diff > opt->max_diff)
      fail("max abs diff " + std::to_string(d.max_abs_diff) + " > " + std::to_string(opt->max_diff));
    if (d.psnr < opt->min_psnr) fail("PSNR " + psnr_str(d.psnr) + " dB < " + fmt("%g", opt->min_psnr) + " dB");
    if (want_ssim && *d.ssim < opt->min_ssim) fail("SSIM " + fmt("%.6f", *d.ssim) + " < " + fmt("%g", opt->min_ssim));

    if (opt->json) {
      nlohmann::ordered_json j = {
          {"a", opt->a}, {"b", opt->b}, {"width", d.width}, {"height", d.height},
          {"max_abs_diff", d.max_abs_diff}, {"differing_pixels", d.differing_pixels},
          {"differing_fraction", d.differing_fraction}, {"mse", d.mse},
          // JSON has no infinity: identical images give the string "inf".
          {"psnr", std::isinf(d.psnr) ? nlohmann::ordered_json("inf") : nlohmann::ordered_json(d.psnr)},
          {"ssim", d.ssim ? nlohmann::ordered_json(*d.ssim) : nlohmann::ordered_json(nullptr)},
          {"pass", failures.empty()}};
      std::printf("%s\n", j.dump(2).c_str());
    } else {
      std::printf("%s vs %s (%dx%d)\n", opt->a.c_str(), opt->b.c_str(), d.width, d.height);
      std::printf("  max abs diff      %d\n", d.max_abs_diff);
      std::printf("  differing pixels  %.6f (%zu of %zu)\n", d.differing_fraction, d.differing_pixels,
                  static_cast<std::size_t>(d.width) * d.height);
      std::printf("  PSNR              %s dB\n", psnr_str(d.psnr).c_str());
      std::printf("  SSIM              %s\n", d.ssim ? fmt("%.6f", *d.ssim).c_str() : "n/a (smaller than 11x11)");
      std::printf("%s\n", failures.empty() ? "within thresholds" : "NOT within thresholds");
    }
    std::fflush(stdout);
    // main() turns this into "skingen: error: …" and exit code 1.
    if (!failures.empty()) throw std::runtime_error(opt->a + " vs " + opt->b + ": not within thresholds: " + failures);
  });
}

}  // namespace skingen::cli
