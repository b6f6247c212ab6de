// skingen demo: what `make demo` shows a new user. Renders the prompts of the
// demo spec (models/demo/demo.json) with the built-in model, each without and
// with the skin LoRA, writes every PNG with its parameters, and a contact
// sheet whose cells show each texture repeated 2x2 so that a seam would be
// visible as a cross.
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>

#include "engine/core/error.hpp"
#include "engine/image_grid.hpp"
#include "engine/png_reader.hpp"
#include "engine/png_writer.hpp"
#include "tools/cli/commands.hpp"
#include "tools/cli/common_options.hpp"
#include "tools/cli/interrupt.hpp"
#include "tools/cli/job.hpp"

namespace skingen::cli {

namespace fs = std::filesystem;

namespace {

struct DemoSpec {
  nlohmann::json settings;  // job fields (apply_job_json)
  std::string lora;         // relative to the spec's folder
  double lora_weight = 1.0;
  std::vector<std::string> prompts;
  int repeat = 2;
};

DemoSpec read_spec(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw UsageError("--spec: cannot open " + path.string());
  nlohmann::json j;
  try {
    in >> j;
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(path.string() + ": not valid JSON (" + e.what() + ")");
  }
  if (!j.is_object() || !j.contains("prompts") || !j["prompts"].is_array() || j["prompts"].empty())
    throw UsageError(path.string() + ": expected an object with a non-empty 'prompts' array");
  DemoSpec s;
  try {
    s.settings = j.value("settings", nlohmann::json::object());
    s.lora = j.value("lora", std::string());
    s.lora_weight = j.value("lora_weight", 1.0);
    s.repeat = j.value("repeat", 2);
    s.prompts = j["prompts"].get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(path.string() + ": " + e.what());
  }
  if (s.repeat < 1 || s.repeat > 8) throw UsageError(path.string() + ": 'repeat' must be 1..8");
  return s;
}

// "green reptile scales, seamless" → "green-reptile-scales-seamless" (file names).
std::string slug(const std::string& text) {
  std::string s;
  for (unsigned char c : text) {
    if (std::isalnum(c)) s += static_cast<char>(std::tolower(c));
    else if (!s.empty() && s.back() != '-') s += '-';
    if (s.size() >= 40) break;
  }
  while (!s.empty() && s.back() == '-') s.pop_back();
  return s.empty() ? "prompt" : s;
}

}  // namespace

void register_demo(CLI::App& app) {
  struct Options {
    std::string spec, model, out_dir = "out";
    int threads = 0;
    bool quiet = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("demo", "Render the demo grid: demo prompts without and with the skin LoRA");
  cmd->add_option("--spec", o->spec, "Demo spec JSON (default: demo.json next to the demo model)");
  cmd->add_option("--model", o->model, "Checkpoint (default: the built-in demo model)");
  cmd->add_option("--out-dir", o->out_dir, "Writes OUT_DIR/demo.png and the single images in OUT_DIR/demo/");
  add_threads_option(cmd, o->threads);
  cmd->add_flag("--quiet", o->quiet, "Only print the output paths");
  cmd->callback([o] {
    const fs::path spec_path = o->spec.empty() ? demo_model_path().parent_path() / "demo.json" : fs::path(o->spec);
    const DemoSpec spec = read_spec(spec_path);
    JobSpec base;
    apply_job_json(base, spec.settings, spec_path.string() + ": settings");
    base.model = o->model.empty() ? demo_model_path().string() : o->model;
    if (spec.lora.empty()) throw UsageError(spec_path.string() + ": 'lora' is missing");
    const fs::path lora = spec_path.parent_path() / spec.lora;
    if (!fs::exists(lora)) throw UsageError(spec_path.string() + ": LoRA file " + lora.string() + " not found");

    const fs::path dir = fs::path(o->out_dir) / "demo";
    fs::create_directories(dir);
    ops::Context ctx(o->threads);
    ModelCache cache;
    const JobLog log = stderr_job_log(o->quiet);
    engine::SamplerHooks hooks;
    hooks.cancel = install_interrupt_handler();

    // All plain images first, then all with the LoRA: the model is merged once per pass.
    const std::size_t n = spec.prompts.size();
    std::vector<fs::path> files(2 * n);
    const auto t0 = std::chrono::steady_clock::now();
    for (int with_lora = 0; with_lora < 2; ++with_lora)
      for (std::size_t i = 0; i < n; ++i) {
        JobSpec job = base;
        job.prompt = spec.prompts[i];
        if (with_lora) job.loras.push_back({lora.string(), spec.lora_weight, spec.lora_weight, "flag"});
        char name[96];
        std::snprintf(name, sizeof name, "%02zu-%s%s.png", i + 1, slug(job.prompt).c_str(), with_lora ? "-skin" : "");
        job.out = (dir / name).string();
        const auto r = run_job(ctx, cache, job, hooks, log);
        files[static_cast<std::size_t>(with_lora) * n + i] = r.written.at(0);
        std::printf("%s\n", r.written.at(0).c_str());
        std::fflush(stdout);
      }

    std::vector<engine::Image8> cells;
    for (const auto& f : files) cells.push_back(engine::repeat_image(engine::read_png(f).image, spec.repeat, spec.repeat));
    const engine::Image8 grid = engine::image_grid(cells, static_cast<int>(n), 4, 255);
    const std::string about = "skingen demo grid: one column per prompt; top row without, bottom row with the skin LoRA at " +
                              std::to_string(spec.lora_weight).substr(0, 4) + "; each cell shows the texture repeated " +
                              std::to_string(spec.repeat) + "x" + std::to_string(spec.repeat) +
                              ". Single images with their parameters: " + dir.string();
    const std::vector<engine::PngText> texts{{"Description", about}};
    const fs::path grid_path = fs::path(o->out_dir) / "demo.png";
    engine::write_png(grid_path, grid, texts);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!o->quiet)
      std::fprintf(stderr, "skingen: %zu images in %.1f s; grid (columns: prompts; rows: without / with LoRA) %s\n",
                   2 * n, s, grid_path.c_str());
    std::printf("%s\n", grid_path.c_str());
  });
}

}  // namespace skingen::cli
