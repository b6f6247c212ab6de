#include "engine/prompt_extra_networks.hpp"

#include <cmath>
#include <map>

#include "engine/core/error.hpp"
#include "engine/py_number.hpp"
#include "engine/text_unicode.hpp"
#include "engine/utf8.hpp"

namespace skingen::engine {
namespace {

namespace fs = std::filesystem;

// Python str.split(sep) and str.split(sep, maxsplit).
std::vector<std::u32string> split(std::u32string_view s, char32_t sep, std::size_t maxsplit = std::u32string::npos) {
  std::vector<std::u32string> out;
  std::size_t start = 0;
  while (out.size() < maxsplit) {
    const std::size_t p = s.find(sep, start);
    if (p == std::u32string_view::npos) break;
    out.emplace_back(s.substr(start, p - start));
    start = p + 1;
  }
  out.emplace_back(s.substr(start));
  return out;
}

double multiplier(const std::u32string& value, const std::string& tag, const char* what) {
  const std::optional<double> v = text::parse_py_float(value);
  if (!v) throw UsageError(tag + ": the " + std::string(what) + " multiplier \"" + utf8_encode(value) + "\" is not a number");
  if (!std::isfinite(*v)) throw UsageError(tag + ": the " + std::string(what) + " multiplier must be finite");
  return *v;
}

LoraTag lora_from(const std::string& tag, const std::vector<std::u32string>& items) {
  // ExtraNetworkParams: "k=v" (exactly one '=' after split('=', 2)) is named.
  std::vector<std::u32string> positional;
  std::map<std::u32string, std::u32string> named;
  for (const auto& item : items) {
    auto parts = split(item, U'=', 2);
    if (parts.size() == 2)
      named[parts[0]] = parts[1];
    else
      positional.push_back(item);
  }
  if (positional.empty()) throw UsageError(tag + ": a LoRA tag needs a name first, as in <lora:NAME:0.7>");
  LoraTag l;
  l.tag = tag;
  l.name = utf8_encode(positional[0]);
  l.te_multiplier = positional.size() > 1 ? multiplier(positional[1], tag, "text-encoder") : 1.0;
  if (auto it = named.find(U"te"); it != named.end()) l.te_multiplier = multiplier(it->second, tag, "text-encoder");
  l.unet_multiplier = positional.size() > 2 ? multiplier(positional[2], tag, "UNet") : l.te_multiplier;
  if (auto it = named.find(U"unet"); it != named.end()) l.unet_multiplier = multiplier(it->second, tag, "UNet");
  const std::u32string* dyn = positional.size() > 3 ? &positional[3] : nullptr;
  if (auto it = named.find(U"dyn"); it != named.end()) dyn = &it->second;
  if (dyn) {
    l.dyn_dim = text::parse_py_int(*dyn);
    if (!l.dyn_dim) throw UsageError(tag + ": dyn \"" + utf8_encode(*dyn) + "\" is not an integer");
  }
  return l;
}

}  // namespace

ExtractedPrompt extract_extra_networks(std::string_view prompt) {
  const std::u32string t = utf8_decode(prompt, "prompt");
  ExtractedPrompt out;
  std::u32string kept;
  std::size_t i = 0;
  while (i < t.size()) {
    // <(\w+):([^>]+)>
    if (t[i] == '<') {
      std::size_t j = i + 1;
      while (j < t.size() && text::is_py_word(t[j])) ++j;
      if (j > i + 1 && j < t.size() && t[j] == ':') {
        const std::size_t close = t.find(U'>', j + 1);
        if (close != std::u32string::npos && close > j + 1) {
          const std::string tag = utf8_encode(t.substr(i, close + 1 - i));
          const std::u32string kind = t.substr(i + 1, j - i - 1);
          if (kind == U"lora" || kind == U"lyco")
            out.loras.push_back(lora_from(tag, split(t.substr(j + 1, close - j - 1), U':')));
          else
            out.others.push_back({tag, utf8_encode(kind)});
          i = close + 1;
          continue;
        }
      }
    }
    kept.push_back(t[i++]);
  }
  out.text = utf8_encode(kept);
  return out;
}

fs::path resolve_lora_file(const LoraTag& lora, const std::optional<fs::path>& lora_dir) {
  if (!lora_dir) throw UsageError(lora.tag + " names a LoRA, but no --lora-dir was given to find " + lora.name + ".safetensors in");
  std::error_code ec;
  if (!fs::is_directory(*lora_dir, ec)) throw UsageError("--lora-dir " + lora_dir->string() + ": not a folder (needed for " + lora.tag + ")");
  const std::string file = lora.name + ".safetensors";
  const fs::path direct = *lora_dir / file;
  if (fs::is_regular_file(direct, ec)) return direct;
  std::vector<fs::path> found;
  const bool plain_name = lora.name.find('/') == std::string::npos && lora.name.find('\\') == std::string::npos;
  for (auto it = fs::recursive_directory_iterator(*lora_dir, fs::directory_options::skip_permission_denied, ec);
       plain_name && !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    if (it->path().filename() == file && it->is_regular_file(ec)) found.push_back(it->path());
  if (found.size() == 1) return found.front();
  if (found.size() > 1)
    throw UsageError(lora.tag + ": two files named " + file + " under --lora-dir " + lora_dir->string() +
                     " (" + found[0].string() + ", " + found[1].string() + ")");
  throw UsageError(lora.tag + ": LoRA \"" + lora.name + "\" not found: no " + file + " in --lora-dir " + lora_dir->string());
}

}  // namespace skingen::engine
