#include "engine/recipe.hpp"

#include <string_view>

#include "engine/core/error.hpp"
#include "engine/file_hash.hpp"

namespace skingen::engine {

namespace {

using ojson = nlohmann::ordered_json;

// RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    int n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) { ++i; continue; }
    if (c >= 0xC2 && c <= 0xDF) { n = 1; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 2; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 3; cp = c & 0x07; }
    else return false;
    if (s.size() - i <= static_cast<std::size_t>(n)) return false;
    for (int k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

void require_utf8(const std::string& s, const std::string& field) {
  if (!is_valid_utf8(s)) throw FormatError("recipe: field '" + field + "' is not valid UTF-8");
}

ojson file_to_json(const RecipeFile& f) { return {{"name", f.name}, {"file", f.file}, {"sha256", f.sha256}}; }

// Typed field access with messages naming the field path.
struct Reader {
  const std::string& source;

  const ojson& field(const ojson& obj, const std::string& key, const std::string& path) const {
    if (!obj.is_object()) throw FormatError(source + ": recipe field '" + path + "' must be an object");
    const auto it = obj.find(key);
    if (it == obj.end()) throw FormatError(source + ": recipe has no field '" + path + key + "'");
    return *it;
  }
  std::string str(const ojson& obj, const std::string& key, const std::string& path = "") const {
    const auto& v = field(obj, key, path);
    if (!v.is_string()) throw FormatError(source + ": recipe field '" + path + key + "' must be a string");
    return v.get<std::string>();
  }
  double num(const ojson& obj, const std::string& key, const std::string& path = "") const {
    const auto& v = field(obj, key, path);
    if (!v.is_number()) throw FormatError(source + ": recipe field '" + path + key + "' must be a number");
    return v.get<double>();
  }
  std::int64_t integer(const ojson& obj, const std::string& key, std::int64_t lo, std::int64_t hi) const {
    const auto& v = field(obj, key, "");
    if (!v.is_number_integer() || v.get<std::int64_t>() < lo || v.get<std::int64_t>() > hi)
      throw FormatError(source + ": recipe field '" + key + "' must be an integer in [" + std::to_string(lo) + ", " +
                        std::to_string(hi) + "]");
    return v.get<std::int64_t>();
  }
  RecipeFile file(const ojson& v, const std::string& path) const {
    return {str(v, "name", path), str(v, "file", path), str(v, "sha256", path)};
  }
};

}  // namespace

ojson recipe_to_json(const GenerationRecipe& r) {
  ojson loras = ojson::array();
  for (const auto& l : r.loras) {
    ojson j = file_to_json(l.file);
    j["weight"] = l.weight;
    j["data_sha256"] = l.data_sha256;
    j["source"] = l.source;
    loras.push_back(std::move(j));
  }
  ojson j = {
      {"skingen_recipe", kRecipeFormat},
      {"engine_version", r.engine_version},
      {"prompt", r.prompt},
      {"negative", r.negative},
      {"model", file_to_json(r.model)},
      {"vae", r.vae ? file_to_json(*r.vae) : ojson(nullptr)},
      {"loras", std::move(loras)},
      {"sampler", r.sampler},
      {"schedule", r.schedule},
      {"rng", r.rng},
      {"tiling", r.tiling},
      {"seed", r.seed},
      {"width", r.width},
      {"height", r.height},
      {"steps", r.steps},
      {"cfg", r.cfg},
      {"clip_skip", r.clip_skip},
  };
  // Written only for stream batches, so increment recipes stay as they were.
  if (r.batch_seeds != "increment") {
    j["batch_seeds"] = r.batch_seeds;
    j["batch_size"] = r.batch_size;
    j["batch_index"] = r.batch_index;
  }
  j["extra"] = r.extra;
  return j;
}

GenerationRecipe recipe_from_json(const ojson& j, const std::string& source) {
  const Reader rd{source};
  if (!j.is_object()) throw FormatError(source + ": recipe is not a JSON object");
  const auto format = rd.integer(j, "skingen_recipe", 1, 1'000'000);
  if (format > kRecipeFormat)
    throw FormatError(source + ": recipe format " + std::to_string(format) + " is newer than this skingen understands (" +
                      std::to_string(kRecipeFormat) + ")");
  GenerationRecipe r;
  r.engine_version = rd.str(j, "engine_version");
  r.prompt = rd.str(j, "prompt");
  r.negative = rd.str(j, "negative");
  r.model = rd.file(rd.field(j, "model", ""), "model.");
  const auto& vae = rd.field(j, "vae", "");
  if (!vae.is_null()) r.vae = rd.file(vae, "vae.");
  const auto& loras = rd.field(j, "loras", "");
  if (!loras.is_array()) throw FormatError(source + ": recipe field 'loras' must be an array");
  for (std::size_t i = 0; i < loras.size(); ++i) {
    const std::string path = "loras[" + std::to_string(i) + "].";
    RecipeLora l;
    l.file = rd.file(loras[i], path);
    l.weight = rd.num(loras[i], "weight", path);
    l.data_sha256 = rd.str(loras[i], "data_sha256", path);
    l.source = rd.str(loras[i], "source", path);
    r.loras.push_back(std::move(l));
  }
  r.sampler = rd.str(j, "sampler");
  r.schedule = rd.str(j, "schedule");
  r.rng = rd.str(j, "rng");
  r.tiling = rd.str(j, "tiling");
  const auto& seed = rd.field(j, "seed", "");
  if (!seed.is_number_unsigned() && !(seed.is_number_integer() && seed.get<std::int64_t>() >= 0))
    throw FormatError(source + ": recipe field 'seed' must be a non-negative integer");
  r.seed = seed.get<std::uint64_t>();
  r.width = static_cast<int>(rd.integer(j, "width", 1, 65535));
  r.height = static_cast<int>(rd.integer(j, "height", 1, 65535));
  r.steps = static_cast<int>(rd.integer(j, "steps", 1, 100000));
  r.cfg = rd.num(j, "cfg");
  // 0 is "the model's default" (`generate` without --clip-skip).
  r.clip_skip = static_cast<int>(rd.integer(j, "clip_skip", 0, 1000));
  if (j.contains("batch_seeds")) {
    r.batch_seeds = rd.str(j, "batch_seeds");
    if (r.batch_seeds != "increment" && r.batch_seeds != "stream")
      throw FormatError(source + ": recipe field 'batch_seeds' must be increment or stream, got '" + r.batch_seeds + "'");
    r.batch_size = static_cast<int>(rd.integer(j, "batch_size", 1, 1'000'000));
    r.batch_index = static_cast<int>(rd.integer(j, "batch_index", 0, r.batch_size - 1));
  }
  const auto& extra = rd.field(j, "extra", "");
  if (!extra.is_object()) throw FormatError(source + ": recipe field 'extra' must be an object");
  r.extra = extra;
  return r;
}

std::string a1111_sampler_label(const std::string& s) {
  if (s == "euler") return "Euler";
  if (s == "euler_a") return "Euler a";
  if (s == "heun") return "Heun";
  if (s == "dpmpp_2m") return "DPM++ 2M";
  if (s == "ddim") return "DDIM";
  if (s == "lcm") return "LCM";
  return s;
}

std::string a1111_schedule_label(const std::string& s) {
  // skingen's `normal` is k-diffusion's get_sigmas(n) (t = linspace(999, 0, n)),
  // which A1111 calls "Uniform"; A1111's "Normal" is a different function.
  if (s == "normal") return "Uniform";
  if (s == "karras") return "Karras";
  if (s == "exponential") return "Exponential";
  return s;
}

Infotext recipe_infotext(const GenerationRecipe& r) {
  Infotext info;
  info.prompt = r.prompt;
  for (const auto& l : r.loras)
    if (l.source == "flag") info.prompt += " <lora:" + l.file.name + ":" + format_number(l.weight) + ">";
  info.negative = r.negative;
  auto& p = info.params;
  p.emplace_back("Steps", std::to_string(r.steps));
  p.emplace_back("Sampler", a1111_sampler_label(r.sampler));
  p.emplace_back("Schedule type", a1111_schedule_label(r.schedule));
  p.emplace_back("CFG scale", format_number(r.cfg));
  if (const auto it = r.extra.find("cfg_interval"); it != r.extra.end() && it->is_string())
    p.emplace_back("CFG interval", it->get<std::string>());
  p.emplace_back("Seed", std::to_string(r.seed));
  p.emplace_back("Size", std::to_string(r.width) + "x" + std::to_string(r.height));
  if (!r.model.sha256.empty()) p.emplace_back("Model hash", a1111_model_hash(r.model.sha256));
  if (!r.model.name.empty()) p.emplace_back("Model", r.model.name);
  if (r.vae) {
    if (!r.vae->sha256.empty()) p.emplace_back("VAE hash", a1111_model_hash(r.vae->sha256));
    p.emplace_back("VAE", r.vae->name);
  }
  // A stream batch's images share the seed; A1111's Batch size / Batch pos
  // (processing.py create_infotext) say which image of it this is.
  if (r.batch_seeds == "stream") {
    p.emplace_back("Batch size", std::to_string(r.batch_size));
    p.emplace_back("Batch pos", std::to_string(r.batch_index));
    p.emplace_back("Batch seeds", "stream");
  }
  if (r.clip_skip > 1) p.emplace_back("Clip skip", std::to_string(r.clip_skip));
  if (r.rng == "cpu") p.emplace_back("RNG", "CPU");
  // A1111 knows only both axes ("True"); one axis is written as "x" or "y".
  if (r.tiling == "xy") p.emplace_back("Tiling", "True");
  else if (r.tiling == "x" || r.tiling == "y") p.emplace_back("Tiling", r.tiling);
  std::string lora_hashes;
  for (const auto& l : r.loras) {
    if (l.data_sha256.empty()) continue;
    std::string alias;  // A1111 extra_networks_lora.py: alias.replace(":", "").replace(",", "")
    for (const char c : l.file.name)
      if (c != ':' && c != ',') alias += c;
    if (!lora_hashes.empty()) lora_hashes += ", ";
    lora_hashes += alias + ": " + a1111_lora_hash(l.data_sha256);
  }
  if (!lora_hashes.empty()) p.emplace_back("Lora hashes", lora_hashes);
  p.emplace_back("Version", "skingen " + r.engine_version);
  return info;
}

std::vector<PngText> recipe_png_texts(const GenerationRecipe& r) {
  // JSON strings must be UTF-8; say which field is not before nlohmann would.
  require_utf8(r.prompt, "prompt");
  require_utf8(r.negative, "negative");
  for (const RecipeFile* f : {&r.model, r.vae ? &*r.vae : nullptr}) {
    if (!f) continue;
    require_utf8(f->name, "model/vae name");
    require_utf8(f->file, "model/vae file");
  }
  for (const auto& l : r.loras) {
    require_utf8(l.file.name, "lora name");
    require_utf8(l.file.file, "lora file");
  }
  // ensure_ascii keeps the chunk a plain tEXt whatever the prompt holds.
  return {{kParametersKeyword, format_infotext(recipe_infotext(r))},
          {kRecipeKeyword, recipe_to_json(r).dump(-1, ' ', /*ensure_ascii=*/true)}};
}

std::optional<GenerationRecipe> recipe_from_png_texts(const std::vector<PngText>& texts, const std::string& name) {
  const PngText* t = find_png_text(texts, kRecipeKeyword);
  if (!t) return std::nullopt;
  const auto j = ojson::parse(t->text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw FormatError(name + ": the 'skingen' text chunk is not valid JSON");
  return recipe_from_json(j, name);
}

}  // namespace skingen::engine
