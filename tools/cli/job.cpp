#include "tools/cli/job.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <set>

#include "engine/core/error.hpp"
#include "engine/file_hash.hpp"
#include "engine/guidance.hpp"
#include "engine/image.hpp"
#include "engine/png_reader.hpp"
#include "engine/png_writer.hpp"
#include "engine/prompt_extra_networks.hpp"
#include "engine/recipe.hpp"
#include "engine/rng.hpp"
#include "engine/safetensors_reader.hpp"
#include "engine/safetensors_writer.hpp"
#include "models/sd_loader.hpp"
#include "ops/layout.hpp"
#include "tools/cli/common_options.hpp"
#include "tools/cli/lora_setup.hpp"

namespace fs = std::filesystem;

namespace skingen::cli {
namespace {

using Clock = std::chrono::steady_clock;

std::optional<double> parse_number(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

void require_file(const std::string& flag, const std::string& path) {
  std::error_code ec;
  if (!path.empty() && !fs::exists(path, ec))
    throw UsageError(flag + ": '" + path + "' does not exist");
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
  return s;
}

std::string stem_name(const fs::path& p) {
  return fs::is_directory(p) ? p.filename().string() : p.stem().string();
}

engine::Tensor read_tensor(const std::string& flag, const std::string& path, const std::string& name) {
  const auto f = engine::SafetensorsFile::open(path);
  const auto* info = f.find(name);
  if (!info) throw UsageError(flag + ": '" + path + "' has no tensor '" + name + "'");
  return f.read_f32(*info);
}

// RGB8 → [1, 3, H, W] in [-1, 1] (diffusers' preprocess: x / 127.5 − 1).
engine::Tensor image_to_unit_range(const engine::Image8& img) {
  auto t = engine::Tensor::f32({1, 3, img.height, img.width});
  const std::int64_t plane = static_cast<std::int64_t>(img.width) * img.height;
  for (std::int64_t i = 0; i < plane; ++i)
    for (int c = 0; c < 3; ++c)
      t.f32_mut()[c * plane + i] = static_cast<float>(img.pixels[static_cast<std::size_t>(i * img.channels + c)]) / 127.5f - 1.0f;
  return t;
}

std::uint64_t random_seed() {
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32 | rd()) & 0xffffffffULL;  // A1111 seeds are 32-bit
}

}  // namespace

// sha256 of a model: the file, or for a diffusers folder all its weight files in name order.
std::string model_sha256(const fs::path& path) {
  if (!fs::is_directory(path)) return engine::sha256_file_hex(path);
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(path))
    if (e.is_regular_file() && e.path().extension() == ".safetensors") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  engine::Sha256 h;
  for (const auto& f : files) {
    const auto d = engine::sha256_file(f);
    h.update(d.data(), d.size());
  }
  const auto d = h.finish();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (auto b : d) {
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

LoraSpec parse_lora_spec(const std::string& text) {
  LoraSpec s;
  std::string rest = text;
  std::vector<double> numbers;
  for (int k = 0; k < 2; ++k) {
    const auto colon = rest.rfind(':');
    if (colon == std::string::npos) break;
    const auto v = parse_number(rest.substr(colon + 1));
    if (!v) break;
    numbers.insert(numbers.begin(), *v);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) throw UsageError("--lora: no file in '" + text + "'");
  s.path = rest;
  if (!numbers.empty()) s.unet_weight = s.te_weight = numbers[0];
  if (numbers.size() > 1) s.te_weight = numbers[1];
  return s;
}

void apply_job_json(JobSpec& job, const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) throw UsageError(source + ": expected a JSON object");
  static const std::set<std::string> kKnown = {
      "model", "vae", "tokenizer", "lora_dir", "loras", "unet_config", "prediction", "text_encoder_config",
      "lora_strict", "prompt", "negative", "seed", "steps", "cfg", "cfg_interval", "sampler", "schedule", "rng", "tile",
      "width", "height", "size", "batch", "batch_seeds", "clip_skip", "init_image", "strength", "out", "init_latent",
      "embeddings", "save_latent"};
  for (const auto& [k, v] : j.items())
    if (!kKnown.count(k)) throw UsageError(source + ": unknown field '" + k + "'");
  try {
    auto str = [&](const char* k, std::string& dst) {
      if (j.contains(k)) dst = j[k].get<std::string>();
    };
    str("model", job.model);
    str("vae", job.vae);
    str("tokenizer", job.tokenizer);
    str("lora_dir", job.lora_dir);
    str("unet_config", job.unet_config);
    str("prediction", job.prediction);
    str("text_encoder_config", job.text_encoder_config);
    str("prompt", job.prompt);
    str("negative", job.negative);
    str("cfg_interval", job.cfg_interval);
    str("sampler", job.sampler);
    str("schedule", job.schedule);
    str("rng", job.rng);
    str("tile", job.tile);
    str("init_image", job.init_image);
    str("out", job.out);
    str("init_latent", job.init_latent);
    str("embeddings", job.embeddings);
    str("save_latent", job.save_latent);
    str("batch_seeds", job.batch_seeds);
    if (j.contains("lora_strict")) job.lora_strict = j["lora_strict"].get<bool>();
    if (j.contains("seed")) job.seed = j["seed"].get<std::uint64_t>();
    if (j.contains("steps")) job.steps = j["steps"].get<int>();
    if (j.contains("cfg")) job.cfg = j["cfg"].get<double>();
    if (j.contains("width")) job.width = j["width"].get<int>();
    if (j.contains("height")) job.height = j["height"].get<int>();
    if (j.contains("size")) parse_size(j["size"].get<std::string>(), job.width, job.height);
    if (j.contains("batch")) job.batch = j["batch"].get<int>();
    if (j.contains("clip_skip")) job.clip_skip = j["clip_skip"].get<int>();
    if (j.contains("strength")) job.strength = j["strength"].get<double>();
    if (j.contains("loras")) {
      job.loras.clear();
      for (const auto& l : j["loras"]) {
        if (l.is_string()) {
          job.loras.push_back(parse_lora_spec(l.get<std::string>()));
        } else {
          LoraSpec s;
          s.path = l.at("path").get<std::string>();
          s.unet_weight = l.value("unet", l.value("weight", 1.0));
          s.te_weight = l.value("te", s.unet_weight);
          job.loras.push_back(s);
        }
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(source + ": " + e.what());
  }
}

std::vector<fs::path> job_outputs(const JobSpec& job, std::uint64_t seed) {
  std::vector<fs::path> r;
  // A stream batch's images all carry the batch's seed, so {seed} alone does not tell them apart.
  const bool stream = job.batch_seeds == "stream";
  const bool templated =
      job.out.find("{i}") != std::string::npos || (!stream && job.out.find("{seed}") != std::string::npos);
  for (int i = 0; i < job.batch; ++i) {
    const std::uint64_t image_seed = stream ? seed : seed + static_cast<std::uint64_t>(i);
    std::string p = replace_all(replace_all(job.out, "{seed}", std::to_string(image_seed)), "{i}", std::to_string(i));
    if (job.batch > 1 && !templated) {
      const fs::path base(p);
      p = (base.parent_path() / (base.stem().string() + "-" + std::to_string(i) + base.extension().string())).string();
    }
    r.emplace_back(p);
  }
  return r;
}

bool is_demo_model(const std::string& model) {
  std::error_code ec;
  for (const auto& p : demo_model_candidates())
    if (fs::exists(p, ec) && fs::equivalent(p, model, ec)) return true;
  return false;
}

JobLog stderr_job_log(bool quiet, bool verbose) {
  JobLog log;
  log.quiet = quiet;
  log.verbose = verbose;
  log.info = [quiet](const std::string& line) {
    if (!quiet) std::fprintf(stderr, "skingen: %s\n", line.c_str());
  };
  return log;
}

std::vector<fs::path> demo_model_candidates() {
  std::vector<fs::path> r;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) r.push_back(exe.parent_path().parent_path() / "models" / "demo" / "skingen-demo.safetensors");
  r.push_back(fs::path(SKINGEN_SOURCE_DIR) / "models" / "demo" / "skingen-demo.safetensors");
  return r;
}

fs::path demo_model_path() {
  std::error_code ec;
  for (const auto& p : demo_model_candidates())
    if (fs::exists(p, ec)) return p;
  throw UsageError("--model: not given, and the built-in demo model (models/demo/skingen-demo.safetensors) was not "
                   "found next to the binary");
}

struct ModelCache::Entry {
  std::string key;
  std::unique_ptr<models::SdPipeline> pipeline;
  std::string model_sha256;
  std::optional<std::string> vae_sha256;
  std::vector<engine::SafetensorsHashes> lora_hashes;
  double load_seconds = 0;
};

ModelCache::ModelCache() = default;
ModelCache::~ModelCache() = default;

ModelCache::Entry& ModelCache::get(ops::Context& ctx, const JobSpec& job, const std::vector<LoraSpec>& loras,
                                   bool need_text_encoder, bool need_vae_encoder, const JobLog& log, bool* reused) {
  nlohmann::json k = {{"model", job.model},         {"vae", job.vae},
                      {"tokenizer", job.tokenizer}, {"unet_config", job.unet_config},
                      {"prediction", job.prediction}, {"te_config", job.text_encoder_config},
                      {"te", need_text_encoder},    {"enc", need_vae_encoder},
                      {"strict", job.lora_strict}};
  for (const auto& l : loras) k["loras"].push_back({l.path, l.unet_weight, l.te_weight});
  const std::string key = k.dump();
  *reused = entry_ && entry_->key == key;
  if (*reused) return *entry_;
  entry_.reset();  // free the old model before loading the next

  const auto t0 = Clock::now();
  auto e = std::make_unique<Entry>();
  e->key = key;
  models::SdLoadOptions o;
  o.model = job.model;
  if (!job.vae.empty()) o.vae = job.vae;
  if (!job.tokenizer.empty()) o.tokenizer = job.tokenizer;
  ModelOptions mo;
  mo.unet_config = job.unet_config;
  mo.prediction = job.prediction;
  o.unet = unet_load_options(mo);
  o.text_encoder_config = parse_json_option("--text-encoder-config", job.text_encoder_config);
  o.text_encoder = need_text_encoder;
  o.vae_encoder = need_vae_encoder;
  // LoRAs are resolved against the checkpoint before anything is loaded: a LoRA
  // that cannot apply fails here, in seconds, not after the model is built.
  auto lora = make_lora_setup(ctx, job.model, loras, need_text_encoder, job.lora_strict, log.verbose);
  o.patcher = lora ? lora->patcher() : nullptr;
  models::SdLoadTimes times;
  auto components = models::load_sd(ctx, o, &times);
  if (lora)
    for (const auto& line : lora->report()) log.info(line);
  e->pipeline = std::make_unique<models::SdPipeline>(ctx, std::move(components));
  const auto& c = e->pipeline->components();
  log.info("model " + job.model + ": " + c.unet.detection.location.layout_name() + ", " +
           c.unet.detection.config.summary() + "; " + c.vae.detection.config.summary() +
           (c.text_encoder ? "; " + c.text_encoder->model->config().summary() : std::string()));
  e->model_sha256 = model_sha256(job.model);
  if (!job.vae.empty()) e->vae_sha256 = engine::sha256_file_hex(job.vae);
  for (const auto& l : loras) e->lora_hashes.push_back(engine::hash_safetensors_file(l.path));
  e->load_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  log.info("loaded in " + std::to_string(e->load_seconds).substr(0, 5) + " s (UNet " +
           std::to_string(times.unet).substr(0, 5) + " s, text encoder " + std::to_string(times.text_encoder).substr(0, 5) +
           " s, VAE " + std::to_string(times.vae).substr(0, 5) + " s)");
  entry_ = std::move(e);
  return *entry_;
}

JobResult run_job(ops::Context& ctx, ModelCache& cache, const JobSpec& input, const engine::SamplerHooks& hooks,
                  const JobLog& log) {
  JobSpec job = input;
  if (job.model.empty()) {
    job.model = demo_model_path().string();
    log.info("no --model given: using the built-in demo model " + job.model);
  }
  if (job.out.empty()) throw UsageError("--out: an output path is required");
  // Flags first: everything a user can get wrong fails before any loading.
  const auto sampler = engine::parse_sampler(job.sampler);
  if (!sampler) throw UsageError("--sampler: unknown sampler '" + job.sampler + "'");
  const auto schedule = engine::parse_schedule(job.schedule);
  if (!schedule) throw UsageError("--schedule: unknown schedule '" + job.schedule + "'");
  const auto rng = engine::parse_rng_kind(job.rng);
  if (!rng) throw UsageError("--rng: expected cpu or philox, got '" + job.rng + "'");
  const ops::Tiling tiling = parse_tiling(job.tile);
  if (job.steps < 1) throw UsageError("--steps: must be at least 1, got " + std::to_string(job.steps));
  if (!std::isfinite(job.cfg)) throw UsageError("--cfg: must be a finite number");
  std::optional<engine::GuidanceInterval> cfg_interval;
  if (!job.cfg_interval.empty()) {
    cfg_interval = engine::parse_guidance_interval(job.cfg_interval);
    if (!cfg_interval)
      throw UsageError("--cfg-interval: expected LO,HI (noise levels sigma, 0 <= LO < HI, HI may be inf), got '" +
                       job.cfg_interval + "'");
  }
  if (job.batch < 1) throw UsageError("--batch: must be at least 1");
  const auto batch_seeds = engine::parse_batch_seeds(job.batch_seeds);
  if (!batch_seeds) throw UsageError("--batch-seeds: expected increment or stream, got '" + job.batch_seeds + "'");
  engine::check_batch_seeds(*batch_seeds, *rng);
  if (job.clip_skip < 0) throw UsageError("--clip-skip: must be 0 (model default) or more");
  // Default size: the init image's, else the demo model's training size, else SD's 512.
  std::optional<engine::Image8> init_image;
  if (!job.init_image.empty()) {
    init_image = engine::read_png(job.init_image).image;
    if (job.width == 0) job.width = init_image->width;
    if (job.height == 0) job.height = init_image->height;
  }
  const bool demo = is_demo_model(job.model);
  if (job.width == 0) job.width = demo ? kDemoModelSize : 512;
  if (job.height == 0) job.height = demo ? kDemoModelSize : 512;
  if (!cfg_interval && demo) {
    cfg_interval = engine::parse_guidance_interval(kDemoCfgInterval);
    if (!cfg_interval->everywhere())
      log.info(std::string("demo model: --cfg-interval ") + kDemoCfgInterval +
               " by default, the guidance interval it was trained for (0,inf guides every step)");
  }
  if (!cfg_interval) cfg_interval = engine::GuidanceInterval{};
  if (init_image && (init_image->width != job.width || init_image->height != job.height))
    throw UsageError("--init-image: '" + job.init_image + "' is " + std::to_string(init_image->width) + "x" +
                     std::to_string(init_image->height) + ", but --size asks for " + std::to_string(job.width) + "x" +
                     std::to_string(job.height));
  if (job.width <= 0 || job.height <= 0 || job.width % 8 || job.height % 8)
    throw UsageError("--size: width and height must be positive multiples of 8 (64 recommended), got " +
                     std::to_string(job.width) + "x" + std::to_string(job.height));
  require_file("--model", job.model);
  require_file("--vae", job.vae);
  require_file("--tokenizer", job.tokenizer);
  require_file("--init-image", job.init_image);
  require_file("--init-latent", job.init_latent);
  require_file("--embeddings", job.embeddings);

  // <lora:NAME:W> tags come out of the prompt; the negative's are dropped (A1111 does the same).
  const auto extracted = engine::extract_extra_networks(job.prompt);
  const auto negative = engine::extract_extra_networks(job.negative);
  for (const auto& t : negative.loras) log.info("ignored in the negative prompt: " + t.tag);
  for (const auto& t : extracted.others) log.info("ignored: " + t.tag + " (" + t.kind + " networks are not supported)");
  std::vector<LoraSpec> loras = job.loras;
  for (const auto& l : loras) require_file("--lora", l.path);
  for (const auto& t : extracted.loras) {
    const auto path = engine::resolve_lora_file(
        t, job.lora_dir.empty() ? std::nullopt : std::optional<fs::path>(job.lora_dir));
    loras.push_back(LoraSpec{path.string(), t.unet_multiplier, t.te_multiplier, "prompt"});
  }

  JobResult result;
  result.seed = job.seed ? *job.seed : random_seed();
  if (!job.seed) log.info("seed " + std::to_string(result.seed) + " (random)");
  const auto outputs = job_outputs(job, result.seed);

  models::GenerationSettings s;
  s.prompt = extracted.text;
  s.negative = negative.text;
  s.seed = result.seed;
  s.steps = job.steps;
  s.cfg = static_cast<float>(job.cfg);
  s.cfg_interval = *cfg_interval;
  s.sampler = *sampler;
  s.schedule = *schedule;
  s.rng = *rng;
  s.width = job.width;
  s.height = job.height;
  s.batch = job.batch;
  s.batch_seeds = *batch_seeds;
  s.stream_total = job.stream_size;
  s.stream_first = job.stream_index;
  s.clip_skip = job.clip_skip;
  s.tiling = tiling;
  s.strength = job.strength;
  if (!job.init_latent.empty()) s.init_latent = read_tensor("--init-latent", job.init_latent, "latent");
  if (!job.embeddings.empty()) {
    s.cond = read_tensor("--embeddings", job.embeddings, "cond");
    s.uncond = read_tensor("--embeddings", job.embeddings, "uncond");
  }
  if (init_image) s.init_image = image_to_unit_range(*init_image);

  auto& entry = cache.get(ctx, job, loras, job.embeddings.empty(), !job.init_image.empty(), log, &result.reused_model);
  result.load_seconds = result.reused_model ? 0 : entry.load_seconds;
  const auto r = entry.pipeline->generate(s, hooks);
  result.times = r.times;

  engine::GenerationRecipe recipe;
  recipe.prompt = job.prompt;
  recipe.negative = job.negative;
  recipe.model = {stem_name(job.model), job.model, entry.model_sha256};
  if (entry.vae_sha256) recipe.vae = engine::RecipeFile{stem_name(job.vae), job.vae, *entry.vae_sha256};
  for (std::size_t i = 0; i < loras.size(); ++i) {
    engine::RecipeLora l;
    l.file = {stem_name(loras[i].path), loras[i].path, entry.lora_hashes[i].file_sha256};
    l.weight = loras[i].unet_weight;
    l.data_sha256 = entry.lora_hashes[i].data_sha256;
    l.source = loras[i].source;
    recipe.loras.push_back(l);
    recipe.extra["lora_te_weights"].push_back(loras[i].te_weight);
  }
  recipe.sampler = job.sampler;
  recipe.schedule = job.schedule;
  recipe.rng = job.rng;
  recipe.tiling = job.tile;
  recipe.width = job.width;
  recipe.height = job.height;
  recipe.steps = job.steps;
  recipe.cfg = job.cfg;
  // Recorded whenever guidance was limited, so that `regress` reruns exactly
  // this (a recipe without it means CFG on every step, whatever the model).
  if (!cfg_interval->everywhere()) recipe.extra["cfg_interval"] = engine::guidance_interval_str(*cfg_interval);
  recipe.clip_skip = job.clip_skip;
  if (!job.init_image.empty()) {
    recipe.extra["init_image"] = job.init_image;
    recipe.extra["init_image_sha256"] = engine::sha256_file_hex(job.init_image);
    recipe.extra["strength"] = job.strength;
  }
  if (!job.init_latent.empty()) {
    recipe.extra["init_latent"] = job.init_latent;
    recipe.extra["init_latent_sha256"] = engine::sha256_file_hex(job.init_latent);
  }
  if (!job.embeddings.empty()) {
    recipe.extra["embeddings"] = job.embeddings;
    recipe.extra["embeddings_sha256"] = engine::sha256_file_hex(job.embeddings);
  }
  // Whatever else `regress` needs to run the same job again.
  const std::pair<const char*, const std::string*> settings[] = {
      {"tokenizer", &job.tokenizer},     {"lora_dir", &job.lora_dir},
      {"unet_config", &job.unet_config}, {"text_encoder_config", &job.text_encoder_config},
      {"prediction", &job.prediction}};
  for (const auto& [key, value] : settings)
    if (!value->empty()) recipe.extra[key] = *value;

  recipe.batch_seeds = job.batch_seeds;
  for (int i = 0; i < job.batch; ++i) {
    if (*batch_seeds == engine::BatchSeeds::Stream) {
      recipe.seed = result.seed;  // the batch's seed; the index says which image of it
      recipe.batch_size = job.stream_size > 0 ? job.stream_size : job.batch;
      recipe.batch_index = job.stream_index + i;
    } else {
      recipe.seed = result.seed + static_cast<std::uint64_t>(i);
    }
    const auto image = engine::image_from_tensor(r.image, i);
    if (outputs[static_cast<std::size_t>(i)].has_parent_path())
      fs::create_directories(outputs[static_cast<std::size_t>(i)].parent_path());
    engine::write_png(outputs[static_cast<std::size_t>(i)], image, engine::recipe_png_texts(recipe));
    result.written.push_back(outputs[static_cast<std::size_t>(i)]);
  }
  if (!job.save_latent.empty()) engine::write_safetensors(job.save_latent, {{"latent", r.latent}});
  return result;
}

}  // namespace skingen::cli
