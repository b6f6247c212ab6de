#pragma once
// Everything needed to regenerate an image exactly, stored in each PNG that
// skingen writes: a tEXt chunk `skingen` with this recipe as JSON (what
// `skingen regress` reads), next to A1111's `parameters` text derived from it
// (what A1111, ComfyUI and image viewers show).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/infotext.hpp"
#include "engine/png_chunks.hpp"

namespace skingen::engine {

inline constexpr const char* kRecipeKeyword = "skingen";
inline constexpr const char* kParametersKeyword = "parameters";
inline constexpr int kRecipeFormat = 1;  // bump when a field changes meaning

struct RecipeFile {
  std::string name;    // file stem as A1111 shows it ("sd15", "skin_4-000015")
  std::string file;    // path as given on the command line
  std::string sha256;  // whole file, 64 hex digits (A1111 "Model hash" = first 10)
};

struct RecipeLora {
  RecipeFile file;
  double weight = 1.0;
  std::string data_sha256;  // bytes after the safetensors header (A1111 "Lora hashes" = first 12)
  // "flag" (given with --lora) or "prompt" (a <lora:NAME:W> tag inside the prompt).
  std::string source = "flag";
};

struct GenerationRecipe {
  std::string engine_version = SKINGEN_VERSION;
  std::string prompt;    // as given, <lora:…> tags included
  std::string negative;
  RecipeFile model;
  std::optional<RecipeFile> vae;  // set when --vae replaced the checkpoint's VAE
  std::vector<RecipeLora> loras;
  std::string sampler = "euler";    // euler, euler_a, heun, dpmpp_2m, ddim, lcm
  std::string schedule = "normal";  // normal, karras, exponential, leading, linspace, trailing
  std::string rng = "cpu";          // cpu, philox
  std::string tiling = "none";      // none, x, y, xy
  std::uint64_t seed = 0;
  int width = 512;
  int height = 512;
  int steps = 20;
  double cfg = 7.0;
  int clip_skip = 1;  // 0: the model's default (generate without --clip-skip)
  // generate --batch-seeds (engine/rng.hpp BatchSeeds). "increment": `seed` is
  // this image's own seed (image i of a batch from seed + i) and the JSON has
  // none of these three fields. "stream": `seed` is the batch's seed and this
  // is image `batch_index` of the `batch_size` images drawn as one torch.randn.
  std::string batch_seeds = "increment";
  int batch_size = 1;
  int batch_index = 0;
  // Fields added by later features (img2img strength, init image hash, …):
  // kept as they are and written back, so older code round-trips newer recipes.
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
};

nlohmann::ordered_json recipe_to_json(const GenerationRecipe& r);
// Strict: a missing or mistyped field is a FormatError naming `source` and the field.
GenerationRecipe recipe_from_json(const nlohmann::ordered_json& j, const std::string& source);

// A1111's infotext for the recipe (field order of A1111 create_infotext):
// Steps, Sampler, Schedule type, CFG scale, CFG interval (skingen, when limited), Seed, Size, Model hash, Model,
// VAE hash, VAE, Batch size, Batch pos and Batch seeds (stream batches only: the
// seed is the batch's), Clip skip (> 1 only), RNG ("CPU" for --rng cpu; A1111's
// default GPU/philox is written as nothing), Tiling, Lora hashes, Version.
// LoRAs given as flags are appended to the prompt as <lora:NAME:W> tags so
// that pasting the text into A1111 applies them.
Infotext recipe_infotext(const GenerationRecipe& r);
// A1111's labels for skingen's sampler and schedule names (A1111
// modules/sd_samplers_kdiffusion.py, modules/sd_schedulers.py); names A1111
// has no equivalent for are returned unchanged.
std::string a1111_sampler_label(const std::string& sampler);
std::string a1111_schedule_label(const std::string& schedule);

// The two text chunks: `parameters` (infotext) then `skingen` (compact JSON, ASCII).
std::vector<PngText> recipe_png_texts(const GenerationRecipe& r);
// The recipe in a PNG's text chunks; nullopt when there is no `skingen`
// chunk, FormatError naming `name` when there is one and it is not valid.
std::optional<GenerationRecipe> recipe_from_png_texts(const std::vector<PngText>& texts, const std::string& name);

}  // namespace skingen::engine
