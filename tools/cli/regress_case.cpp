#include "tools/cli/regress_case.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/core/error.hpp"
#include "engine/file_hash.hpp"
#include "engine/png_reader.hpp"
#include "engine/prompt_extra_networks.hpp"

namespace fs = std::filesystem;

namespace skingen::cli {
namespace {

bool path_exists(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

// A recipe path is as given on the generating command line: relative to that
// run's working directory. Tried as is (regress run from the same folder),
// then relative to the reference's folder, then its file name in the
// reference's folder (a suite moved together with its models). The sha256
// check catches a wrong file found this way.
std::string resolve_recorded(const std::string& p, const fs::path& ref_dir) {
  if (p.empty() || path_exists(p)) return p;
  for (const fs::path& alt : {ref_dir / p, ref_dir / fs::path(p).filename()})
    if (path_exists(alt)) return alt.string();
  return p;
}

std::string rebase(const std::string& p, const fs::path& base) {
  if (p.empty() || fs::path(p).is_absolute()) return p;
  return (base / p).lexically_normal().string();
}

std::optional<std::string> extra_string(const engine::GenerationRecipe& r, const char* key) {
  const auto it = r.extra.find(key);
  if (it == r.extra.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// The job a recipe describes (the reverse of run_job's recipe).
JobSpec job_from_recipe(const engine::GenerationRecipe& r, const fs::path& ref_dir) {
  JobSpec j;
  j.model = resolve_recorded(r.model.file, ref_dir);
  if (r.vae) j.vae = resolve_recorded(r.vae->file, ref_dir);
  const auto te = r.extra.find("lora_te_weights");
  std::string first_tag_lora;
  for (std::size_t i = 0; i < r.loras.size(); ++i) {
    const auto& l = r.loras[i];
    if (l.source == "prompt") {  // comes back from the prompt's <lora:…> tag
      if (first_tag_lora.empty()) first_tag_lora = resolve_recorded(l.file.file, ref_dir);
      continue;
    }
    LoraSpec s;
    s.path = resolve_recorded(l.file.file, ref_dir);
    s.unet_weight = s.te_weight = l.weight;
    if (te != r.extra.end() && te->is_array() && i < te->size() && (*te)[i].is_number())
      s.te_weight = (*te)[i].get<double>();
    j.loras.push_back(s);
  }
  if (const auto d = extra_string(r, "lora_dir"))
    j.lora_dir = resolve_recorded(*d, ref_dir);
  else if (!first_tag_lora.empty())
    j.lora_dir = fs::path(first_tag_lora).parent_path().string();
  if (const auto v = extra_string(r, "tokenizer")) j.tokenizer = resolve_recorded(*v, ref_dir);
  if (const auto v = extra_string(r, "unet_config")) j.unet_config = *v;
  if (const auto v = extra_string(r, "text_encoder_config")) j.text_encoder_config = *v;
  if (const auto v = extra_string(r, "prediction")) j.prediction = *v;
  if (const auto v = extra_string(r, "init_image")) j.init_image = resolve_recorded(*v, ref_dir);
  if (const auto it = r.extra.find("strength"); it != r.extra.end() && it->is_number()) j.strength = it->get<double>();
  if (const auto v = extra_string(r, "init_latent")) j.init_latent = resolve_recorded(*v, ref_dir);
  if (const auto v = extra_string(r, "embeddings")) j.embeddings = resolve_recorded(*v, ref_dir);
  j.prompt = r.prompt;
  j.negative = r.negative;
  j.seed = r.seed;
  j.batch_seeds = r.batch_seeds;
  if (r.batch_seeds == "stream") {  // image batch_index of the batch, rerun on its own
    j.stream_size = r.batch_size;
    j.stream_index = r.batch_index;
  }
  j.steps = r.steps;
  j.cfg = r.cfg;
  j.cfg_interval = extra_string(r, "cfg_interval").value_or("0,inf");
  j.sampler = r.sampler;
  j.schedule = r.schedule;
  j.rng = r.rng;
  j.tile = r.tiling;
  j.width = r.width;
  j.height = r.height;
  j.clip_skip = r.clip_skip;
  return j;
}

std::optional<engine::GenerationRecipe> png_recipe(const fs::path& png) {
  const auto meta = engine::read_png_metadata(png);
  return engine::recipe_from_png_texts(meta.texts, png.string());
}

RegressThresholds thresholds_from_json(const nlohmann::json& c, RegressThresholds t) {
  if (c.contains("max_diff")) t.max_diff = c["max_diff"].get<int>();
  if (c.contains("min_psnr")) t.min_psnr = c["min_psnr"].get<double>();
  if (c.contains("min_ssim")) t.min_ssim = c["min_ssim"].get<double>();
  return t;
}

}  // namespace

std::vector<RegressCase> cases_from_dir(const fs::path& dir, const RegressThresholds& defaults) {
  std::vector<fs::path> pngs;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".png") pngs.push_back(e.path());
  std::sort(pngs.begin(), pngs.end());
  if (pngs.empty()) throw UsageError(dir.string() + ": no .png references in this folder");
  std::vector<RegressCase> cases;
  for (const auto& png : pngs) {
    RegressCase c;
    c.name = png.lexically_relative(dir).string();
    c.reference = png;
    c.thresholds = defaults;
    try {
      c.recipe = png_recipe(png);
      if (!c.recipe)
        c.setup_error = "no skingen recipe in this PNG (not written by skingen generate)";
      else
        c.job = job_from_recipe(*c.recipe, png.parent_path());
      if (c.recipe && c.recipe->extra.contains("init_latent_sha256") && c.job.init_latent.empty())
        c.setup_error = "the recipe used --init-latent without recording its path: use a manifest";
      if (c.recipe && c.recipe->extra.contains("embeddings_sha256") && c.job.embeddings.empty())
        c.setup_error = "the recipe used --embeddings without recording its path: use a manifest";
    } catch (const std::exception& e) {
      c.setup_error = e.what();
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

std::vector<RegressCase> cases_from_manifest(const fs::path& manifest, const RegressThresholds& defaults) {
  std::ifstream in(manifest);
  if (!in) throw UsageError(manifest.string() + ": cannot read the manifest");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(manifest.string() + ": not valid JSON: " + e.what());
  }
  if (!j.is_object() || !j.contains("cases") || !j["cases"].is_array())
    throw UsageError(manifest.string() + ": expected {\"cases\": [...]}");
  const fs::path base = manifest.parent_path();
  std::vector<RegressCase> cases;
  std::size_t index = 0;
  for (const auto& c : j["cases"]) {
    const std::string where = manifest.string() + ": case " + std::to_string(index++);
    RegressCase rc;
    try {
      rc.name = c.at("name").get<std::string>();
      rc.reference = rebase(c.at("reference").get<std::string>(), base);
      rc.thresholds = thresholds_from_json(c, defaults);
      std::vector<std::string> args = c.at("args").get<std::vector<std::string>>();
      for (const auto& [k, v] : c.items())
        if (k != "name" && k != "args" && k != "reference" && k != "max_diff" && k != "min_psnr" && k != "min_ssim")
          throw UsageError("unknown field '" + k + "'");
      CLI::App app("generate arguments", "args");
      std::vector<std::string> loras;
      std::string size;
      std::int64_t seed = -1;
      add_job_options(&app, rc.job, loras, size, seed);
      std::reverse(args.begin(), args.end());  // CLI11 parses a reversed vector
      try {
        app.parse(args);
      } catch (const CLI::ParseError& e) {
        throw UsageError(std::string("args: ") + e.what() + " (generate options without --out)");
      }
      finish_job_options(rc.job, loras, size, seed);
      if (!rc.job.save_latent.empty()) throw UsageError("args: --save-latent has no place in a regression case");
      if (rc.job.batch != 1) throw UsageError("args: a case is one image (--batch 1)");
      if (!rc.job.seed) throw UsageError("args: a case needs a --seed");
      auto& jb = rc.job;
      for (auto* p : {&jb.model, &jb.lora_dir, &jb.vae, &jb.tokenizer, &jb.init_latent, &jb.embeddings, &jb.init_image})
        *p = rebase(*p, base);
      for (auto& l : jb.loras) l.path = rebase(l.path, base);
    } catch (const nlohmann::json::exception& e) {
      throw UsageError(where + ": " + e.what());
    } catch (const UsageError& e) {
      throw UsageError(where + (rc.name.empty() ? "" : " (" + rc.name + ")") + ": " + e.what());
    }
    try {
      if (path_exists(rc.reference)) rc.recipe = png_recipe(rc.reference);  // PyTorch goldens have none
    } catch (const std::exception& e) {
      rc.setup_error = e.what();
    }
    cases.push_back(std::move(rc));
  }
  if (cases.empty()) throw UsageError(manifest.string() + ": no cases");
  return cases;
}

const std::string& HashCache::model(const std::string& path) {
  auto it = model_.find(path);
  if (it == model_.end()) it = model_.emplace(path, model_sha256(path)).first;
  return it->second;
}

const std::string& HashCache::file(const std::string& path) {
  auto it = file_.find(path);
  if (it == file_.end()) it = file_.emplace(path, engine::sha256_file_hex(path)).first;
  return it->second;
}

InputCheck check_case_inputs(const RegressCase& c, HashCache& hashes) {
  using S = InputCheck::Status;
  const auto& j = c.job;
  const auto missing = [](const std::string& what, const std::string& p) {
    return InputCheck{S::MissingFile, what + " '" + p + "' does not exist"};
  };
  const std::pair<const char*, const std::string*> files[] = {{"model", &j.model},
                                                              {"VAE", &j.vae},
                                                              {"tokenizer", &j.tokenizer},
                                                              {"init image", &j.init_image},
                                                              {"init latent", &j.init_latent},
                                                              {"embeddings", &j.embeddings}};
  for (const auto& [what, p] : files)
    if (!p->empty() && !path_exists(*p)) return missing(what, *p);
  // The LoRAs in run_job's order: flags, then prompt tags.
  std::vector<std::string> loras;
  for (const auto& l : j.loras) {
    if (!path_exists(l.path)) return missing("LoRA", l.path);
    loras.push_back(l.path);
  }
  for (const auto& tag : engine::extract_extra_networks(j.prompt).loras) {
    try {
      loras.push_back(
          engine::resolve_lora_file(tag, j.lora_dir.empty() ? std::nullopt : std::optional<fs::path>(j.lora_dir))
              .string());
    } catch (const UsageError& e) {
      return {S::MissingFile, e.what()};
    }
  }
  if (!c.recipe) return {};
  const auto& r = *c.recipe;
  const auto mismatch = [](const std::string& what, const std::string& p, const std::string& want,
                           const std::string& got) {
    return InputCheck{S::HashMismatch, what + " '" + p + "' is not the file the reference was made with (sha256 " +
                                           got.substr(0, 12) + "…, the recipe has " + want.substr(0, 12) + "…)"};
  };
  // An empty model in a manifest is the demo model: run_job resolves it, the hash is checked on load only.
  if (!j.model.empty() && hashes.model(j.model) != r.model.sha256)
    return mismatch("model", j.model, r.model.sha256, hashes.model(j.model));
  if (r.vae && !j.vae.empty() && hashes.file(j.vae) != r.vae->sha256)
    return mismatch("VAE", j.vae, r.vae->sha256, hashes.file(j.vae));
  if (r.vae.has_value() != !j.vae.empty())
    return {S::HashMismatch, r.vae ? "the reference was made with a VAE file, this case has none"
                                   : "this case uses a VAE file, the reference was made without one"};
  if (loras.size() != r.loras.size())
    return {S::HashMismatch, "the reference was made with " + std::to_string(r.loras.size()) +
                                 " LoRA(s), this case has " + std::to_string(loras.size())};
  for (std::size_t i = 0; i < loras.size(); ++i)
    if (hashes.file(loras[i]) != r.loras[i].file.sha256)
      return mismatch("LoRA", loras[i], r.loras[i].file.sha256, hashes.file(loras[i]));
  const std::pair<const char*, const std::string*> hooks[] = {{"init_image_sha256", &j.init_image},
                                                              {"init_latent_sha256", &j.init_latent},
                                                              {"embeddings_sha256", &j.embeddings}};
  for (const auto& [key, p] : hooks) {
    const auto it = r.extra.find(key);
    if (it != r.extra.end() && it->is_string() && !p->empty() && hashes.file(*p) != it->get<std::string>())
      return mismatch(std::string(key).substr(0, std::string(key).size() - 7), *p, it->get<std::string>(),
                      hashes.file(*p));
  }
  return {};
}

std::string model_combination_key(const JobSpec& j) {
  nlohmann::json k = {j.model,
                      j.vae,
                      j.tokenizer,
                      j.unet_config,
                      j.text_encoder_config,
                      j.prediction,
                      j.embeddings.empty(),
                      j.init_image.empty(),
                      j.lora_strict};
  for (const auto& l : j.loras) k.push_back({l.path, l.unet_weight, l.te_weight});
  try {
    for (const auto& t : engine::extract_extra_networks(j.prompt).loras)
      k.push_back({j.lora_dir, t.name, t.unet_multiplier, t.te_multiplier});
  } catch (const UsageError&) {
    // a bad tag fails in run_job with its own message
  }
  return k.dump();
}

}  // namespace skingen::cli
