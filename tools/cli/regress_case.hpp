#pragma once
// The cases of `skingen regress`: read from a folder of reference PNGs (each
// regenerated from its own recipe) or from a manifest of explicit cases, and
// checked against the files they name before anything is generated.
//
// Manifest format (README "Regression testing"):
//   {"cases": [{"name": "rust-7",
//               "args": ["--model", "m.safetensors", "--prompt", "rust", "--seed", "7", ...],
//               "reference": "rust-7.png",
//               "max_diff": 1, "min_psnr": 40, "min_ssim": 0.99}]}
// `args` are `skingen generate` arguments without --out; relative paths in
// them (--model, --lora, --lora-dir, --vae, --tokenizer, --init-latent,
// --embeddings, --init-image) and `reference` are relative to the manifest's folder.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/recipe.hpp"
#include "tools/cli/job.hpp"

namespace skingen::cli {

struct RegressThresholds {
  int max_diff = 1;
  double min_psnr = 0;
  std::optional<double> min_ssim;  // needs images of at least 11x11
};

struct RegressCase {
  std::string name;
  std::filesystem::path reference;
  JobSpec job;  // out is set by the runner
  RegressThresholds thresholds;
  // The reference's recipe, when it has one (its file hashes and engine version are checked).
  std::optional<engine::GenerationRecipe> recipe;
  // Set when the case cannot run at all (a recipe that cannot be read, …): status "error".
  std::string setup_error;
};

std::vector<RegressCase> cases_from_dir(const std::filesystem::path& dir, const RegressThresholds& defaults);
// Throws UsageError naming the manifest and the case for a malformed manifest.
std::vector<RegressCase> cases_from_manifest(const std::filesystem::path& manifest, const RegressThresholds& defaults);

// Why a case cannot be compared before generating: its inputs.
struct InputCheck {
  enum class Status { Ok, MissingFile, HashMismatch };
  Status status = Status::Ok;
  std::string message;
};

// sha256 digests by path, so that a checkpoint used by many cases is hashed once.
class HashCache {
 public:
  const std::string& model(const std::string& path);
  const std::string& file(const std::string& path);

 private:
  std::map<std::string, std::string> model_, file_;
};

// Missing files first (model, VAE, tokenizer, LoRAs including <lora:…> tags,
// test hooks), then the reference recipe's hashes against the actual files.
InputCheck check_case_inputs(const RegressCase& c, HashCache& hashes);

// Cases that load the same model, VAE, tokenizer and LoRAs share this key
// (the runner orders by it so each combination is loaded once).
std::string model_combination_key(const JobSpec& job);

}  // namespace skingen::cli
