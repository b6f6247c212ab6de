#pragma once
// One generation request, whatever it came from: `generate` flags, a line of
// a `batch` JSONL file, or a recipe read back by `regress`. Running it loads
// (or reuses) the model, generates, and writes the PNGs atomically with their
// full recipe.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/sampler.hpp"
#include "models/sd_pipeline.hpp"

namespace CLI {
class App;
}

namespace skingen::cli {

struct LoraSpec {
  std::string path;
  double unet_weight = 1.0;
  double te_weight = 1.0;
  std::string source = "flag";  // or "prompt" (<lora:…> tag)
};

// FILE[:UNET_SCALE[:TE_SCALE]], splitting numbers off the right so paths may contain ':'.
LoraSpec parse_lora_spec(const std::string& text);

struct JobSpec {
  // Model
  std::string model;  // empty: the built-in demo model
  std::string vae, tokenizer, lora_dir;
  std::vector<LoraSpec> loras;
  std::string unet_config, prediction, text_encoder_config;
  bool lora_strict = false;
  // Generation
  std::string prompt, negative;
  std::optional<std::uint64_t> seed;  // nullopt: random, printed and recorded
  int steps = 20;
  double cfg = 7.0;
  std::string cfg_interval;  // "LO,HI" in σ; empty: the model's default (kDemoCfgInterval or everywhere)
  std::string sampler = "euler", schedule = "normal", rng = "cpu", tile = "none";
  int width = 0, height = 0;  // 0: the model's default size (512, or the demo model's)
  int batch = 1;
  std::string batch_seeds = "increment";  // or "stream" (engine/rng.hpp BatchSeeds)
  // Set by regress only: rerun image `stream_index` of a stream batch of
  // `stream_size` on its own (0: not a slice).
  int stream_size = 0, stream_index = 0;
  int clip_skip = 0;
  std::string init_image;
  double strength = 0.75;
  // Output: {seed} and {i} are replaced; with a batch and neither, "-{i}" is added before the extension
  // (also with {seed} alone in a stream batch, whose images share the seed).
  std::string out;
  // Test hooks
  std::string init_latent, embeddings, save_latent;
};

// Reads the fields present in a JSON object (the batch line format, README);
// throws UsageError naming the field.
void apply_job_json(JobSpec& job, const nlohmann::json& j, const std::string& source);

// sha256 of a model as recipes record it: the file, or for a diffusers folder
// the sha256 of its weight files' digests in name order.
std::string model_sha256(const std::filesystem::path& path);

// Declares every generation flag (not --out) on `cmd`, writing into `job`;
// --lora, --size and --seed land in the raw strings for the caller to parse
// (cmd_generate.cpp; shared by generate and regress manifests).
void add_job_options(CLI::App* cmd, JobSpec& job, std::vector<std::string>& loras, std::string& size,
                     std::int64_t& seed);
// Applies the raw --lora, --size and --seed values of add_job_options to `job`.
void finish_job_options(JobSpec& job, const std::vector<std::string>& loras, const std::string& size,
                        std::int64_t seed);

// The output paths a job writes (seed resolved).
std::vector<std::filesystem::path> job_outputs(const JobSpec& job, std::uint64_t seed);

struct JobLog {
  bool quiet = false;
  bool verbose = false;
  std::function<void(const std::string&)> info;  // one line, no newline
};

// The commands' log: each line as "skingen: LINE" on stderr, nothing when quiet.
JobLog stderr_job_log(bool quiet, bool verbose = false);

struct JobResult {
  std::vector<std::filesystem::path> written;
  std::uint64_t seed = 0;
  models::GenerationTimes times;
  double load_seconds = 0;
  bool reused_model = false;
};

// Keeps the last loaded model so that jobs with the same model, VAE, LoRAs and
// overrides reuse it (batch, regress).
class ModelCache {
 public:
  ModelCache();
  ~ModelCache();
  ModelCache(const ModelCache&) = delete;
  ModelCache& operator=(const ModelCache&) = delete;

  struct Entry;
  Entry& get(ops::Context& ctx, const JobSpec& job, const std::vector<LoraSpec>& loras, bool need_text_encoder,
             bool need_vae_encoder, const JobLog& log, bool* reused);

 private:
  std::unique_ptr<Entry> entry_;
};

JobResult run_job(ops::Context& ctx, ModelCache& cache, const JobSpec& job, const engine::SamplerHooks& hooks,
                  const JobLog& log);

// The built-in demo model (models/demo/ of the source tree the binary was built
// in, found from the binary's location or the compile-time source path).
std::filesystem::path demo_model_path();
std::vector<std::filesystem::path> demo_model_candidates();
bool is_demo_model(const std::string& model);
// The demo model's training size: its default --size.
constexpr int kDemoModelSize = 64;
// The demo model's default --cfg-interval: guidance only below sigma 3.3
// (t 700). Its UNet never saw the latents' channel means (an image's colour)
// above t 700, so there the prompt alone sets the colour and CFG would
// multiply it (models/demo/README.md; tools/demo/diffusion_stage.py).
inline constexpr const char* kDemoCfgInterval = "0,3.3";

}  // namespace skingen::cli
