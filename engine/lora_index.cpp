#include "engine/lora_index.hpp"

#include <algorithm>
#include <limits>
#include <optional>

namespace skingen::engine {
namespace {

std::string underscored(std::string s) {
  std::replace(s.begin(), s.end(), '.', '_');
  return s;
}

void add_name(std::unordered_map<std::string, int>& map, const std::string& name, int target) {
  auto [it, fresh] = map.emplace(name, target);
  if (!fresh && it->second != target) it->second = -2;
}

}  // namespace

std::size_t bounded_edit_distance(const std::string& a, const std::string& b, std::size_t limit) {
  const std::size_t n = a.size(), m = b.size();
  if ((n > m ? n - m : m - n) > limit) return limit + 1;
  // Only cells with |i − j| ≤ limit can stay within the limit: a band of the DP table.
  const std::size_t big = limit + 1;
  std::vector<std::size_t> prev(m + 1, big), cur(m + 1, big);
  for (std::size_t j = 0; j <= std::min(m, limit); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    const std::size_t lo = i > limit ? i - limit : 1, hi = std::min(m, i + limit);
    std::fill(cur.begin(), cur.end(), big);
    if (i <= limit) cur[0] = i;
    std::size_t row_min = cur[0];
    for (std::size_t j = lo; j <= hi; ++j) {
      const std::size_t v = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      cur[j] = std::min(v, big);
      row_min = std::min(row_min, cur[j]);
    }
    if (row_min > limit) return big;
    std::swap(prev, cur);
  }
  return std::min(prev[m], big);
}

LoraIndex::LoraIndex(const LoraModelTargets& model) : model_(&model) {
  underscore_.resize(model.components.size());
  dotted_.resize(model.components.size());
  for (std::size_t c = 0; c < model.components.size(); ++c) {
    const auto& comp = model.components[c];
    for (std::size_t t = 0; t < comp.targets.size(); ++t) {
      const int ti = static_cast<int>(t);
      const auto& target = comp.targets[t];
      add_name(underscore_[c], underscored(target.canonical), ti);
      add_name(dotted_[c], target.canonical, ti);
      for (const auto& alias : target.aliases) {
        add_name(underscore_[c], underscored(alias), ti);
        add_name(dotted_[c], alias, ti);
      }
    }
  }
}

std::string LoraIndex::normalize_dotted(const LoraComponent& c, std::string rest) const {
  // diffusers utils/state_dict_utils.py KEYS_TO_ALWAYS_REPLACE: ".processor." → "."
  // (built anew rather than with replace(), which trips GCC 12's -Wrestrict false positive)
  std::string out;
  std::size_t pos = 0;
  for (std::size_t at; (at = rest.find(".processor.", pos)) != std::string::npos; pos = at + 10)
    out += rest.substr(pos, at - pos);
  out += rest.substr(pos);
  if (out.ends_with(".processor")) out.resize(out.size() - 10);
  for (const auto& [from, to] : c.dotted_renames)
    if (out == from || (out.ends_with(from) && out[out.size() - from.size() - 1] == '.'))
      return out.substr(0, out.size() - from.size()) + to;
  return out;
}

LoraResolution LoraIndex::resolve(const std::string& key) const {
  const auto& comps = model_->components;
  for (const auto& f : model_->foreign)
    if (key.starts_with(f.prefix)) return {LoraMatch::Foreign, -1, -1, "prefix '" + f.prefix + "' is " + f.family};

  auto lookup = [&](std::size_t c, const std::unordered_map<std::string, int>& map,
                    const std::string& name) -> LoraResolution {
    const auto& comp = comps[c];
    const int ci = static_cast<int>(c);
    if (!comp.targets_known) return {LoraMatch::NotLoaded, ci, -1, ""};
    const auto it = map.find(name);
    if (it == map.end()) return {LoraMatch::Unmatched, ci, -1, "no " + comp.display + " module has this name"};
    if (it->second < 0)
      return {LoraMatch::Unmatched, ci, -1, "ambiguous: several " + comp.display + " modules flatten to this name"};
    return {comp.loaded ? LoraMatch::Matched : LoraMatch::NotLoaded, ci, it->second, ""};
  };

  // Longest prefix first, so that "lora_te_" never shadows a longer one.
  std::size_t best_len = 0;
  std::optional<LoraResolution> best;
  for (std::size_t c = 0; c < comps.size(); ++c) {
    for (const auto& p : comps[c].kohya_prefixes)
      if (!p.empty() && key.starts_with(p) && p.size() > best_len) {
        best_len = p.size();
        best = lookup(c, underscore_[c], key.substr(p.size()));
      }
    for (const auto& p : comps[c].dotted_prefixes)
      if (!p.empty() && key.starts_with(p) && p.size() > best_len) {
        best_len = p.size();
        best = lookup(c, dotted_[c], normalize_dotted(comps[c], key.substr(p.size())));
      }
  }
  if (best) return *best;

  // Unprefixed dotted keys (old diffusers UNet attention-processor files): whichever component knows the name.
  for (std::size_t c = 0; c < comps.size(); ++c) {
    if (std::find(comps[c].dotted_prefixes.begin(), comps[c].dotted_prefixes.end(), "") ==
        comps[c].dotted_prefixes.end())
      continue;
    auto r = lookup(c, dotted_[c], normalize_dotted(comps[c], key));
    if (r.match != LoraMatch::Unmatched) return r;
  }
  return {LoraMatch::Unmatched, -1, -1, "its prefix belongs to no model part (expected lora_unet_, lora_te_, unet., …)"};
}

std::string LoraIndex::closest(const std::string& key) const {
  std::string best;
  // Hints further than this many edits away help nobody (and a band this wide keeps it fast).
  std::size_t best_d = std::max<std::size_t>(12, key.size() / 4);
  auto consider = [&](const std::string& candidate) {
    const std::size_t limit = best_d;
    const std::size_t d = bounded_edit_distance(key, candidate, limit);
    if (d < best_d || (d == best_d && (best.empty() || candidate < best))) {
      best_d = d;
      best = candidate;
    }
  };
  const auto& comps = model_->components;
  const bool dotted = key.find('.') != std::string::npos;
  for (std::size_t c = 0; c < comps.size(); ++c) {
    if (!comps[c].targets_known) continue;
    const auto& prefixes = dotted ? comps[c].dotted_prefixes : comps[c].kohya_prefixes;
    const auto& map = dotted ? dotted_[c] : underscore_[c];
    // Compare against the real keys spelled with the prefix the key uses (or the first one).
    std::string prefix = prefixes.empty() ? "" : prefixes.front();
    for (const auto& p : prefixes)
      if (!p.empty() && key.starts_with(p)) prefix = p;
    for (const auto& [name, target] : map)
      if (target >= 0) consider(prefix + name);
  }
  return best;
}

}  // namespace skingen::engine
